"""A stand-in for the invitations' hook (OIDC_INVITATION_HOOK), with the contract the registry calls: it accepts
the invitation for a verified email and returns the new member, or returns None. The real one lives with the
invitations (agencies.services.invitation_accept_for_sso)."""

from django.contrib.auth import get_user_model

INVITED = {"newcomer@council.example"}


def accept(*, email: str, name: str, request):
    if email not in INVITED:
        return None
    return get_user_model().objects.create_user(username=email.split("@")[0], email=email, first_name=name)
