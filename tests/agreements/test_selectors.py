import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.http import Http404

from agencies.choices import Role
from agreements import services
from agreements.selectors import agreement_get, agreement_get_full, agreement_list
from tests.factories import agreement_factory, member

pytestmark = pytest.mark.django_db
GO = Role.GOVERNANCE_OFFICER


class AgreementListTests:
    def test_each_user_sees_exactly_what_the_rules_allow(self, region):
        draft = agreement_factory()
        active = agreement_factory(state="active")
        suspended = agreement_factory(state="active")
        services.agreement_suspend(actor=member(region.nhs, GO), agreement=suspended, reason="Pause")
        root = get_user_model().objects.create(username="root", is_superuser=True)

        def seen(user):
            return {a.reference: a.full_view for a in agreement_list(user=user, filters={})}

        assert seen(AnonymousUser()) == {}
        assert seen(member(region.fire, Role.AUDITOR)) == {active.reference: False}
        for role in Role.values:
            assert seen(member(region.nhs, role)) == {
                draft.reference: True, active.reference: True, suspended.reference: True
            }
        assert seen(root) == {draft.reference: True, active.reference: True, suspended.reference: True}

    def test_removed_party_loses_sight_of_the_draft(self, region):
        agreement = agreement_factory()
        frontline = member(region.nhs, Role.FRONTLINE)
        services.agreement_update(actor=member(region.council, GO), agreement=agreement, flows=[
            {"dataset": "council-tenancies", "provider": "lead-council", "recipient": "police",
             "legal_bases": ["ukgdpr-6-1-e"]},
        ])
        assert not agreement_list(user=frontline, filters={}).exists()
        assert agreement_list(user=member(region.police, Role.FRONTLINE), filters={}).count() == 1

    def test_list_runs_a_fixed_number_of_queries(self, region, django_assert_num_queries):
        user = member(region.nhs, Role.FRONTLINE)
        for _ in range(4):
            agreement_factory(state="active")
        with django_assert_num_queries(3):  # agreements, then parties and flows (with bases) of both versions at once
            rows = list(agreement_list(user=user, filters={"dataset": "discharge-summaries"}))
            for row in rows:
                list(row.current_version.flows.all()[0].legal_bases.all())
                list(row.in_force_version.parties.all())
        assert len(rows) == 4


class AgreementGetTests:
    def test_invisible_and_missing_are_both_404(self, region):
        draft = agreement_factory()
        outsider = member(region.fire, GO)
        with pytest.raises(Http404):
            agreement_get(user=outsider, reference=draft.reference)
        with pytest.raises(Http404):
            agreement_get(user=outsider, reference="ISA-2000-0001")
        assert agreement_get(user=member(region.nhs, Role.AUDITOR), reference=draft.reference).full_view

    def test_full_record_only_for_parties(self, region):
        active = agreement_factory(state="active")
        outsider = member(region.fire, GO)
        assert agreement_get(user=outsider, reference=active.reference).full_view is False
        with pytest.raises(Http404):
            agreement_get_full(user=outsider, reference=active.reference)
