"""Journey 1: governance officers draft an agreement in the browser and sign it for each party, and it goes live.

The council's officer drafts and sends it for signature; as its last editor she may not sign for the lead
agency, so a second council officer signs for the council and the fire service's officer signs for the fire
service. Only then is it active, and a check of that sharing says yes. axe runs on every page visited.
"""

import pytest
from playwright.sync_api import expect

from agencies.choices import Role
from agreements.choices import AgreementStatus
from agreements.decisions import decide
from audit.models import AuditEvent
from tests.browser.conftest import sign_in, sign_out
from tests.browser.safe_and_well import council_and_fire_service, fill_terms, open_agreement, save_draft
from tests.factories import member

pytestmark = pytest.mark.browser


@pytest.fixture
def partners():
    council, fire, _ = council_and_fire_service(data_items=["name", "address", "smoker"])
    member(council, Role.GOVERNANCE_OFFICER, username="officer")
    member(council, Role.GOVERNANCE_OFFICER, username="officer2")
    member(fire, Role.GOVERNANCE_OFFICER, username="fire-officer")


def _sign(page, check_a11y):
    page.locator("#actions").get_by_role("button", name="Sign", exact=True).click()
    expect(page.get_by_role("heading", name="Sign version 1", level=1)).to_be_visible()
    check_a11y(page)
    page.get_by_label("I am authorised to sign this agreement for").check()
    page.get_by_role("button", name="Sign this version").click()
    expect(page.get_by_role("alert", name="Success")).to_be_visible()
    check_a11y(page)


class SigningJourneyTests:
    def test_two_officers_draft_and_sign_and_the_agreement_goes_live(self, page, live_server, check_a11y,
                                                                      partners):
        # The council's officer drafts it.
        sign_in(page, live_server, "officer", check=check_a11y)
        page.get_by_role("link", name="Draft a new agreement").click()
        check_a11y(page)
        fill_terms(page)
        flow = page.get_by_role("group", name="Flow 1", exact=True)
        flow.get_by_label("Dataset", exact=True).fill("smoking-risk")
        flow.get_by_label("Provider", exact=True).fill("mcc")
        flow.get_by_label("Recipient", exact=True).fill("gm-fire")
        agreement = save_draft(page, live_server, flow)
        reference = agreement.reference
        check_a11y(page)

        # ... and sends it for signature.
        page.locator("#actions").get_by_role("button", name="Send for signature").click()
        check_a11y(page)
        page.get_by_role("button", name="Send for signature").click()
        expect(page.get_by_role("alert", name="Success")).to_contain_text("sent to every party for signature")
        signatures = page.locator("#signatures")
        expect(signatures).to_contain_text("Not signed yet")
        # She edited this version last, so the council's signature must come from a second officer.
        expect(page.locator("#actions").get_by_role("button", name="Sign", exact=True)).to_have_count(0)
        expect(page.locator("#why-no-action")).to_contain_text("You were the last person to edit version 1, so another "
                                                            "governance officer of Manchester City Council must sign")
        sign_out(page)

        # A second council officer signs for the council: not live yet, the fire service has still to sign.
        sign_in(page, live_server, "officer2")
        open_agreement(page, live_server, reference)
        _sign(page, check_a11y)
        expect(page.locator("#signatures").get_by_role("row", name="Manchester City Council (lead)")).to_contain_text(
            "Signed for Manchester City Council by officer2, on ")
        agreement.refresh_from_db()
        assert agreement.status == AgreementStatus.SUBMITTED
        sign_out(page)

        # The fire service's officer signs for the fire service: every party has signed, so it is active.
        sign_in(page, live_server, "fire-officer")
        open_agreement(page, live_server, reference)
        _sign(page, check_a11y)
        expect(page.get_by_role("alert", name="Success")).to_contain_text(
            "Every party has now signed: version 1 is in force.")
        expect(page.locator(".govuk-tag", has_text="Active").first).to_be_visible()
        agreement.refresh_from_db()
        assert agreement.status == AgreementStatus.ACTIVE
        decision = decide(provider="mcc", recipient="gm-fire", dataset="smoking-risk")
        assert decision.allowed and decision.agreement == reference

        events = list(AuditEvent.objects.filter(object_ref=reference, action__in=[
            "agreement.created", "agreement.submitted", "agreement.approved", "agreement.activated",
        ]).order_by("seq").values_list("action", "actor_name"))
        assert events == [
            ("agreement.created", "officer"),
            ("agreement.submitted", "officer"),
            ("agreement.approved", "officer2"),
            ("agreement.approved", "fire-officer"),
            ("agreement.activated", "fire-officer"),
        ]
