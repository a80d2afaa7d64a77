"""A user's memberships (agency, role, code) are read on every signed-in request, so their query is compiled by the
ORM once per database vendor, not built and compiled again for each request."""

from unittest import mock

import pytest
from django.db.models.sql.compiler import SQLCompiler

from agencies.choices import Role
from agencies.models import AgencyRole
from agencies.selectors import user_agency_codes, user_roles
from tests.factories import AgencyFactory, UserFactory, member

pytestmark = pytest.mark.django_db


def test_memberships_are_what_the_orm_reads_and_cost_no_compilation_per_request(django_assert_num_queries):
    council, fire = AgencyFactory(code="council"), AgencyFactory(code="fire")
    warm = member(council, Role.FRONTLINE, username="warm")
    user_agency_codes(warm)  # the first call in the process compiles the query
    user = member(council, Role.AUDITOR)
    user.groups.add(*member(fire, Role.FRONTLINE).groups.all())  # a second role, in another agency
    nobody = UserFactory(username="nobody")
    with mock.patch.object(SQLCompiler, "as_sql", side_effect=AssertionError("compiled per request")), \
            django_assert_num_queries(2):
        codes, roles = user_agency_codes(user), user_roles(user)  # one query, then cached on the user
        assert user_agency_codes(nobody) == set()
    expected = set(AgencyRole.objects.filter(group__user=user).values_list("agency_id", "role"))
    assert roles == expected and len(expected) == 2
    assert codes == {"council", "fire"}
    assert user_agency_codes(user, {Role.AUDITOR}) == {"council"}
