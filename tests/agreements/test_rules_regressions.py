"""Each finding of the rules review, reproduced through the product's public channels (API, pages, services).

Every test here failed before the lifecycle table, authority by version, the one access policy and events that
name every agency they concern.
"""

import csv
import datetime as dt
import io
import json

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.utils import timezone

from agencies.choices import Role
from agreements import services
from agreements.models import Agreement
from audit.models import AuditEvent
from tests.clients import api, page
from tests.factories import agreement_factory, fresh, member

pytestmark = pytest.mark.django_db
GO = Role.GOVERNANCE_OFFICER
POLICE_FLOW = {"dataset": "domestic-incidents", "provider": "police", "recipient": "lead-council",
               "legal_bases": ["ukgdpr-6-1-e", "ukgdpr-10", "dpa-2018-sch1-para18"]}
DISCHARGE_FLOW = {"dataset": "discharge-summaries", "provider": "nhs-provider", "recipient": "lead-council",
                  "legal_bases": ["ukgdpr-6-1-e", "ukgdpr-9-2-h", "dpa-2018-sch1-para2"]}


def amended_to_add_police(region) -> Agreement:
    """An active agreement (council and NHS) with a draft amendment that adds a flow from the police."""
    agreement = agreement_factory(state="active")
    drafter = member(region.council, GO)
    agreement = services.agreement_amend(actor=drafter, agreement=agreement)
    return services.agreement_update(actor=drafter, agreement=agreement, flows=[DISCHARGE_FLOW, POLICE_FLOW])


class AuthorityByVersionTests:
    def test_a_party_only_to_a_draft_amendment_cannot_suspend_reinstate_or_revoke_the_version_in_force(self, region):
        agreement = amended_to_add_police(region)
        police = member(region.police, GO)
        client = api(police)
        for action in ("suspend", "revoke"):
            response = client.post(f"/api/v1/agreements/{agreement.reference}/{action}/", {"reason": "x"},
                                   format="json")
            assert response.status_code == 403, action
        assert page(police).post(f"/agreements/{agreement.reference}/suspend/", {"reason": "x"}).status_code == 403
        with pytest.raises(PermissionDenied):
            services.agreement_revoke(actor=police, agreement=agreement, reason="x")
        services.agreement_suspend(actor=member(region.nhs, GO), agreement=agreement, reason="Breach")
        assert client.post(f"/api/v1/agreements/{agreement.reference}/reinstate/", {"reason": "x"},
                           format="json").status_code == 403
        assert fresh(agreement).status == "suspended"

    def test_a_party_removed_by_an_amendment_cannot_reject_it(self, region):
        agreement = agreement_factory(state="active", flows=[
            {**DISCHARGE_FLOW, "dataset": region.discharge}, {**POLICE_FLOW, "dataset": region.incidents}])
        drafter = member(region.council, GO)
        agreement = services.agreement_amend(actor=drafter, agreement=agreement)
        agreement = services.agreement_update(actor=drafter, agreement=agreement, flows=[DISCHARGE_FLOW])
        agreement = services.agreement_submit(actor=drafter, agreement=agreement)
        police = member(region.police, GO)
        response = api(police).post(f"/api/v1/agreements/{agreement.reference}/reject/", {"reason": "No"},
                                    format="json")
        assert response.status_code == 403
        assert fresh(agreement).current_version.state == "submitted"

    def test_another_party_cannot_lift_a_suspension(self, region):
        agreement = agreement_factory(state="active")
        services.agreement_suspend(actor=member(region.nhs, GO), agreement=agreement, reason="Breach under review")
        lead = member(region.council, GO)
        response = api(lead).post(f"/api/v1/agreements/{agreement.reference}/reinstate/", {"reason": "Fine now"},
                                  format="json")
        assert response.status_code == 403
        assert "suspended" in response.json()["detail"]
        assert page(lead).post(f"/agreements/{agreement.reference}/reinstate/", {"reason": "x"}).status_code == 403
        with pytest.raises(PermissionDenied):
            services.agreement_reinstate(actor=lead, agreement=agreement, reason="Fine now")
        assert fresh(agreement).status == "suspended"
        services.agreement_reinstate(actor=member(region.nhs, GO), agreement=agreement, reason="Resolved")
        assert fresh(agreement).status == "active"


class CheckAccessTests:
    @pytest.mark.parametrize("state", ["draft", "rejected", "suspended", "revoked"])
    def test_the_check_does_not_name_an_agreement_the_asker_cannot_see(self, region, state):
        agreement = agreement_factory(state="submitted" if state == "rejected" else
                                      "draft" if state == "draft" else "active", title="Secret terms")
        nhs = member(region.nhs, GO)
        if state == "rejected":
            services.agreement_reject(actor=nhs, agreement=agreement, reason="No")
        if state in ("suspended", "revoked"):
            getattr(services, f"agreement_{'suspend' if state == 'suspended' else 'revoke'}")(
                actor=nhs, agreement=agreement, reason="Breach")
        outsider = api(member(region.fire, Role.AUDITOR))
        assert outsider.get(f"/api/v1/agreements/{agreement.reference}/").status_code == 404
        body = outsider.post("/api/v1/checks/", {"provider": "nhs-provider", "recipient": "lead-council",
                                                  "dataset": "discharge-summaries"}, format="json").json()
        assert body["allowed"] is False
        text = json.dumps(body)
        assert agreement.reference not in text and "Secret terms" not in text
        assert "no agreement in force that I can show you" in body["reason"]
        assert body["agreement"] in (None, "")
        # A member of the provider still gets the full answer.
        mine = api(member(region.nhs, Role.FRONTLINE)).post(
            "/api/v1/checks/", {"provider": "nhs-provider", "recipient": "lead-council",
                                "dataset": "discharge-summaries"}, format="json").json()
        assert mine["agreement"] == agreement.reference

    def test_the_page_and_the_api_agree_that_an_auditor_may_ask(self, region):
        agreement_factory(state="active")
        auditor = member(region.fire, Role.AUDITOR)
        question = {"provider": "nhs-provider", "recipient": "lead-council", "dataset": "discharge-summaries"}
        assert api(auditor).post("/api/v1/checks/", question, format="json").status_code == 200
        response = page(auditor).post("/check/", {"provider": "NHS Provider", "recipient": "Lead Council",
                                                  "dataset": "discharge-summaries"})
        assert response.status_code == 200
        assert "Yes, you may share this" in response.content.decode()
        frontline = member(region.fire, Role.FRONTLINE)  # neither party, nor an auditor: refused by both
        assert api(frontline).post("/api/v1/checks/", question, format="json").status_code == 403


def _visible_actions(auditor, reference: str) -> dict[str, set[str]]:
    """The agreement's lifecycle events an auditor sees, through the event list and both export formats."""
    client = api(auditor)
    listed = {e["action"] for e in client.get("/api/v1/audit/events/", {"page_size": 500}).json()["results"]
              if e["object_ref"] == reference}
    rows = list(csv.DictReader(io.StringIO(
        b"".join(client.get("/api/v1/audit/export/", {"format": "csv"}).streaming_content).decode())))
    in_csv = {r["action"] for r in rows if r["object_ref"] == reference}
    lines = b"".join(client.get("/api/v1/audit/export/", {"format": "jsonl"}).streaming_content).decode()
    in_jsonl = {row["action"] for row in map(json.loads, lines.splitlines()) if row["object_ref"] == reference}
    return {"list": listed, "csv": in_csv, "jsonl": in_jsonl}


class AttackerFindingsTests:
    """What an attacker found in the first version of these rules, each fixed."""

    def test_a_rejected_amendment_does_not_answer_the_check_for_an_agreement_in_force(self, region):
        agreement = agreement_factory(state="active")
        drafter = member(region.council, GO)
        agreement = services.agreement_amend(actor=drafter, agreement=agreement)
        flows = [DISCHARGE_FLOW, {"dataset": "council-tenancies", "provider": "lead-council", "recipient": "fire",
                                  "legal_bases": ["ukgdpr-6-1-e"]}]
        agreement = services.agreement_update(actor=drafter, agreement=agreement, flows=flows)
        agreement = services.agreement_submit(actor=drafter, agreement=agreement)
        services.agreement_reject(actor=member(region.fire, GO), agreement=agreement, reason="Not for us")
        body = api(member(region.council, Role.FRONTLINE)).post(
            "/api/v1/checks/", {"provider": "lead-council", "recipient": "fire", "dataset": "council-tenancies"},
            format="json").json()
        assert (body["outcome"], body["agreement"]) == ("no_agreement", None)
        # ... and the party only to the rejected amendment no longer sees the agreement's full record.
        full = api(member(region.fire, Role.FRONTLINE)).get(f"/api/v1/agreements/{agreement.reference}/").json()
        assert full["access"] == "summary"

    def test_an_outsider_hears_the_same_whether_a_hidden_agreement_exists_or_none(self, region):
        agreement_factory(title="A hidden draft")
        auditor = api(member(region.fire, Role.AUDITOR))
        hidden = auditor.post("/api/v1/checks/", {"provider": "nhs-provider", "recipient": "lead-council",
                                                   "dataset": "discharge-summaries"}, format="json").json()
        nothing = auditor.post("/api/v1/checks/", {"provider": "police", "recipient": "lead-council",
                                                    "dataset": "domestic-incidents"}, format="json").json()
        assert hidden["outcome"] == nothing["outcome"] == "not_visible"
        assert hidden["reason"].replace("Discharge Summaries", "X").replace("NHS Provider", "Y") == \
            nothing["reason"].replace("Domestic Incidents", "X").replace("Police", "Y")

    def test_an_outsiders_check_shows_only_what_the_public_summary_shows(self, region):
        agreement_factory(state="active")
        body = api(member(region.fire, Role.AUDITOR)).post(
            "/api/v1/checks/", {"provider": "nhs-provider", "recipient": "lead-council",
                                "dataset": "discharge-summaries"}, format="json").json()
        assert body["allowed"] is True
        assert (body["data_items"], body["purposes"], body["method"], body["retention"]) == ([], [], None, None)
        mine = api(member(region.nhs, Role.FRONTLINE)).post(
            "/api/v1/checks/", {"provider": "nhs-provider", "recipient": "lead-council",
                                "dataset": "discharge-summaries"}, format="json").json()
        assert mine["data_items"] and mine["method"]

    def test_a_party_that_joins_later_sees_the_agreements_earlier_history(self, region):
        agreement = agreement_factory(state="active")
        drafter = member(region.council, GO)
        agreement = services.agreement_amend(actor=drafter, agreement=agreement)
        services.agreement_update(actor=drafter, agreement=agreement, flows=[DISCHARGE_FLOW, POLICE_FLOW])
        seen = _visible_actions(member(region.police, Role.AUDITOR), agreement.reference)
        for channel, actions in seen.items():
            assert {"agreement.created", "agreement.submitted", "agreement.activated",
                    "agreement.amended", "agreement.updated"} <= actions, channel

    def test_viewing_a_public_summary_names_only_the_parties_it_shows(self, region):
        agreement = amended_to_add_police(region)
        outsider = member(region.fire, Role.FRONTLINE)
        assert api(outsider).get(f"/api/v1/agreements/{agreement.reference}/").json()["access"] == "summary"
        event = AuditEvent.objects.filter(action="agreement.viewed", actor=outsider).get()
        assert "police" not in event.agencies  # a party only to the draft amendment, which the summary hides


class EventVisibilityTests:
    def test_every_partys_auditors_see_each_lifecycle_event_of_their_agreements(self, region):
        agreement = agreement_factory(state="active")
        nhs = member(region.nhs, GO)
        services.agreement_suspend(actor=nhs, agreement=agreement, reason="Breach")
        services.agreement_reinstate(actor=nhs, agreement=agreement, reason="Resolved")
        services.agreement_revoke(actor=nhs, agreement=agreement, reason="Ended")
        lifecycle = {"agreement.created", "agreement.submitted", "agreement.approved", "agreement.activated",
                     "agreement.suspended", "agreement.reinstated", "agreement.revoked"}
        for agency in (region.council, region.nhs):
            seen = _visible_actions(member(agency, Role.AUDITOR), agreement.reference)
            for channel, actions in seen.items():
                assert lifecycle <= actions, (agency.code, channel, lifecycle - actions)
        fire = _visible_actions(member(region.fire, Role.AUDITOR), agreement.reference)
        assert fire == {"list": set(), "csv": set(), "jsonl": set()}

    def test_the_recipients_auditor_sees_their_own_staffs_checks(self, region):
        agreement_factory(state="active")
        worker = member(region.council, Role.FRONTLINE)
        seq = api(worker).post("/api/v1/checks/", {"provider": "nhs-provider", "recipient": "lead-council",
                                                    "dataset": "discharge-summaries"}, format="json").json()["event"]
        council_auditor = api(member(region.council, Role.AUDITOR))
        seqs = {e["seq"] for e in council_auditor.get("/api/v1/audit/events/", {"action": "check.allowed"}).json()[
            "results"]}
        assert seq in seqs
        assert set(AuditEvent.objects.get(seq=seq).agencies) == {"lead-council", "nhs-provider"}

    def test_an_agencys_auditor_sees_its_staffs_sign_ins(self, region):
        worker = member(region.council, Role.FRONTLINE)
        worker.set_password("a-long-password-1")
        worker.save()
        Client().post("/accounts/login/", {"username": worker.username, "password": "a-long-password-1"})
        events = api(member(region.council, Role.AUDITOR)).get("/api/v1/audit/events/",
                                                              {"action": "auth.login"}).json()["results"]
        assert [e["actor"] for e in events] == [worker.username]


class RelevantAgreementTests:
    def _two(self, region, first_state: str):
        """An agreement for the flow in `first_state`, then a later draft for the same flow."""
        first = agreement_factory(state="active", title="The one in force")
        nhs = member(region.nhs, GO)
        if first_state == "suspended":
            services.agreement_suspend(actor=nhs, agreement=first, reason="Data breach under review")
        elif first_state == "expired":
            services.agreement_expire(agreement=first, today=timezone.localdate() + dt.timedelta(days=800))
        later = services.agreement_create(actor=member(region.council, GO), **region.terms(title="A later draft"))
        return first, later

    def test_a_suspended_agreement_not_a_later_draft_explains_the_answer(self, region):
        first, later = self._two(region, "suspended")
        body = api(member(region.nhs, Role.FRONTLINE)).post(
            "/api/v1/checks/", {"provider": "nhs-provider", "recipient": "lead-council",
                                "dataset": "discharge-summaries"}, format="json").json()
        assert (body["allowed"], body["outcome"], body["agreement"]) == (False, "suspended", first.reference)
        assert later.reference in body["reason"]  # the draft is mentioned, second

    def test_an_expired_agreement_not_a_later_draft_explains_the_answer(self, region):
        first, _later = self._two(region, "expired")
        body = api(member(region.nhs, Role.FRONTLINE)).post(
            "/api/v1/checks/", {"provider": "nhs-provider", "recipient": "lead-council",
                                "dataset": "discharge-summaries",
                                "on": str(timezone.localdate() + dt.timedelta(days=800))}, format="json").json()
        assert (body["outcome"], body["agreement"]) == ("expired", first.reference)


class AccessRecordTests:
    def test_the_edit_page_and_the_confirmation_pages_are_recorded_as_views(self, region):
        agreement = agreement_factory()
        client = page(member(region.council, GO))
        assert client.get(f"/agreements/{agreement.reference}/edit/").status_code == 200
        assert client.get(f"/agreements/{agreement.reference}/submit/").status_code == 200
        pages = list(AuditEvent.objects.filter(action="agreement.viewed", object_ref=agreement.reference)
                     .values_list("detail__page", flat=True))
        assert pages == ["edit", "confirm-submit"]

    def test_refusals_are_recorded_as_access_denied(self, region):
        agreement = agreement_factory()
        outsider = member(region.fire, GO)
        assert page(outsider).get(f"/agreements/{agreement.reference}/").status_code == 404
        assert api(outsider).get("/api/v1/agreements/ISA-1999-0001/").status_code == 404
        frontline = member(region.nhs, Role.FRONTLINE)
        assert api(frontline).post(f"/api/v1/agreements/{agreement.reference}/submit/", {},
                                   format="json").status_code == 403
        denied = list(AuditEvent.objects.filter(action="access.denied").order_by("seq"))
        assert [(e.actor_name, e.object_ref, e.detail["status"]) for e in denied] == [
            (outsider.username, agreement.reference, 404), (outsider.username, "ISA-1999-0001", 404),
            (frontline.username, agreement.reference, 403)]
        # The refusal concerns the asker's own agency only: naming the hidden agreement's parties would tell the
        # asker's auditors (perhaps the asker) that it exists. A real reference and a missing one look the same.
        assert [e.agencies for e in denied[:2]] == [["fire"], ["fire"]]


class WaitingForYouTests:
    @staticmethod
    def waiting(user) -> list[str]:
        board = page(user).get("/").context["board"]
        return [party.version.agreement.reference for party in board.awaiting_signature]

    def test_awaiting_your_signature_lists_only_what_you_may_sign(self, region):
        drafter = member(region.council, GO)
        mine = agreement_factory(state="submitted", title="Drafted by me")
        second = member(region.council, GO, username="lead-council-second-officer")
        assert mine.reference not in self.waiting(drafter)  # the last editor may not give the lead's signature
        assert mine.reference in self.waiting(second)
        suspended = agreement_factory(state="active", title="On hold")
        amended = services.agreement_amend(actor=drafter, agreement=suspended)
        services.agreement_submit(actor=drafter, agreement=amended)
        nhs = member(region.nhs, GO)
        assert suspended.reference in self.waiting(nhs)
        services.agreement_suspend(actor=nhs, agreement=suspended, reason="Breach")
        assert suspended.reference not in self.waiting(nhs)  # signing waits until it is reinstated
