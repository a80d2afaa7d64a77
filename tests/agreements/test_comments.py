"""A comment thread on each version: who may comment (the lifecycle's COMMENT), the service and its audit event, the
API (`versions/{n}/comments/`) and the agreement page."""

import hashlib

import pytest
from rest_framework.test import APIClient

from agencies.choices import Role
from agreements import lifecycle, services
from agreements.lifecycle import Action, Refusal
from agreements.models import Agreement, VersionComment
from audit.models import AuditEvent
from common.limits import COMMENTS_MAX
from notifications.models import Notification
from tests.clients import api, page
from tests.factories import agreement_factory, fresh, member, sign_all

pytestmark = pytest.mark.django_db
GO = Role.GOVERNANCE_OFFICER
TEXT = "Can the council say who reads the discharge summaries?"


def url(agreement, number: int = 1) -> str:
    return f"/api/v1/agreements/{agreement.reference}/versions/{number}/comments/"


def amended(region, agreement) -> Agreement:
    """An amendment (version 2, a draft) of an active agreement, adding the police as a party."""
    drafter = member(region.council, GO)
    agreement = services.agreement_amend(actor=drafter, agreement=agreement)
    police_flow = {"dataset": "domestic-incidents", "provider": "police", "recipient": "lead-council",
                   "legal_bases": ["ukgdpr-6-1-e", "ukgdpr-10", "dpa-2018-sch1-para18"]}
    return services.agreement_update(actor=drafter, agreement=agreement,
                                     flows=[*region.terms()["flows"], police_flow])


class CommentServiceTests:
    def test_a_party_comments_and_the_event_concerns_the_parties(self, region):
        agreement = agreement_factory(state="submitted")
        nhs = member(region.nhs, GO)
        comment = services.comment_add(actor=nhs, agreement=agreement, number=1, text=f"  {TEXT}\n")
        assert (comment.kind, comment.body, comment.agency.code, comment.author) == (
            "comment", TEXT, "nhs-provider", nhs)
        event = AuditEvent.objects.get(action="agreement.commented")
        assert (event.object_ref, event.agency_code, event.actor) == (agreement.reference, "nhs-provider", nhs)
        assert event.detail == {"reference": agreement.reference, "version": 1, "party": "nhs-provider",
                                "comment": comment.pk, "text_sha256": hashlib.sha256(TEXT.encode()).hexdigest(),
                                "length": len(TEXT)}
        assert event.agencies == ["lead-council", "nhs-provider"]
        # Commenting changes nothing else: the version still waits for signatures.
        assert fresh(agreement).current_version.state == "submitted"
        # The other parties' officers are told, once each; the author is not.
        notices = Notification.objects.filter(kind="commented")
        assert {n.user.username for n in notices} == {"lead-council-governance_officer"}
        assert TEXT in notices.get().body and notices.get().event_id == event.seq

    def test_the_lead_comments_on_a_draft_and_on_the_version_in_force_while_amending(self, region):
        agreement = amended(region, agreement_factory(state="active"))
        lead = member(region.council, GO)
        services.comment_add(actor=lead, agreement=agreement, number=2, text="Police join in this version.")
        services.comment_add(actor=lead, agreement=agreement, number=1, text="Version 1 stays in force meanwhile.")
        police = member(region.police, GO)
        services.comment_add(actor=police, agreement=fresh(agreement), number=2, text="Agreed.")
        assert list(VersionComment.objects.order_by("id").values_list("version__number", "agency__code")) == [
            (2, "lead-council"), (1, "lead-council"), (2, "police")]
        # The police are a party only of the amendment: version 1 is not theirs to comment on.
        with pytest.raises(lifecycle.LifecycleForbidden) as refused:
            services.comment_add(actor=police, agreement=fresh(agreement), number=1, text="And this?")
        assert refused.value.code == Refusal.NOT_VERSION_PARTY

    def test_empty_too_long_or_nul_text_is_refused_and_writes_nothing(self, region):
        agreement = agreement_factory(state="submitted")
        nhs = member(region.nhs, GO)
        for text, message in (("   ", "Write your comment"), ("x" * (COMMENTS_MAX + 1), "5,000 characters"),
                              ("a\x00b", "NUL")):
            with pytest.raises(Exception) as refused:
                services.comment_add(actor=nhs, agreement=agreement, number=1, text=text)
            assert message in str(refused.value)
        assert not VersionComment.objects.exists()
        assert not AuditEvent.objects.filter(action="agreement.commented").exists()

    def test_not_a_party_officer_is_forbidden_and_an_ended_agreement_or_past_version_is_read_only(self, region):
        agreement = agreement_factory(state="active")
        for user in (member(region.fire, GO), member(region.nhs, Role.FRONTLINE)):
            answer = lifecycle.verdict(user=user, agreement=agreement, action=Action.COMMENT)
            assert (answer.allowed, answer.http_status, answer.code) == (False, 403, Refusal.NOT_VERSION_PARTY)
        nhs = member(region.nhs, GO)
        # A new version in force makes version 1 a past version: its thread is kept, read-only.
        agreement = amended(region, agreement)
        services.agreement_submit(actor=member(region.council, GO), agreement=agreement)
        sign_all(fresh(agreement))
        with pytest.raises(lifecycle.LifecycleConflict) as refused:
            services.comment_add(actor=nhs, agreement=fresh(agreement), number=1, text=TEXT)
        assert refused.value.code == Refusal.WRONG_STATE
        assert "Version 1 of" in str(refused.value) and "superseded" in str(refused.value)
        services.comment_add(actor=nhs, agreement=fresh(agreement), number=2, text=TEXT)
        services.agreement_revoke(actor=nhs, agreement=fresh(agreement), reason="No longer needed")
        with pytest.raises(lifecycle.LifecycleConflict) as refused:
            services.comment_add(actor=nhs, agreement=fresh(agreement), number=2, text=TEXT)
        assert f"{agreement.reference} is revoked" in str(refused.value)


class CommentApiTests:
    def test_a_party_posts_201_and_every_party_reads_the_thread(self, region, django_assert_max_num_queries):
        agreement = agreement_factory(state="submitted")
        services.agreement_request_changes(actor=member(region.nhs, GO), agreement=agreement,
                                           comments="Name the retention period.")
        response = api(member(region.council, GO)).post(url(agreement), {"text": TEXT}, format="json")
        assert response.status_code == 201, response.content
        body = response.json()
        assert {k: body[k] for k in ("version", "kind", "agency", "agency_name", "text")} == {
            "version": 1, "kind": "comment", "agency": "lead-council", "agency_name": "Lead Council", "text": TEXT}
        frontline = api(member(region.nhs, Role.FRONTLINE))
        with django_assert_max_num_queries(12):
            listed = frontline.get(url(agreement))
        assert listed.status_code == 200
        assert [(c["kind"], c["agency"], c["text"]) for c in listed.json()["results"]] == [
            ("changes_requested", "nhs-provider", "Name the retention period."),
            ("comment", "lead-council", TEXT)]
        assert listed.json()["count"] == 2

    def test_anonymous_401_outsider_404_wrong_role_403_wrong_state_409(self, region):
        agreement = agreement_factory(state="active")
        assert APIClient().post(url(agreement), {"text": TEXT}, format="json").status_code == 401
        outsider = api(member(region.fire, GO))
        assert outsider.get(url(agreement)).status_code == 404  # only the public summary: no thread
        assert outsider.post(url(agreement), {"text": TEXT}, format="json").status_code == 404
        assert api(member(region.nhs, GO)).get(url(agreement, 9)).status_code == 404
        response = api(member(region.nhs, Role.FRONTLINE)).post(url(agreement), {"text": TEXT}, format="json")
        assert response.status_code == 403
        assert response.json()["code"] == "not_version_party"
        assert set(response.json()) == {"detail", "code"}
        nhs = member(region.nhs, GO)
        services.agreement_revoke(actor=nhs, agreement=agreement, reason="Ended")
        response = api(nhs).post(url(agreement), {"text": TEXT}, format="json")
        assert (response.status_code, response.json()["code"]) == (409, "wrong_state")
        assert "its comments are kept" in response.json()["detail"]
        assert not VersionComment.objects.exists()

    def test_empty_and_too_long_text_give_400(self, region):
        agreement = agreement_factory(state="draft")
        client = api(member(region.nhs, GO))
        for body, message in (({"text": "  "}, "Write your comment"), ({}, "Write your comment"),
                              ({"text": "x" * (COMMENTS_MAX + 1)}, "Keep the comment to 5,000 characters")):
            response = client.post(url(agreement), body, format="json")
            assert response.status_code == 400
            assert message in response.json()["text"][0]
        assert not VersionComment.objects.exists()


class CommentPageTests:
    def test_the_page_shows_each_versions_thread_and_the_form_to_those_allowed(self, region):
        agreement = amended(region, agreement_factory(state="active"))
        services.comment_add(actor=member(region.nhs, GO), agreement=agreement, number=1, text=TEXT)
        html = page(member(region.council, GO)).get(f"/agreements/{agreement.reference}/").content.decode()
        assert 'id="comments-2"' in html and 'id="comments-1"' in html
        assert "Comment</strong> by" in html and "for NHS Provider" in html and TEXT in html
        assert "Add a comment to version 2" in html and "Add a comment to version 1" in html
        # The police, a party only of the amendment, read version 1's thread but may comment on version 2 only.
        html = page(member(region.police, GO)).get(f"/agreements/{agreement.reference}/").content.decode()
        assert TEXT in html and "Add a comment to version 2" in html
        assert "Add a comment to version 1" not in html
        assert "Only governance officers of the parties to version 1" in html
        # Frontline staff of a party read the threads, and are told who may comment.
        html = page(member(region.nhs, Role.FRONTLINE)).get(f"/agreements/{agreement.reference}/").content.decode()
        assert TEXT in html and "Add a comment" not in html
        assert "Only governance officers of the parties to version 2" in html

    def test_a_past_versions_thread_stays_on_the_page_read_only(self, region):
        agreement = agreement_factory(state="active")
        nhs = member(region.nhs, GO)
        services.comment_add(actor=nhs, agreement=agreement, number=1, text=TEXT)
        agreement = amended(region, agreement)
        services.agreement_submit(actor=member(region.council, GO), agreement=agreement)
        sign_all(fresh(agreement))
        html = page(nhs).get(f"/agreements/{agreement.reference}/").content.decode()
        past = html.split('id="comments-1"', 1)[1]  # the last thread: the oldest version
        assert "Version 1 (superseded by a later version)" in past and TEXT in past
        assert "comments on a past version are kept, but no more can be added" in past
        assert "Add a comment to version 2" in html and "Add a comment to version 1" not in html

    def test_a_comment_posted_from_the_page_lands_in_the_thread(self, region):
        agreement = agreement_factory(state="submitted")
        client = page(member(region.nhs, GO))
        response = client.post(f"/agreements/{agreement.reference}/versions/1/comments/",
                               {"text": TEXT, "agency": "nhs-provider"})
        assert response.status_code == 302
        assert response["Location"] == f"/agreements/{agreement.reference}/#comments-1"
        html = client.get(response["Location"]).content.decode()
        assert TEXT in html and "Your comment on version 1" in html
        assert AuditEvent.objects.filter(action="agreement.commented").count() == 1

    def test_bad_input_gets_the_error_summary_and_loses_nothing(self, region):
        agreement = agreement_factory(state="submitted")
        client = page(member(region.nhs, GO))
        path = f"/agreements/{agreement.reference}/versions/1/comments/"
        response = client.post(path, {"text": "   "})
        assert response.status_code == 400
        html = response.content.decode()
        assert "govuk-error-summary" in html and 'href="#comment-text-1"' in html
        assert "Write your comment" in html
        long_text = "Keep this text. " * 400
        response = client.post(path, {"text": long_text})
        assert response.status_code == 400
        html = response.content.decode()
        assert "Keep the comment to 5,000 characters or fewer" in html
        assert long_text.strip() in html  # what was typed is shown again
        response = client.post(path, {"text": "a\x00b"})
        assert response.status_code == 400
        assert not VersionComment.objects.exists()

    def test_refusals_are_pages_not_errors(self, region):
        agreement = agreement_factory(state="active")
        path = f"/agreements/{agreement.reference}/versions/1/comments/"
        frontline = page(member(region.nhs, Role.FRONTLINE))
        assert frontline.get(path).status_code == 200  # the thread, read-only
        response = frontline.post(path, {"text": TEXT})
        assert response.status_code == 403
        assert "Only governance officers of the parties to version 1" in response.content.decode()
        nhs = member(region.nhs, GO)
        services.agreement_revoke(actor=nhs, agreement=agreement, reason="Ended")
        response = page(nhs).post(path, {"text": TEXT})
        assert response.status_code == 409
        assert page(member(region.fire, GO)).get(path).status_code == 404
        assert page(nhs).get(f"/agreements/{agreement.reference}/versions/7/comments/").status_code == 404
        assert not VersionComment.objects.exists()
