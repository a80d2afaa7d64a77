"""A person's tokens end with their account: when it is switched off or deleted, whatever the path (the Django
admin, a script, the leaver flow). Password changes are caught by tokens.passwords, Django's own hook."""

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models.signals import post_save, pre_delete
from django.dispatch import receiver

from common.types import User

from . import services
from .choices import RevokeReason
from .models import ApiToken


@receiver(post_save, sender=get_user_model(), dispatch_uid="tokens.user_switched_off")
def _user_switched_off(sender: type[User], instance: User, **kwargs: Any) -> None:
    if instance.is_active:
        return  # no query for the usual save (a sign-in's last_login)
    if ApiToken.objects.filter(user=instance).exists():
        services.tokens_revoke_for_user(user=instance, reason=RevokeReason.USER_DEACTIVATED)


@receiver(pre_delete, sender=get_user_model(), dispatch_uid="tokens.user_deleted")
def _user_deleted(sender: type[User], instance: User, **kwargs: Any) -> None:
    services.tokens_revoke_for_user(user=instance, reason=RevokeReason.USER_DELETED)
