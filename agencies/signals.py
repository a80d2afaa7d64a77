"""A deleted user's memberships end with them: each is recorded as `membership.revoked`, in the delete's transaction.

(Deleting a user removes their rows in the user–group table by cascade, which sends no m2m signal.)
"""

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models.signals import pre_delete

from audit.choices import AuditAction
from audit.services import record
from common.types import User

from .models import AgencyRole


def _user_deleted(sender: type[User], instance: User, **kwargs: Any) -> None:
    username = instance.get_username()
    for agency_role in AgencyRole.objects.filter(group__user=instance).select_related("agency").order_by("pk"):
        record(
            action=AuditAction.MEMBERSHIP_REVOKED,
            object_type="membership",
            object_ref=f"{agency_role.agency.code}:{username}:{agency_role.role}",
            agency=agency_role.agency,
            detail={"username": username, "role": agency_role.role, "agency": agency_role.agency.code,
                    "reason": "user deleted"},
        )


pre_delete.connect(_user_deleted, sender=get_user_model(), dispatch_uid="agencies.user.deleted")
