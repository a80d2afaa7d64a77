"""Attacks on the per-version comment thread: every role and channel that must not add to, or read, a thread it
has no business with, and the input that must be refused whole (no comment without its event, nor the reverse)."""

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from rest_framework.test import APIClient

from agencies.choices import Role
from agencies.services import agency_role_group
from agreements import services
from agreements.models import Agreement, VersionComment
from audit.models import AuditEvent
from notifications.models import Notification
from tests.clients import api, page
from tests.factories import UserFactory, agreement_factory, api_key, fresh, member, sign_all

pytestmark = pytest.mark.django_db
User = get_user_model()
GO = Role.GOVERNANCE_OFFICER
TEXT = "A comment for the parties."
XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def api_url(agreement, number=1) -> str:
    return f"/api/v1/agreements/{agreement.reference}/versions/{number}/comments/"


def page_url(agreement, number=1) -> str:
    return f"/agreements/{agreement.reference}/versions/{number}/comments/"


POLICE_FLOW = {"dataset": "domestic-incidents", "provider": "police", "recipient": "lead-council",
               "legal_bases": ["ukgdpr-6-1-e", "ukgdpr-10", "dpa-2018-sch1-para18"]}
# An amendment without the NHS: the council shares its tenancies with the police instead.
NHS_REMOVED = [{"dataset": "council-tenancies", "provider": "lead-council", "recipient": "police",
                "legal_bases": ["ukgdpr-6-1-e"]}]


def amended(region, agreement, flows=None) -> Agreement:
    """Version 2 of an active agreement, a draft: by default the same terms with the police added as a party."""
    drafter = _officer(region.council)
    agreement = services.agreement_amend(actor=drafter, agreement=agreement)
    flows = flows if flows is not None else [*region.terms()["flows"], POLICE_FLOW]
    return services.agreement_update(actor=drafter, agreement=agreement, flows=flows)


def _officer(agency):
    """The agency's governance officer (`member`'s username), made on first use."""
    return User.objects.filter(username=f"{agency.code}-{GO.value}").first() or member(agency, GO)


def nothing_written():
    assert not VersionComment.objects.exists()
    assert not AuditEvent.objects.filter(action="agreement.commented").exists()
    assert not Notification.objects.filter(kind="commented").exists()


def threads_are_404(user, agreement, *, agency: str) -> None:
    """Versions 1 and 2's comment threads are 404 to `user` on every channel: read or post, by the API (also speaking
    for `agency`) or the page."""
    for number in (1, 2):
        assert api(user).get(api_url(agreement, number)).status_code == 404
        assert api(user).post(api_url(agreement, number), {"text": TEXT}, format="json").status_code == 404
        assert api(user).post(api_url(agreement, number), {"text": TEXT, "agency": agency},
                              format="json").status_code == 404
        assert page(user).get(page_url(agreement, number)).status_code == 404
        assert page(user).post(page_url(agreement, number), {"text": TEXT}).status_code == 404


class OutsiderTests:
    @pytest.mark.parametrize("role", [GO, Role.AUDITOR, Role.FRONTLINE, Role.AGENCY_ADMIN])
    def test_another_agencys_member_gets_404_on_every_channel(self, region, role):
        agreement = agreement_factory(state="active")  # visible to everyone as a summary
        services.comment_add(actor=member(region.nhs, GO), agreement=agreement, number=1, text="Between parties")
        user = member(region.fire, role)
        threads_are_404(user, agreement, agency="fire")
        html = page(user).get(f"/agreements/{agreement.reference}/").content.decode()
        assert "Add a comment" not in html and 'id="comments-1"' not in html and "Between parties" not in html
        for path in ("/", "/notifications/", "/audit/", "/api/v1/notifications/", "/api/v1/audit/events/"):
            assert "Between parties" not in page(user).get(path, follow=True).content.decode(), path
        assert not Notification.objects.filter(user=user).exists()
        assert VersionComment.objects.count() == 1
        assert AuditEvent.objects.filter(action="agreement.commented").count() == 1

    def test_another_agencys_token_gets_404(self, region):
        agreement = agreement_factory(state="active")
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {api_key(member(region.fire, GO))}")
        assert client.get(api_url(agreement)).status_code == 404
        assert client.post(api_url(agreement), {"text": TEXT}, format="json").status_code == 404
        nothing_written()

    def test_anonymous_is_told_to_sign_in(self, region):
        agreement = agreement_factory(state="active")
        assert APIClient().get(api_url(agreement)).status_code == 401
        assert APIClient().post(api_url(agreement), {"text": TEXT}, format="json").status_code == 401
        for response in (Client().get(page_url(agreement)), Client().post(page_url(agreement), {"text": TEXT})):
            assert response.status_code == 302 and "/accounts/login/" in response["Location"]
        nothing_written()


class PartyMemberTests:
    @pytest.mark.parametrize("role", [Role.AUDITOR, Role.FRONTLINE, Role.AGENCY_ADMIN])
    def test_a_partys_non_officer_reads_but_gets_403(self, region, role):
        agreement = agreement_factory(state="active")
        user = member(region.nhs, role)
        assert api(user).get(api_url(agreement)).status_code == 200
        response = api(user).post(api_url(agreement), {"text": TEXT, "agency": "nhs-provider"}, format="json")
        assert (response.status_code, response.json()["code"]) == (403, "not_version_party")
        assert page(user).post(page_url(agreement), {"text": TEXT, "agency": "nhs-provider"}).status_code == 403
        nothing_written()

    def test_the_agency_parameter_cannot_name_an_agency_one_is_not_an_officer_of(self, region):
        agreement = agreement_factory(state="active")
        nhs = member(region.nhs, GO)
        agency_role_group(agency=region.council, role=Role.FRONTLINE).user_set.add(nhs)  # a member, not an officer
        for agency in ("lead-council", "fire", "no-such-agency", "x" * 64):
            response = api(nhs).post(api_url(agreement), {"text": TEXT, "agency": agency}, format="json")
            assert response.status_code == 400, (agency, response.content)
            assert page(nhs).post(page_url(agreement), {"text": TEXT, "agency": agency}).status_code == 400
        for agency in ("a\x00b", ["nhs-provider"], {"code": "nhs-provider"}, "x" * 65):
            response = api(nhs).post(api_url(agreement), {"text": TEXT, "agency": agency}, format="json")
            assert response.status_code == 400, (agency, response.content)
        assert page(nhs).post(page_url(agreement), {"text": TEXT, "agency": "a\x00b"}).status_code == 400
        nothing_written()


class AmendmentTests:
    def test_an_officer_of_a_party_only_of_a_rejected_amendment(self, region):
        """A rejected amendment gives its own parties no lasting sight: both threads are 404 to them, while the
        parties in force still comment on version 1 and find version 2's thread read-only."""
        agreement = amended(region, agreement_factory(state="active"))
        services.agreement_submit(actor=_officer(region.council), agreement=agreement)
        police = member(region.police, GO)
        services.agreement_reject(actor=police, agreement=fresh(agreement), reason="No")
        agreement = fresh(agreement)
        threads_are_404(police, agreement, agency="police")
        nothing_written()
        response = api(_officer(region.nhs)).post(api_url(agreement, 2), {"text": TEXT}, format="json")
        assert (response.status_code, response.json()["code"]) == (409, "wrong_state")
        assert api(_officer(region.nhs)).post(api_url(agreement, 1), {"text": TEXT}, format="json").status_code == 201

    def test_an_officer_of_a_party_only_of_a_withdrawn_amendment(self, region):
        """A pending amendment is withdrawn when the agreement is revoked: its own parties lose sight, and nobody
        comments on any version of a revoked agreement."""
        agreement = amended(region, agreement_factory(state="active"))
        services.agreement_submit(actor=_officer(region.council), agreement=agreement)
        police = member(region.police, GO)
        services.comment_add(actor=police, agreement=fresh(agreement), number=2, text="Before the end")
        services.agreement_revoke(actor=_officer(region.nhs), agreement=fresh(agreement), reason="Ended")
        agreement = fresh(agreement)
        assert agreement.current_version.state == "withdrawn"
        for n in (1, 2):
            assert api(police).get(api_url(agreement, n)).status_code == 404
            assert api(police).post(api_url(agreement, n), {"text": TEXT}, format="json").status_code == 404
            assert page(police).post(page_url(agreement, n), {"text": TEXT}).status_code == 404
            response = api(_officer(region.council)).post(api_url(agreement, n), {"text": TEXT}, format="json")
            assert (response.status_code, response.json()["code"]) == (409, "wrong_state")
        assert VersionComment.objects.count() == 1
        assert AuditEvent.objects.filter(action="agreement.commented").count() == 1

    def test_an_agency_removed_by_an_amendment(self, region):
        agreement = amended(region, agreement_factory(state="active"), NHS_REMOVED)
        nhs = _officer(region.nhs)
        # While the amendment is pending, the NHS is still a party of version 1 (in force), not of version 2.
        response = api(nhs).post(api_url(agreement, 2), {"text": TEXT, "agency": "nhs-provider"}, format="json")
        assert (response.status_code, response.json()["code"]) == (403, "not_version_party")
        assert page(nhs).post(page_url(agreement, 2), {"text": TEXT}).status_code == 403
        nothing_written()
        services.agreement_submit(actor=_officer(region.council), agreement=agreement)
        sign_all(fresh(agreement))
        for n in (1, 2):
            assert api(nhs).get(api_url(agreement, n)).status_code == 404
            assert api(nhs).post(api_url(agreement, n), {"text": TEXT}, format="json").status_code == 404
            assert page(nhs).post(page_url(agreement, n), {"text": TEXT}).status_code == 404
        nothing_written()


class VersionNumberTests:
    @pytest.mark.parametrize("number", ["0", "-1", "99999999999999999999", "9223372036854775808", "abc", "1.0",
                                        "%201", "１"])
    def test_odd_version_numbers_are_404_never_500(self, region, number):
        agreement = agreement_factory(state="active")
        nhs = member(region.nhs, GO)
        assert api(nhs).get(api_url(agreement, number)).status_code == 404
        assert api(nhs).post(api_url(agreement, number), {"text": TEXT}, format="json").status_code == 404
        assert page(nhs).get(page_url(agreement, number)).status_code == 404
        assert page(nhs).post(page_url(agreement, number), {"text": TEXT}).status_code == 404
        nothing_written()


class CsrfTests:
    def test_a_page_post_without_csrf_is_refused(self, region):
        agreement = agreement_factory(state="active")
        client = Client(enforce_csrf_checks=True)
        client.force_login(member(region.nhs, GO))
        assert client.post(page_url(agreement), {"text": TEXT}).status_code == 403
        nothing_written()

    def test_an_api_post_with_a_session_and_no_csrf_is_refused(self, region):
        agreement = agreement_factory(state="active")
        client = APIClient(enforce_csrf_checks=True)
        client.force_login(member(region.nhs, GO))
        assert client.post(api_url(agreement), {"text": TEXT}, format="json").status_code == 403
        nothing_written()


class XssTests:
    def test_markup_in_a_comment_is_escaped_on_pages_and_in_email(self, region):
        from notifications.services import notification_email_send

        agreement = agreement_factory(state="active")
        nhs = member(region.nhs, GO)
        lead = _officer(region.council)
        lead.email = "lead@example.org"
        lead.save()
        auditor = member(region.council, Role.AUDITOR)
        assert api(nhs).post(api_url(agreement), {"text": XSS}, format="json").status_code == 201
        event = AuditEvent.objects.get(action="agreement.commented")
        for user, path in ((lead, f"/agreements/{agreement.reference}/"), (lead, page_url(agreement)),
                           (lead, "/notifications/"), (lead, "/"), (auditor, "/audit/"),
                           (auditor, f"/audit/events/{event.seq}/")):
            response = page(user).get(path, follow=True)
            html = response.content.decode()
            assert response.status_code in (200, 404), path
            assert "<script>alert" not in html and "<img src=x" not in html, path
        mail.outbox.clear()
        notice = Notification.objects.get(user=lead, kind="commented")
        assert notification_email_send(notification_id=notice.pk)
        (message,) = mail.outbox
        (html, _), = message.alternatives
        assert "&lt;script&gt;" in html
        assert "<script>alert" not in html and "<img src=x" not in html


class LeakTests:
    def test_non_parties_get_no_notice_and_see_no_event(self, region):
        agreement = agreement_factory(state="active")
        fire_go, fire_auditor = member(region.fire, GO), member(region.fire, Role.AUDITOR)
        services.comment_add(actor=member(region.nhs, GO), agreement=agreement, number=1, text="secret-ish")
        assert not Notification.objects.filter(user__in=[fire_go, fire_auditor]).exists()
        events = api(fire_auditor).get("/api/v1/audit/events/?action=agreement.commented").json()
        assert events["count"] == 0
        for user in (fire_go, fire_auditor):
            for path in ("/", "/notifications/", "/audit/", f"/agreements/{agreement.reference}/"):
                assert "secret-ish" not in page(user).get(path, follow=True).content.decode(), path

    @pytest.mark.parametrize("former", ["removed", "rejected"])
    def test_a_former_or_would_be_partys_auditor_reads_the_thread_through_the_audit_log(self, region, former):
        """The thread is 404 for an agency an amendment removed, and for the parties of a rejected amendment, and
        `agreement.commented` concerns every party of any version (the contract): so the event holds the text's
        SHA-256, not the text, and their auditors cannot read comments written after they lost the thread."""
        agreement = agreement_factory(state="active")
        if former == "removed":
            agreement = amended(region, agreement, NHS_REMOVED)
            services.agreement_submit(actor=_officer(region.council), agreement=agreement)
            sign_all(fresh(agreement))
            outsider = member(region.nhs, Role.AUDITOR)
        else:
            agreement = amended(region, agreement)
            services.agreement_submit(actor=_officer(region.council), agreement=agreement)
            services.agreement_reject(actor=member(region.police, GO), agreement=fresh(agreement), reason="No")
            outsider = member(region.police, Role.AUDITOR)
        agreement = fresh(agreement)
        number = agreement.in_force_version.number
        services.comment_add(actor=_officer(region.council), agreement=agreement, number=number,
                             text="Between the parties now")
        assert api(outsider).get(api_url(agreement, number)).status_code == 404
        events = api(outsider).get("/api/v1/audit/events/?action=agreement.commented").json()["results"]
        assert "Between the parties now" not in str(events)

    def test_a_superusers_comment_is_recorded_under_their_own_name(self, region):
        """A registry administrator may comment (superusers may do everything). As for a request for changes, the
        comment is filed under the lead agency (or the party named), but the author and the event's actor are the
        administrator, so nobody can mistake it for the lead's officer's."""
        agreement = agreement_factory(state="active")
        root = UserFactory(username="root", is_superuser=True, is_staff=True)
        response = api(root).post(api_url(agreement), {"text": TEXT}, format="json")
        assert response.status_code == 201, response.content
        assert (response.json()["author"], response.json()["agency"]) == ("root", "lead-council")
        event = AuditEvent.objects.get(action="agreement.commented")
        assert event.actor == root
        response = api(root).post(api_url(agreement), {"text": TEXT, "agency": "fire"}, format="json")
        assert response.status_code == 400  # not a party: nobody speaks for it here


class MethodTests:
    def test_a_comment_cannot_be_edited_or_deleted_through_any_method(self, region):
        agreement = agreement_factory(state="active")
        nhs = member(region.nhs, GO)
        comment = services.comment_add(actor=nhs, agreement=agreement, number=1, text=TEXT)
        for method in ("put", "patch", "delete"):
            assert getattr(api(nhs), method)(api_url(agreement), {"text": "changed"}, format="json").status_code == 405
            assert getattr(api(nhs), method)(f"{api_url(agreement)}{comment.pk}/").status_code == 404
            assert getattr(page(nhs), method)(page_url(agreement)).status_code == 405
        assert VersionComment.objects.get().body == TEXT


class HalfWrittenTests:
    def test_a_failing_notice_leaves_no_comment_and_no_event(self, region, monkeypatch):
        agreement = agreement_factory(state="active")
        from agreements import notices

        def boom(**kwargs):
            raise RuntimeError("mail down")
        monkeypatch.setattr(notices, "commented", boom)
        with pytest.raises(RuntimeError):
            services.comment_add(actor=member(region.nhs, GO), agreement=agreement, number=1, text=TEXT)
        nothing_written()

    def test_oversized_text(self, region):
        agreement = agreement_factory(state="active")
        nhs = member(region.nhs, GO)
        big = "x" * 2_000_000
        assert api(nhs).post(api_url(agreement), {"text": big}, format="json").status_code in (400, 413)
        assert page(nhs).post(page_url(agreement), {"text": big}).status_code in (400, 413)
        nothing_written()


class EncodingTests:
    @pytest.mark.parametrize("text", ["\ud800", "ok \udfff then", "\u202eevil"])
    def test_odd_unicode_is_400_or_stored_never_500(self, region, text):
        agreement = agreement_factory(state="active")
        client = api(member(region.nhs, GO))
        escaped = text.encode("unicode_escape").decode()  # lone surrogates as JSON escapes
        body = '{"text": "' + escaped + '"}'
        response = client.post(api_url(agreement), body, content_type="application/json")
        assert response.status_code in (201, 400), response.content
        if response.status_code == 400:
            nothing_written()
