"""Agreement pages in a real Chromium, axe on every page: find and suspend an agreement; sign, choosing the party."""

import re

import pytest
from playwright.sync_api import expect

from agencies.choices import AgencyKind, Role
from agreements.choices import AgreementStatus
from agreements.models import Agreement
from audit.choices import AuditAction
from audit.models import AuditEvent
from tests.browser.conftest import sign_in
from tests.factories import AgencyFactory, DatasetFactory, agreement_factory, member

pytestmark = pytest.mark.browser


@pytest.fixture
def register():
    """Two agreements in force: one the NHS trust provides to the council, one the police provide."""
    council = AgencyFactory(code="lead-council", name="Lead Council")
    nhs = AgencyFactory(code="nhs-provider", name="NHS Provider", kind=AgencyKind.NHS_TRUST)
    police = AgencyFactory(code="police", name="Greater Manchester Police", kind=AgencyKind.POLICE)
    discharge = agreement_factory(state="active", title="Hospital discharge")
    incidents = DatasetFactory(code="domestic-incidents", owner=police, criminal_offence=True,
                               data_items=["incident date", "address"])
    agreement_factory(state="active", title="Domestic abuse referrals", flows=[
        {"dataset": incidents, "provider": police, "recipient": council,
         "legal_bases": ["ukgdpr-6-1-e", "ukgdpr-10", "dpa-2018-sch1-para18"]}])
    return {"discharge": discharge, "officer": member(nhs, Role.GOVERNANCE_OFFICER, username="nhs-officer")}


class SuspendJourneyTests:
    def test_an_officer_filters_the_register_and_suspends_an_agreement(self, page, live_server, check_a11y,
                                                                         register):
        reference = register["discharge"].reference
        sign_in(page, live_server, "nhs-officer", check=check_a11y)
        page.get_by_role("link", name="Register", exact=True).click()
        expect(page.get_by_role("heading", name="Register of agreements")).to_be_visible()
        expect(page.get_by_role("link", name="Domestic abuse referrals")).to_be_visible()
        check_a11y(page)

        page.get_by_label("Agency").fill("NHS Provider")
        page.get_by_label("Status").select_option(label="In force today")
        page.get_by_role("button", name="Apply filters").click()
        expect(page.get_by_role("heading", name="1 agreement found")).to_be_visible()
        expect(page.get_by_role("link", name="Domestic abuse referrals")).to_have_count(0)
        check_a11y(page)

        page.get_by_role("link", name="Hospital discharge").click()
        expect(page.get_by_role("heading", name="Hospital discharge", level=1)).to_be_visible()
        expect(page.get_by_role("heading", name="Parties and signatures")).to_be_visible()
        expect(page.get_by_role("link", name=re.compile("Printable version"))).to_be_visible()
        check_a11y(page)

        page.get_by_role("button", name="Suspend").click()
        expect(page.get_by_role("heading", name=f"Suspend {reference}")).to_be_visible()
        check_a11y(page)
        # Without a reason: the error summary links to the field, and nothing changes.
        page.get_by_role("button", name="Suspend the agreement").click()
        summary = page.get_by_role("alert")
        expect(summary).to_contain_text("Give a reason")
        check_a11y(page)
        summary.get_by_role("link", name=re.compile("Give a reason")).click()
        reason = page.get_by_label("Why are you suspending it?")
        expect(reason).to_be_focused()
        assert Agreement.objects.get(reference=reference).status == AgreementStatus.ACTIVE

        reason.fill("The provider reported a data breach")
        page.get_by_role("button", name="Suspend the agreement").click()
        banner = page.locator(".govuk-notification-banner--success")
        expect(banner).to_contain_text(f"{reference} is suspended. Checks will say no until it is reinstated.")
        expect(page.locator(".govuk-tag", has_text="Suspended")).to_be_visible()
        history = page.locator("#timeline li").first
        expect(history).to_contain_text("Suspended: sharing stopped")
        expect(history).to_contain_text("Reason: The provider reported a data breach")
        expect(page.get_by_role("button", name="Reinstate")).to_be_visible()
        check_a11y(page)
        event = AuditEvent.objects.get(action=AuditAction.AGREEMENT_SUSPENDED)
        assert event.actor_name == "nhs-officer" and event.object_ref == reference


class SignJourneyTests:
    def test_an_officer_of_two_parties_chooses_which_to_sign_for(self, page, live_server, check_a11y):
        agreement = agreement_factory(state="submitted", title="Hospital discharge")
        nhs = AgencyFactory(code="nhs-provider")
        council = AgencyFactory(code="lead-council")
        member(nhs, Role.GOVERNANCE_OFFICER, username="both")
        member(council, Role.GOVERNANCE_OFFICER, username="both")
        sign_in(page, live_server, "both")
        page.goto(f"{live_server.url}/agreements/{agreement.reference}/")
        page.get_by_role("button", name="Sign", exact=True).click()
        expect(page.get_by_role("heading", name="Sign version 1")).to_be_visible()
        check_a11y(page)
        page.get_by_role("button", name="Sign this version").click()
        summary = page.get_by_role("alert")
        expect(summary).to_contain_text("Say which agency you are signing for")
        check_a11y(page)
        expect(summary).to_contain_text("Confirm that you are authorised to sign this agreement")
        summary.get_by_role("link", name="Say which agency you are signing for").click()
        expect(page.get_by_label("Lead Council")).to_be_focused()
        page.get_by_label("NHS Provider").check()
        page.get_by_label("I am authorised to sign this agreement for the agency I have chosen above").check()
        page.get_by_role("button", name="Sign this version").click()
        expect(page.locator(".govuk-notification-banner--success")).to_contain_text(
            f"You signed version 1 of {agreement.reference}. It now waits for the other parties.")
        expect(page.locator("#signatures")).to_contain_text("Signed for NHS Provider by both, on ")
        check_a11y(page)
        assert AuditEvent.objects.get(action=AuditAction.AGREEMENT_APPROVED).detail["party"] == "nhs-provider"
