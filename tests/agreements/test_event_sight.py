"""Who is told of an agreement's events once the parties change: an agency removed by an amendment that came into
force sees the events up to its removal and none after, and a rejected amendment gives its own parties no lasting
sight. The dashboard's activity and the auditors' list both read the events' agencies (the agencies index)."""

import pytest
from django.utils import timezone

from agencies.choices import Role
from agreements import services
from agreements.models import Agreement
from audit import chain
from audit.models import AuditEvent
from audit.selectors import event_list, may_see_event
from sharing_registry.selectors import dashboard_for
from tests.factories import agreement_factory, member, sign_all

pytestmark = pytest.mark.django_db
GO = Role.GOVERNANCE_OFFICER
POLICE_FLOW = {"dataset": "domestic-incidents", "provider": "police", "recipient": "lead-council",
               "legal_bases": ["ukgdpr-6-1-e", "ukgdpr-10", "dpa-2018-sch1-para18"]}


def fresh(agreement) -> Agreement:
    return Agreement.objects.get(pk=agreement.pk)


def amend_to(region, agreement, flows) -> Agreement:
    """Amend the agreement to exactly these flows and send the amendment for signature."""
    drafter = member(region.council, GO)
    agreement = services.agreement_amend(actor=drafter, agreement=agreement)
    agreement = services.agreement_update(actor=drafter, agreement=agreement, flows=flows)
    return services.agreement_submit(actor=drafter, agreement=agreement)


def seen_by_police(region, reference: str) -> list[str]:
    """The actions on the agreement that a police auditor's list of events gives."""
    auditor = member(region.police, Role.AUDITOR)
    return [e.action for e in event_list(user=auditor) if e.object_ref == reference]


class RemovedPartySightTests:
    def test_an_agency_removed_by_an_amendment_in_force_sees_events_up_to_its_removal_not_after(self, region):
        agreement = agreement_factory(state="active", flows=[*region.terms()["flows"], POLICE_FLOW])
        agreement = amend_to(region, agreement, region.terms()["flows"])  # version 2 leaves the police out
        sign_all(fresh(agreement))
        assert {p.agency.code for p in fresh(agreement).in_force_version.parties.all()} == {
            "lead-council", "nhs-provider"}
        nhs = member(region.nhs, GO)
        services.agreement_suspend(actor=nhs, agreement=fresh(agreement), reason="Breach under review")
        services.comment_add(actor=nhs, agreement=fresh(agreement), number=2, text="We are looking into it.")

        seen = seen_by_police(region, agreement.reference)
        assert "agreement.activated" in seen  # version 2 came into force: the police's removal
        assert seen.count("agreement.activated") == 2
        assert "agreement.suspended" not in seen and "agreement.commented" not in seen
        suspended = AuditEvent.objects.get(action="agreement.suspended")
        assert "police" not in suspended.agencies
        assert not may_see_event(user=member(region.police, Role.AUDITOR), event=suspended)
        police_officer = member(region.police, GO)
        activity = dashboard_for(user=police_officer, today=timezone.localdate()).activity
        assert "agreement.suspended" not in [e.action for e in activity]
        assert "agreement.activated" in [e.action for e in activity]
        # The parties of the version in force are told, as before.
        assert {"lead-council", "nhs-provider"} <= set(suspended.agencies)

    def test_a_rejected_amendment_gives_its_own_parties_no_lasting_sight_of_later_events(self, region):
        agreement = agreement_factory(state="active")
        agreement = amend_to(region, agreement, [*region.terms()["flows"], POLICE_FLOW])  # version 2 adds the police
        police_officer = member(region.police, GO)
        services.agreement_reject(actor=police_officer, agreement=fresh(agreement), reason="Not for us")
        nhs = member(region.nhs, GO)
        services.agreement_suspend(actor=nhs, agreement=fresh(agreement), reason="Breach under review")

        seen = seen_by_police(region, agreement.reference)
        assert "agreement.submitted" in seen and "agreement.rejected" in seen  # while it was a party
        assert "agreement.suspended" not in seen
        assert "police" not in AuditEvent.objects.get(action="agreement.suspended").agencies

    def test_a_withdrawn_amendments_parties_are_told_why_and_nothing_after(self, region):
        agreement = agreement_factory(state="active")
        agreement = amend_to(region, agreement, [*region.terms()["flows"], POLICE_FLOW])
        nhs = member(region.nhs, GO)
        services.agreement_revoke(actor=nhs, agreement=fresh(agreement), reason="No longer needed")
        assert "police" in AuditEvent.objects.get(action="agreement.revoked").agencies  # its amendment withdrawn
        services.agreement_record_viewed(actor=nhs, agreement=fresh(agreement))
        viewed = AuditEvent.objects.filter(action="agreement.viewed").latest("seq")
        assert "police" not in viewed.agencies

    def test_events_written_before_keep_their_hashes(self, region):
        agreement = agreement_factory(state="active", flows=[*region.terms()["flows"], POLICE_FLOW])
        sign_all(fresh(amend_to(region, agreement, region.terms()["flows"])))
        services.agreement_suspend(actor=member(region.nhs, GO), agreement=fresh(agreement), reason="Breach")
        chain.seal_pending()
        assert chain.verify().ok
