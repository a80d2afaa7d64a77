"""Signatures that say who signed, the fingerprint and PDF of a version, what changed between versions on the pages,
a status that reads right, and who suspended, revoked or rejected an agreement."""

import datetime as dt
import hashlib
import io
import json

import pytest
from django.test import Client
from django.utils import timezone
from pypdf import PdfReader

from accounts.models import Profile
from agencies.choices import Role
from agreements import services
from agreements.canonical import canonical_bytes, version_content, version_digest
from agreements.models import Party
from agreements.selectors import version_get
from audit.models import AuditEvent
from tests.clients import api
from tests.clients import page as page_client
from tests.factories import DatasetFactory, agreement_factory, fresh, member, sign_all

pytestmark = pytest.mark.django_db
GO = Role.GOVERNANCE_OFFICER


def named(agency, username: str, full_name: str, job_title: str):
    user = member(agency, GO, username=username)
    Profile.objects.update_or_create(user=user, defaults={"full_name": full_name, "job_title": job_title})
    return user


def digest_on(html: str) -> str:
    return html.split('id="digest">', 1)[1].split("<", 1)[0]


def pdf_text(content: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


class SignatureTests:
    def test_signing_on_the_page_asks_for_the_declaration_and_records_who_signed(self, region):
        agreement = agreement_factory(state="submitted")
        nadia = named(region.nhs, "nadia", "Nadia Khan", "Head of Information Governance")
        client = page_client(nadia)
        url = f"/agreements/{agreement.reference}/sign/"
        form = client.get(url).content.decode()
        assert "I am authorised to sign this agreement for NHS Provider" in form
        refused = client.post(url, {"agency": "nhs-provider"})
        assert refused.status_code == 400
        assert "Confirm that you are authorised to sign this agreement" in refused.content.decode()
        assert not Party.objects.filter(signed_at__isnull=False).exists()

        assert client.post(url, {"agency": "nhs-provider", "declaration": "yes"}).status_code == 302
        party = Party.objects.get(agency=region.nhs)
        assert (party.signer_name, party.signer_job_title, party.signer_declared) == (
            "Nadia Khan", "Head of Information Governance", True)
        event = AuditEvent.objects.get(action="agreement.approved")
        assert (event.detail["signer_name"], event.detail["declared"]) == ("Nadia Khan", True)

        # A later change of job title leaves the signature as it was given.
        Profile.objects.filter(user=nadia).update(job_title="Chief Executive")
        when = timezone.localtime(party.signed_at)
        expected = f"Signed for NHS Provider by Nadia Khan, Head of Information Governance, on {when:%-d %B %Y, %H:%M}"
        for path in ("", "print/"):
            html = client.get(f"/agreements/{agreement.reference}/{path}").content.decode()
            assert expected in html, path
            assert "Chief Executive" not in html

    def test_the_api_keeps_its_contract_and_records_the_token_users_name(self, region):
        agreement = agreement_factory(state="submitted")
        named(region.nhs, "nadia", "Nadia Khan", "Head of Information Governance")
        from django.contrib.auth import get_user_model
        nadia = get_user_model().objects.get(username="nadia")
        refused = api(nadia).post(f"/api/v1/agreements/{agreement.reference}/approve/",
                                  {"authorised_to_sign": False}, format="json")
        assert refused.status_code == 400 and "authorised_to_sign" in refused.json()
        response = api(nadia).post(f"/api/v1/agreements/{agreement.reference}/approve/", {}, format="json")
        assert response.status_code == 200
        [party] = [p for p in response.json()["parties"] if p["agency"] == "nhs-provider"]
        assert (party["approved_by"], party["approved_by_name"], party["approved_by_job_title"]) == (
            "nadia", "Nadia Khan", "Head of Information Governance")
        assert Party.objects.get(agency=region.nhs).signer_declared is False  # the API did not declare it

    def test_changes_asked_for_clear_the_signers_names_with_the_signatures(self, region):
        agreement = agreement_factory(state="submitted")
        services.agreement_approve(actor=named(region.council, "second", "Sam Shah", "DPO"), agreement=agreement)
        services.agreement_request_changes(actor=member(region.nhs, GO), agreement=agreement, comments="Retention?")
        party = Party.objects.get(agency=region.council)
        assert (party.signed_at, party.signer_name, party.signer_job_title) == (None, "", "")


class FingerprintTests:
    def test_the_pdf_carries_the_fingerprint_shown_on_the_page_and_is_audited(self, region):
        agreement = agreement_factory(state="active")
        client = page_client(member(region.nhs, GO))
        page = client.get(f"/agreements/{agreement.reference}/").content.decode()
        shown = digest_on(page)
        assert len(shown) == 64
        assert digest_on(client.get(f"/agreements/{agreement.reference}/print/").content.decode()) == shown
        response = client.get(f"/agreements/{agreement.reference}/versions/1/pdf/")
        assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
        assert f'filename="{agreement.reference}-version-1.pdf"' in response["Content-Disposition"]
        text = pdf_text(response.content)
        assert shown in text.replace("\n", "")
        assert "Signed for NHS Provider by" in text
        assert AuditEvent.objects.filter(action="agreement.viewed", object_ref=agreement.reference,
                                         detail__page="pdf-1").count() == 1

    def test_the_fingerprint_is_the_sha256_of_the_documented_canonical_form(self, region):
        agreement = agreement_factory(state="submitted")
        version = version_get(agreement=agreement, number=1)
        content = version_content(agreement=agreement, version=version)
        assert content["format"] == "sharing-registry/agreement-version/1"
        assert content["parties"] == ["lead-council", "nhs-provider"] and content["signatures"] == []
        assert content["flows"][0]["legal_bases"] == sorted(content["flows"][0]["legal_bases"])
        raw = canonical_bytes(content)
        assert json.loads(raw) == content
        assert raw.startswith(b'{"dpia_reference":"","end_date":"')
        unsigned = version_digest(agreement=agreement, version=version)
        assert unsigned == hashlib.sha256(raw).hexdigest()
        services.agreement_approve(actor=member(region.nhs, GO), agreement=agreement)
        signed = version_digest(agreement=agreement, version=version_get(agreement=agreement, number=1))
        assert signed != unsigned  # each signature is part of what the fingerprint covers
        body = api(member(region.nhs, GO)).get(f"/api/v1/agreements/{agreement.reference}/").json()
        assert body["content_sha256"] == signed

    def test_the_pdf_is_for_those_who_see_the_full_record(self, region):
        agreement = agreement_factory(state="active")
        url = f"/agreements/{agreement.reference}/versions/1/pdf/"
        assert page_client(member(region.fire, GO)).get(url).status_code == 404  # sees only the summary
        assert page_client(member(region.nhs, GO)).get(
            f"/agreements/{agreement.reference}/versions/7/pdf/").status_code == 404
        assert Client().get(url).status_code == 302  # sign in first


def amended(region):
    """An active agreement (version 1) and a submitted amendment (version 2) that changes the title, adds a flow,
    removes a data item and a legal basis from the first flow."""
    agreement = agreement_factory(state="active")
    drafter = member(region.council, GO)
    agreement = services.agreement_amend(actor=drafter, agreement=agreement)
    services.agreement_update(actor=drafter, agreement=agreement, title="Discharge and incidents", flows=[
        {"dataset": "discharge-summaries", "provider": "nhs-provider", "recipient": "lead-council",
         "legal_bases": ["ukgdpr-6-1-e", "ukgdpr-9-2-h", "dpa-2018-sch1-para2"],
         "data_items": ["name", "NHS number", "care needs"]},
        {"dataset": "domestic-incidents", "provider": "police", "recipient": "lead-council",
         "legal_bases": ["ukgdpr-6-1-e", "ukgdpr-10", "dpa-2018-sch1-para18"]},
    ])
    return services.agreement_submit(actor=drafter, agreement=fresh(agreement))


class ChangesOnPagesTests:
    def test_the_agreement_sign_and_printable_pages_show_what_changed_from_the_version_in_force(self, region):
        agreement = amended(region)
        client = page_client(member(region.nhs, GO))
        for path in ("", "sign/", "print/"):
            html = client.get(f"/agreements/{agreement.reference}/{path}").content.decode()
            changes = html.split('id="changes"', 1)[1].split("</section>", 1)[0]
            assert "What changed since version 1, in force" in changes, path
            # Marked in words as well as by colour: a visible tag, and ins/del with hidden words for screen readers.
            assert ('<ins class="app-ins"><span class="govuk-visually-hidden">added: </span>Discharge and '
                    "incidents</ins>") in changes
            assert '<del class="app-del"><span class="govuk-visually-hidden">removed: </span>Hospital discharge' \
                in changes
            assert "added flow: </span>Domestic Incidents, from Police to Lead Council</ins>" in changes
            assert "removed: </span>discharge date</del>" in changes
            assert ">Added</span>" in changes and ">Removed</span>" in changes
            assert "added: </span>Police</ins>" in changes  # a new party

    def test_a_version_sent_back_is_compared_with_what_was_sent(self, region):
        agreement = agreement_factory(state="submitted")
        drafter = member(region.council, GO)
        services.agreement_request_changes(actor=member(region.nhs, GO), agreement=agreement,
                                           comments="Say how long you keep it")
        services.agreement_update(actor=drafter, agreement=fresh(agreement), flows=[
            {"dataset": "discharge-summaries", "provider": "nhs-provider", "recipient": "lead-council",
             "legal_bases": ["ukgdpr-6-1-e", "ukgdpr-9-2-h", "dpa-2018-sch1-para2"], "retention": "Two years"}])
        services.agreement_submit(actor=drafter, agreement=fresh(agreement))
        html = page_client(member(region.nhs, GO)).get(f"/agreements/{agreement.reference}/sign/").content.decode()
        assert "What changed since version 1 as sent for signature" in html
        assert "added: </span>Two years</ins>" in html

    def test_a_first_version_shows_no_comparison(self, region):
        agreement = agreement_factory(state="submitted")
        html = page_client(member(region.nhs, GO)).get(f"/agreements/{agreement.reference}/").content.decode()
        assert 'id="changes"' not in html

    @pytest.mark.parametrize("extra_flows", [0, 5])
    def test_the_pages_with_changes_cost_the_same_queries_however_many_flows(self, region, extra_flows,
                                                                             django_assert_max_num_queries):
        agreement = agreement_factory(state="active")
        drafter = member(region.council, GO)
        agreement = services.agreement_amend(actor=drafter, agreement=agreement)
        datasets = [DatasetFactory(owner=region.nhs) for _ in range(extra_flows)]
        flows = [{"dataset": d.code, "provider": "nhs-provider", "recipient": "lead-council",
                  "legal_bases": ["ukgdpr-6-1-e", "ukgdpr-9-2-h", "dpa-2018-sch1-para2"]}
                 for d in [region.discharge, *datasets]]
        services.agreement_update(actor=drafter, agreement=agreement, title="Changed", flows=flows)
        services.agreement_submit(actor=drafter, agreement=fresh(agreement))
        client = page_client(member(region.nhs, GO))
        # The detail page's 19 (see test_agreement), the standing event is not needed, the comparison's names (3).
        with django_assert_max_num_queries(22):
            assert client.get(f"/agreements/{agreement.reference}/").status_code == 200
        with django_assert_max_num_queries(20):
            assert client.get(f"/agreements/{agreement.reference}/sign/").status_code == 200
        with django_assert_max_num_queries(20):
            assert client.get(f"/agreements/{agreement.reference}/print/").status_code == 200
        # session, user, the agreement, its two versions' terms (2), permissions, the version (4), the viewed event
        # (3), saving the session (3), and a spare
        with django_assert_max_num_queries(17):
            assert client.get(f"/agreements/{agreement.reference}/versions/1/pdf/").status_code == 200


class StatusTests:
    def later(self):
        today = timezone.localdate()
        start = dt.date(today.year + 1, 4, 1)
        return agreement_factory(state="active", start_date=start, end_date=start + dt.timedelta(days=700),
                                 review_date=start + dt.timedelta(days=300), title="Starts next April"), start

    def test_before_its_start_date_an_agreement_reads_signed_with_its_start(self, region):
        agreement, start = self.later()
        label = f"Signed: starts 1 April {start.year}"
        client = page_client(member(region.council, Role.FRONTLINE))
        detail = client.get(f"/agreements/{agreement.reference}/").content.decode()
        assert label in detail.split('id="status"', 1)[1].split("</p>", 1)[0]
        assert ">Active<" not in detail
        assert label in client.get("/agreements/").content.decode()
        body = api(member(region.council, GO)).get(f"/api/v1/agreements/{agreement.reference}/").json()
        assert (body["status"], body["status_label"], body["in_force_today"]) == ("active", label, False)

    def test_the_register_filters_in_force_today_apart_from_signed_not_started(self, region):
        later, _ = self.later()
        now = agreement_factory(state="active", title="In force now", lead=region.council, flows=[
            {"dataset": region.incidents, "provider": region.police, "recipient": region.council,
             "legal_bases": ["ukgdpr-6-1-e", "ukgdpr-10", "dpa-2018-sch1-para18"]}])
        client = page_client(member(region.council, GO))
        in_force = client.get("/agreements/", {"status": "in_force"}).content.decode()
        assert now.reference in in_force and later.reference not in in_force
        not_started = client.get("/agreements/", {"status": "not_started"}).content.decode()
        assert later.reference in not_started and now.reference not in not_started
        both = client.get("/agreements/", {"status": "active"}).content.decode()
        assert later.reference in both and now.reference in both
        body = api(member(region.council, GO)).get("/api/v1/agreements/", {"status": "in_force"}).json()
        assert [row["reference"] for row in body["results"]] == [now.reference]

    def test_the_public_register_and_the_dashboards_agree_on_in_force_today(self, region):
        from agreements.register import public_agreements
        later, _ = self.later()
        assert later not in public_agreements()


class StandingTests:
    def test_the_page_says_who_suspended_it_when_and_why(self, region, django_assert_max_num_queries):
        agreement = agreement_factory(state="active")
        services.agreement_suspend(actor=named(region.nhs, "nadia", "Nadia Khan", "Head of IG"),
                                   agreement=agreement, reason="Emails went to a closed mailbox")
        client = page_client(member(region.council, GO))
        with django_assert_max_num_queries(20):  # the detail page's 19 and the standing event
            html = client.get(f"/agreements/{agreement.reference}/").content.decode()
        banner = html.split('id="standing"', 1)[1].split("</div>\n</div>", 1)[0]
        assert "Suspended by Nadia Khan, Head of IG, for NHS Provider, on " in banner
        assert "Reason: Emails went to a closed mailbox" in banner

    def test_revoked_and_rejected_say_so_too(self, region):
        revoked = agreement_factory(state="active")
        services.agreement_revoke(actor=member(region.nhs, GO), agreement=revoked, reason="No longer lawful")
        html = page_client(member(region.council, GO)).get(f"/agreements/{revoked.reference}/").content.decode()
        assert "Revoked by nhs-provider-governance_officer, for NHS Provider" in html
        assert "Reason: No longer lawful" in html

        amendment = amended(region)
        services.agreement_reject(actor=member(region.nhs, GO), agreement=fresh(amendment), reason="Too broad")
        html = page_client(member(region.council, GO)).get(f"/agreements/{amendment.reference}/").content.decode()
        assert "Version 2 was rejected by nhs-provider-governance_officer, for NHS Provider" in html

    def test_an_active_agreement_has_no_such_notice(self, region):
        agreement = agreement_factory(state="active")
        sign_all(agreement)
        html = page_client(member(region.council, GO)).get(f"/agreements/{agreement.reference}/").content.decode()
        assert 'id="standing"' not in html
