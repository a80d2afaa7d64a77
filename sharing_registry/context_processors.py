"""Navigation for base.html: which sections the signed-in user may reach."""


def navigation(request):
    user = getattr(request, "user", None)
    return {"service_name": "Sharing Registry", "nav_user": user}
