"""factory_boy factories shared by every test package. Add to this file; keep each factory minimal."""

import factory
from django.contrib.auth import get_user_model

from agencies.choices import AgencyKind, Role
from agencies.models import Agency, Dataset
from agencies.services import agency_role_group

PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.django.Password(PASSWORD)


class AgencyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Agency
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"agency-{n}")
    name = factory.LazyAttribute(lambda a: a.code.replace("-", " ").title())
    kind = AgencyKind.LOCAL_AUTHORITY
    dpo_email = factory.LazyAttribute(lambda a: f"dpo@{a.code}.example.org")


class DatasetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Dataset
        django_get_or_create = ("code",)

    owner = factory.SubFactory(AgencyFactory)
    code = factory.Sequence(lambda n: f"dataset-{n}")
    name = factory.LazyAttribute(lambda d: d.code.replace("-", " ").title())
    data_items = ["name", "address", "date of birth"]


def member(agency: Agency, role: Role | str, username: str | None = None, **extra):
    """A user holding `role` in `agency`, added directly to the role's group (no audit event: test set-up)."""
    user = UserFactory(username=username or f"{agency.code}-{Role(role).value}", **extra)
    agency_role_group(agency=agency, role=role).user_set.add(user)
    return user
