"""Reviewing an agreement without signing it again: each party of the version in force confirms once per review, and
once all have, the review date moves, the check stops warning and the reminders stop."""

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from agencies.choices import Role
from agreements import services
from agreements.decisions import decide
from agreements.lifecycle import Action, verdict
from agreements.models import ReviewConfirmation
from agreements.reminders import review_reminders_due
from audit.models import AuditEvent
from notifications.models import Notification
from tests.clients import api
from tests.factories import AgencyFactory, agreement_factory, fresh, member

pytestmark = pytest.mark.django_db
GO = Role.GOVERNANCE_OFFICER
TODAY = timezone.localdate()


def overdue_agreement():
    """Active, its review 10 days overdue; officers: the drafter and a second for the lead, one for the NHS."""
    return agreement_factory(state="active", start_date=TODAY - dt.timedelta(days=400),
                             end_date=TODAY + dt.timedelta(days=700), review_date=TODAY - dt.timedelta(days=10))


def officers(agreement):
    from django.contrib.auth import get_user_model

    users = get_user_model().objects
    return (users.get(username="lead-council-governance_officer"),
            users.get(username="nhs-provider-governance_officer"))


def review(user, agreement, **body):
    return api(user).post(f"/api/v1/agreements/{agreement.reference}/review/", body, format="json")


class ReviewServiceTests:
    def test_every_party_confirms_and_the_review_date_moves_to_the_earliest_proposed(self):
        agreement = overdue_agreement()
        lead, nhs = officers(agreement)
        old_review = agreement.in_force_version.review_date
        later, sooner = TODAY + dt.timedelta(days=365), TODAY + dt.timedelta(days=300)
        services.agreement_review(actor=lead, agreement=agreement, next_review_date=later, notes="Still needed.")
        assert fresh(agreement).in_force_version.review_date == old_review  # waits for the other party
        first = AuditEvent.objects.get(action="agreement.review_confirmed")
        assert first.detail["party"] == "lead-council" and first.detail["notes"] == "Still needed."
        assert first.agency_code == "lead-council"
        assert not AuditEvent.objects.filter(action="agreement.reviewed").exists()

        services.agreement_review(actor=nhs, agreement=fresh(agreement), next_review_date=sooner)
        agreement = fresh(agreement)
        assert agreement.in_force_version.review_date == sooner
        assert agreement.status == "active" and agreement.in_force_version.number == 1  # nothing signed again
        reviewed = AuditEvent.objects.get(action="agreement.reviewed")
        assert reviewed.detail["previous_review_date"] == old_review.isoformat()
        assert reviewed.detail["review_date"] == sooner.isoformat() and reviewed.detail["earliest_taken"] is True
        assert {"lead-council", "nhs-provider"} <= set(reviewed.agencies)
        history = ReviewConfirmation.objects.filter(review_date=old_review)
        assert history.count() == 2 and all(c.completed_at for c in history)  # kept as the review's history
        notice = Notification.objects.get(kind="review_confirmed", user__username="lead-council-second-officer")
        assert "earliest" in notice.body and f"{sooner.day} {sooner:%B %Y}" in notice.body
        assert Notification.objects.filter(kind="review_confirmed").count() == 2  # not the officer who confirmed last

    def test_the_check_stops_warning_and_reminders_stop_once_reviewed(self, settings):
        agreement = agreement_factory(state="active", start_date=TODAY - dt.timedelta(days=400),
                                      end_date=TODAY + dt.timedelta(days=700), review_date=TODAY - dt.timedelta(2))
        ask = lambda: decide(provider="nhs-provider", recipient="lead-council", dataset="discharge-summaries")  # noqa: E731
        assert any("overdue" in w for w in ask().warnings)
        assert (agreement.in_force_version_id, 0) in review_reminders_due(today=TODAY)
        lead, nhs = officers(agreement)
        for officer in (lead, nhs):
            services.agreement_review(actor=officer, agreement=fresh(agreement),
                                      next_review_date=TODAY + dt.timedelta(days=365))
        assert not any("overdue" in w for w in ask().warnings)
        assert review_reminders_due(today=TODAY) == []
        # A year on, the next review's reminders come round again (the claims are per review date).
        assert review_reminders_due(today=TODAY + dt.timedelta(days=335)) == [(agreement.in_force_version_id, 30)]

    def test_after_a_review_the_next_review_date_gets_its_own_reminders(self):
        from agreements.models import ReviewReminder
        from agreements.reminders import review_reminder_send

        agreement = agreement_factory(state="active", start_date=TODAY - dt.timedelta(days=400),
                                      end_date=TODAY + dt.timedelta(days=700), review_date=TODAY)
        version_id = agreement.in_force_version_id
        assert review_reminder_send(version_id=version_id, days_before=0, today=TODAY)
        next_date = TODAY + dt.timedelta(days=365)
        for officer in officers(agreement):
            services.agreement_review(actor=officer, agreement=fresh(agreement), next_review_date=next_date)
        # On the new review date, its own "due today" reminder goes: the old one's claim does not block it.
        assert review_reminder_send(version_id=version_id, days_before=0, today=next_date)
        assert sorted(ReviewReminder.objects.values_list("review_date", flat=True)) == [TODAY, next_date]

    def test_a_suspended_agreement_can_be_reviewed(self):
        agreement = overdue_agreement()
        lead, nhs = officers(agreement)
        services.agreement_suspend(actor=nhs, agreement=agreement, reason="Checking retention.")
        services.agreement_review(actor=lead, agreement=fresh(agreement), next_review_date=TODAY + dt.timedelta(1))
        assert ReviewConfirmation.objects.count() == 1


class ReviewApiTests:
    def test_a_party_confirms_through_the_api(self):
        agreement = overdue_agreement()
        lead, _nhs = officers(agreement)
        response = review(lead, agreement, next_review_date=str(TODAY + dt.timedelta(days=200)), notes="Checked.")
        assert response.status_code == 200 and response.json()["reference"] == agreement.reference
        assert ReviewConfirmation.objects.get().notes == "Checked."

    def test_a_second_confirmation_by_the_same_agency_is_409(self):
        agreement = overdue_agreement()
        lead, _nhs = officers(agreement)
        second = member(agreement.lead_agency, GO, username="lead-council-second-officer")
        assert review(lead, agreement, next_review_date=str(TODAY + dt.timedelta(days=200))).status_code == 200
        response = review(second, agreement, next_review_date=str(TODAY + dt.timedelta(days=100)))
        assert (response.status_code, response.json()["code"]) == (409, "already_reviewed")
        response = review(lead, agreement, agency="lead-council", next_review_date=str(TODAY + dt.timedelta(9)))
        assert response.status_code == 409
        assert ReviewConfirmation.objects.count() == 1
        assert AuditEvent.objects.filter(action="agreement.review_confirmed").count() == 1

    def test_who_may_review_403_and_404(self):
        agreement = overdue_agreement()
        frontline = member(agreement.lead_agency, Role.FRONTLINE)
        body = {"next_review_date": str(TODAY + dt.timedelta(days=200))}
        response = review(frontline, agreement, **body)
        assert (response.status_code, response.json()["code"]) == (403, "not_in_force_party")
        outsider = member(AgencyFactory(code="fire"), GO)
        assert review(outsider, agreement, **body).status_code in (403, 404)
        assert APIClient().post(f"/api/v1/agreements/{agreement.reference}/review/", body,
                                format="json").status_code == 401
        assert not ReviewConfirmation.objects.exists()

    def test_an_agreement_not_in_force_is_409(self):
        draft = agreement_factory()
        lead = draft.created_by
        response = review(lead, draft, next_review_date=str(TODAY + dt.timedelta(days=200)))
        assert (response.status_code, response.json()["code"]) == (409, "wrong_state")
        agreement = overdue_agreement()
        services.agreement_revoke(actor=officers(agreement)[0], agreement=fresh(agreement), reason="Ended.")
        response = review(officers(agreement)[1], agreement, next_review_date=str(TODAY + dt.timedelta(9)))
        assert (response.status_code, response.json()["code"]) == (409, "wrong_state")

    @pytest.mark.parametrize(("days", "message"), [(0, "must be in the future"), (-3, "must be in the future"),
                                                   (701, "on or before the agreement ends")])
    def test_the_next_review_date_must_be_in_the_future_and_before_the_end(self, days, message):
        agreement = overdue_agreement()
        response = review(officers(agreement)[0], agreement, next_review_date=str(TODAY + dt.timedelta(days)))
        assert response.status_code == 400 and message in response.json()["next_review_date"][0]
        assert not ReviewConfirmation.objects.exists()

    def test_bad_input_is_400_not_500(self):
        agreement = overdue_agreement()
        lead = officers(agreement)[0]
        assert review(lead, agreement).status_code == 400
        assert review(lead, agreement, next_review_date="next year").status_code == 400
        response = review(lead, agreement, next_review_date=str(TODAY + dt.timedelta(9)), notes="x" * 2001)
        assert response.status_code == 400 and "notes" in response.json()
        response = review(lead, agreement, next_review_date=str(TODAY + dt.timedelta(9)), notes="a\x00b")
        assert response.status_code == 400
        response = review(lead, agreement, next_review_date=str(TODAY + dt.timedelta(9)), agency="fire")
        assert response.status_code == 400
        assert not ReviewConfirmation.objects.exists()


class ReviewLifecycleTests:
    def test_the_verdict_allows_each_party_once(self):
        agreement = overdue_agreement()
        lead, nhs = officers(agreement)
        assert verdict(user=lead, agreement=agreement, action=Action.REVIEW).allowed
        services.agreement_review(actor=lead, agreement=agreement, next_review_date=TODAY + dt.timedelta(9))
        answer = verdict(user=lead, agreement=fresh(agreement), action=Action.REVIEW)
        assert not answer.allowed and answer.http_status == 409 and "already confirmed" in answer.message
        assert verdict(user=nhs, agreement=fresh(agreement), action=Action.REVIEW).allowed


class ReviewPageTests:
    def test_the_button_leads_to_the_form_and_the_form_confirms(self):
        agreement = overdue_agreement()
        lead, _nhs = officers(agreement)
        client = Client()
        client.force_login(lead)
        html = client.get(f"/agreements/{agreement.reference}/").content.decode()
        assert f'/agreements/{agreement.reference}/review/' in html and "Confirm the review" in html
        page = client.get(f"/agreements/{agreement.reference}/review/")
        assert page.status_code == 200
        html = page.content.decode()
        assert 'name="next_review_date_day"' in html and 'data-module="govuk-character-count"' in html
        next_date = TODAY + dt.timedelta(days=180)
        response = client.post(f"/agreements/{agreement.reference}/review/", {
            "next_review_date_day": next_date.day, "next_review_date_month": next_date.month,
            "next_review_date_year": next_date.year, "notes": "No changes."})
        assert response.status_code == 302
        assert ReviewConfirmation.objects.get().next_review_date == next_date

    def test_a_past_date_is_shown_beside_the_field(self):
        agreement = overdue_agreement()
        client = Client()
        client.force_login(officers(agreement)[0])
        response = client.post(f"/agreements/{agreement.reference}/review/", {
            "next_review_date_day": TODAY.day, "next_review_date_month": TODAY.month,
            "next_review_date_year": TODAY.year})
        assert response.status_code == 400
        html = response.content.decode()
        assert "There is a problem" in html and "must be in the future" in html
        assert 'href="#next_review_date_day"' in html
        assert not ReviewConfirmation.objects.exists()

    def test_a_non_party_officer_is_refused(self):
        agreement = overdue_agreement()
        frontline = member(agreement.lead_agency, Role.FRONTLINE)
        client = Client()
        client.force_login(frontline)
        assert client.get(f"/agreements/{agreement.reference}/review/").status_code == 403

    def test_the_agreement_page_tells_the_story_of_the_review(self):
        agreement = overdue_agreement()
        lead, nhs = officers(agreement)
        next_date = TODAY + dt.timedelta(days=90)
        services.agreement_review(actor=lead, agreement=agreement, next_review_date=next_date, notes="All checked.")
        client = Client()
        client.force_login(lead)
        html = client.get(f"/agreements/{agreement.reference}/").content.decode()
        assert "Confirmed the review of version 1 for Lead Council, with no changes" in html and "All checked." in html
        assert "Your agency has already confirmed the review" in html  # why there is no button now
        services.agreement_review(actor=nhs, agreement=fresh(agreement), next_review_date=next_date)
        html = client.get(f"/agreements/{agreement.reference}/").content.decode()
        assert f"Review done: every party confirmed version 1; next review {next_date.day} {next_date:%B %Y}" in html
