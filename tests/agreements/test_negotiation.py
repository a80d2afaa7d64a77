"""Negotiating a version: asking for changes with comments, withdrawing to fix it, and copying into a new draft."""

import pytest
from django.test import Client

from agencies.choices import Role
from agreements import services
from agreements.models import Agreement, VersionComment
from audit.models import AuditEvent
from tests.clients import api
from tests.factories import agreement_factory, fresh, member, sign_all

pytestmark = pytest.mark.django_db
GO = Role.GOVERNANCE_OFFICER


class RequestChangesTests:
    def test_a_party_sends_the_version_back_with_comments_and_the_negotiation_goes_on(self, region):
        agreement = agreement_factory(state="submitted")
        drafter, second = member(region.council, GO), member(region.council, GO, username="council-second")
        services.agreement_approve(actor=second, agreement=agreement, agency="lead-council")
        nhs = member(region.nhs, GO)
        response = api(nhs).post(f"/api/v1/agreements/{agreement.reference}/request-changes/",
                                 {"comments": "Say how long the council keeps the summaries."}, format="json")
        assert response.status_code == 200
        body = response.json()
        assert (body["status"], body["version_state"]) == ("draft", "draft")
        assert not any(p["approved"] for p in body["parties"])  # the lead's signature was for the words as sent
        [comment] = VersionComment.objects.all()
        assert (comment.agency.code, comment.author, comment.kind) == ("nhs-provider", nhs, "changes_requested")
        event = AuditEvent.objects.get(action="agreement.changes_requested")
        assert event.detail["comments"] == "Say how long the council keeps the summaries."
        assert event.detail["signatures_cleared"] == ["lead-council"]
        assert {"lead-council", "nhs-provider"} <= set(event.agencies)

        page = Client()
        page.force_login(drafter)
        html = page.get(f"/agreements/{agreement.reference}/").content.decode()
        assert "Say how long the council keeps the summaries." in html
        assert "Changes requested" in html

        services.agreement_update(actor=drafter, agreement=agreement, title="Discharge, with retention")
        services.agreement_submit(actor=drafter, agreement=agreement)
        sign_all(fresh(agreement))
        assert fresh(agreement).status == "active"

    def test_comments_are_required_and_a_refusal_writes_nothing(self, region):
        agreement = agreement_factory(state="submitted")
        client = api(member(region.nhs, GO))
        response = client.post(f"/api/v1/agreements/{agreement.reference}/request-changes/", {"comments": "  "},
                               format="json")
        assert response.status_code == 400
        assert fresh(agreement).current_version.state == "submitted"
        assert not VersionComment.objects.exists()
        outsider = api(member(region.fire, GO))
        assert outsider.post(f"/api/v1/agreements/{agreement.reference}/request-changes/",
                             {"comments": "x"}, format="json").status_code == 404
        draft = agreement_factory(title="Still a draft", lead=region.police, flows=[
            {"dataset": region.incidents, "provider": region.police, "recipient": region.nhs,
             "legal_bases": ["ukgdpr-6-1-e", "ukgdpr-10", "dpa-2018-sch1-para18"]}])
        response = client.post(f"/api/v1/agreements/{draft.reference}/request-changes/", {"comments": "x"},
                               format="json")
        assert (response.status_code, response.json()["code"]) == (409, "wrong_state")


class WithdrawTests:
    def test_the_lead_takes_a_version_back_to_fix_it(self, region):
        agreement = agreement_factory(state="submitted")
        services.agreement_approve(actor=member(region.nhs, GO), agreement=agreement)
        drafter = member(region.council, GO)
        page = Client()
        page.force_login(drafter)
        response = page.post(f"/agreements/{agreement.reference}/withdraw/", {"reason": "A typo in the purpose"})
        assert response.status_code == 302
        agreement = fresh(agreement)
        assert (agreement.status, agreement.current_version.state) == ("draft", "draft")
        assert not agreement.current_version.parties.filter(signed_at__isnull=False).exists()
        event = AuditEvent.objects.get(action="agreement.withdrawn")
        assert (event.detail["reason"], event.detail["signatures_cleared"]) == ("A typo in the purpose",
                                                                                ["nhs-provider"])

    def test_only_the_lead_withdraws(self, region):
        agreement = agreement_factory(state="submitted")
        response = api(member(region.nhs, GO)).post(f"/api/v1/agreements/{agreement.reference}/withdraw/",
                                                    {"reason": "Not ours"}, format="json")
        assert (response.status_code, response.json()["code"]) == (403, "not_lead_officer")


class CopyTests:
    def test_a_rejected_agreement_is_copied_into_a_new_draft(self, region):
        agreement = agreement_factory(state="submitted", title="Try again")
        services.agreement_reject(actor=member(region.nhs, GO), agreement=agreement, reason="Wrong lawful basis")
        response = api(member(region.council, GO)).post(f"/api/v1/agreements/{agreement.reference}/copy/", {},
                                                        format="json")
        assert response.status_code == 201
        body = response.json()
        assert body["reference"] != agreement.reference
        assert (body["status"], body["title"]) == ("draft", "Try again")
        assert [f["dataset"] for f in body["flows"]] == ["discharge-summaries"]
        copied = AuditEvent.objects.get(action="agreement.copied")
        assert (copied.object_ref, copied.detail["copied_from"]) == (body["reference"], agreement.reference)
        assert fresh(agreement).status == "rejected"  # the original is as it was

    def test_only_the_leads_officers_copy(self, region):
        agreement = agreement_factory(state="active")
        response = api(member(region.nhs, GO)).post(f"/api/v1/agreements/{agreement.reference}/copy/", {},
                                                    format="json")
        assert response.status_code == 403
        assert Agreement.objects.count() == 1


class VersionTests:
    def test_an_amendment_is_compared_with_the_version_in_force(self, region):
        agreement = agreement_factory(state="active")
        drafter = member(region.council, GO)
        agreement = services.agreement_amend(actor=drafter, agreement=agreement)
        police_flow = {"dataset": "domestic-incidents", "provider": "police", "recipient": "lead-council",
                       "legal_bases": ["ukgdpr-6-1-e", "ukgdpr-10", "dpa-2018-sch1-para18"]}
        discharge = {"dataset": "discharge-summaries", "provider": "nhs-provider", "recipient": "lead-council",
                     "legal_bases": ["ukgdpr-6-1-e", "ukgdpr-9-2-h", "dpa-2018-sch1-para2"],
                     "data_items": ["name", "care needs"]}
        services.agreement_update(actor=drafter, agreement=agreement, title="Discharge and incidents",
                                  flows=[discharge, police_flow])
        client = api(member(region.nhs, GO))
        versions = client.get(f"/api/v1/agreements/{agreement.reference}/versions/").json()
        assert [(v["number"], v["state"], v["in_force"]) for v in versions] == [(2, "draft", False),
                                                                                 (1, "signed", True)]
        body = client.get(f"/api/v1/agreements/{agreement.reference}/versions/2/compare/").json()
        assert (body["version"], body["to"]) == (2, 1)
        assert body["terms"] == [{"field": "title", "before": "Hospital discharge to adult social care",
                                  "after": "Discharge and incidents"}]
        assert body["parties_added"] == ["police"]
        assert [(f["dataset"], f["change"]) for f in body["flows"]] == [("domestic-incidents", "added"),
                                                                        ("discharge-summaries", "changed")]
        assert body["flows"][1]["fields"][0]["field"] == "data_items"

    def test_versions_are_for_those_who_see_the_full_record(self, region):
        agreement = agreement_factory(state="active")
        outsider = api(member(region.fire, GO))
        assert outsider.get(f"/api/v1/agreements/{agreement.reference}/versions/").status_code == 404
        assert outsider.get(f"/api/v1/agreements/{agreement.reference}/versions/1/compare/").status_code == 404
        mine = api(member(region.nhs, GO))
        assert mine.get(f"/api/v1/agreements/{agreement.reference}/versions/9/compare/").status_code == 404
        response = mine.get(f"/api/v1/agreements/{agreement.reference}/versions/1/compare/", {"to": 7})
        assert response.status_code == 400 and "no version 7" in response.json()["to"][0]
