"""Notices and reviews in a real Chromium: the other party's officer sees a submission in the header and the inbox, and
every party confirms a review without signing again, each party's officers seeing it in their inbox. axe runs on every
page visited."""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from agencies.choices import Role
from agreements.models import Agreement, ReviewConfirmation
from audit.models import AuditEvent
from tests.browser.conftest import sign_in, sign_out
from tests.factories import AgencyFactory, agreement_factory, member

pytestmark = pytest.mark.browser
GO = Role.GOVERNANCE_OFFICER
TODAY = timezone.localdate()


def _inbox_shows(page, live_server, check_a11y, subject: str, count: int):
    link = page.get_by_role("link", name=f"Notifications {count} unread")
    expect(link).to_be_visible()
    link.click()
    expect(page.get_by_role("heading", name="Notifications", level=1)).to_be_visible()
    expect(page.get_by_role("heading", name=f"Unread {subject}", level=2)).to_be_visible()
    check_a11y(page)


class SubmissionNoticeJourneyTests:
    def test_the_lead_submits_and_the_other_partys_officer_sees_it_in_the_header_and_the_inbox(
            self, page, live_server, check_a11y):
        agreement = agreement_factory(title="Discharge to assess")
        member(AgencyFactory(code="nhs-provider"), GO, username="nhs-officer")
        sign_in(page, live_server, "lead-council-governance_officer")
        page.goto(f"{live_server.url}/agreements/{agreement.reference}/")
        page.locator("#actions").get_by_role("button", name="Send for signature").click()
        page.get_by_role("button", name="Send for signature").click()
        expect(page.get_by_role("alert", name="Success")).to_be_visible()
        expect(page.get_by_role("link", name="Notifications", exact=True)).to_be_visible()  # the sender: nothing new
        sign_out(page)

        sign_in(page, live_server, "nhs-officer")
        subject = f"Please sign {agreement.reference}: Discharge to assess"
        waiting = page.get_by_role("list", name="Waiting for you")
        expect(waiting.get_by_role("link", name=f"Sign for NHS Provider, version 1 ({agreement.reference})")) \
            .to_be_visible()
        check_a11y(page)
        _inbox_shows(page, live_server, check_a11y, subject, 1)
        page.get_by_role("button", name=f"Open {agreement.reference} and mark this notification as read").click()
        expect(page.get_by_role("heading", name="Discharge to assess", level=1)).to_be_visible()
        expect(page.get_by_role("link", name="Notifications", exact=True)).to_be_visible()  # read: no count


class ReviewJourneyTests:
    def test_every_party_confirms_the_review_without_signing_again(self, page, live_server, check_a11y):
        agreement = agreement_factory(state="active", title="Discharge to assess",
                                      start_date=TODAY - dt.timedelta(days=400),
                                      end_date=TODAY + dt.timedelta(days=700),
                                      review_date=TODAY - dt.timedelta(days=5))
        member(agreement.in_force_version.parties.get(agency__code="nhs-provider").agency, GO,
               username="nhs-second-officer")
        next_review = TODAY + dt.timedelta(days=365)

        for username, party, outcome in (
            ("lead-council-governance_officer", "Lead Council", "It waits for the other parties to confirm."),
            ("nhs-provider-governance_officer", "NHS Provider", "Every party has confirmed the review"),
        ):
            sign_in(page, live_server, username)
            page.get_by_role("list", name="Waiting for you").get_by_role(
                "link", name=f"Confirm the review for {party}").click()
            expect(page.get_by_role("heading", name=f"Confirm the review of {agreement.reference}", level=1)) \
                .to_be_visible()
            check_a11y(page)
            page.get_by_label("Day").fill(str(next_review.day))
            page.get_by_label("Month").fill(str(next_review.month))
            page.get_by_label("Year").fill(str(next_review.year))
            page.get_by_label("Notes for the other parties (optional)").fill(f"{party}: still needed, no changes.")
            page.get_by_role("button", name="Confirm the review").click()
            expect(page.get_by_role("alert", name="Success")).to_contain_text(outcome)
            check_a11y(page)
            sign_out(page)

        agreement = Agreement.objects.get(pk=agreement.pk)
        assert agreement.in_force_version.review_date == next_review
        assert agreement.in_force_version.number == 1 and agreement.status == "active"  # nobody signed again
        assert ReviewConfirmation.objects.count() == 2
        assert AuditEvent.objects.filter(action="agreement.reviewed").count() == 1

        subject = f"Review confirmed: {agreement.reference} Discharge to assess"
        for username in ("lead-council-governance_officer", "nhs-second-officer"):
            sign_in(page, live_server, username)
            page.locator("#notifications-link").click()
            expect(page.get_by_role("heading", name=f"Unread {subject}", level=2)).to_be_visible()
            check_a11y(page)
            sign_out(page)
