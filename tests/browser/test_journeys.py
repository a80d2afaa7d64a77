"""Journeys through the pages in a real Chromium, finding things by label and role, with axe on every page.

Journey 2 ("Can I share?": a yes, then a no with its reason), signing in and out by keyboard, each role's
dashboard, the public register and sharing map, and the check page on a phone.
"""

import re

import pytest
from playwright.sync_api import expect

from agencies.choices import AgencyKind, Role
from agreements.choices import AgreementStatus
from audit.models import AuditEvent
from tests.agreements.builders import build_agreement
from tests.browser.conftest import ask_the_check, sign_in
from tests.browser.safe_and_well import council_and_fire_service
from tests.factories import PASSWORD, AgencyFactory, DatasetFactory, UserFactory, member

pytestmark = pytest.mark.browser


@pytest.fixture
def safe_and_well():
    """A council that may share smoking risk with the fire service (and not its housing list)."""
    council, fire, smoking = council_and_fire_service()
    DatasetFactory(code="housing-register", name="Housing register", owner=council)
    agreement = build_agreement(provider=council, recipient=fire, dataset=smoking, title="Safe and well visits")
    return {"council": council, "fire": fire, "agreement": agreement,
            "worker": member(council, Role.FRONTLINE, username="frontline")}


class CanIShareJourneyTests:
    def test_a_frontline_worker_gets_a_yes_then_a_no_with_its_reason(self, page, live_server, check_a11y,
                                                                      safe_and_well):
        sign_in(page, live_server, "frontline", check=check_a11y)
        expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
        check_a11y(page)

        page.get_by_role("button", name="Check now").click()
        expect(page.get_by_role("heading", name="Can I share?", level=1)).to_be_visible()
        expect(page.get_by_label("Your agency")).to_have_value("mcc")
        check_a11y(page)

        ask_the_check(page, "Greater Manchester Fire", "Smoking and home fire risk", why="Book a safe and well visit")

        decision = page.locator("#decision")
        expect(decision.get_by_role("heading", level=1)).to_have_text("Yes, you may share")
        reference = safe_and_well["agreement"].reference
        expect(decision).to_contain_text(f"Agreement {reference}")
        expect(page.get_by_role("heading", name="The law that allows it")).to_be_visible()
        check_a11y(page)

        # The form is still there, for the next question: the housing register is not covered.
        ask_the_check(page, "Greater Manchester Fire and Rescue", "Housing register")

        expect(decision.get_by_role("heading", level=1)).to_have_text("No, do not share")
        expect(decision).to_contain_text(f"{reference} (“Safe and well visits”) is between these agencies but "
                                         "does not cover Housing register. It covers Smoking and home fire risk.")
        expect(page.get_by_role("heading", name="What to do next")).to_be_visible()
        check_a11y(page)
        assert list(AuditEvent.objects.filter(action__startswith="check.").order_by("seq")
                    .values_list("action", flat=True)) == ["check.allowed", "check.denied"]

    def test_a_mistake_is_shown_in_the_error_summary_and_linked_to_its_field(self, page, live_server, check_a11y,
                                                                             safe_and_well):
        sign_in(page, live_server, "frontline", check=check_a11y)
        page.goto(f"{live_server.url}/check/")
        check_a11y(page)
        page.get_by_label("Who do you want to share with?").fill("Atlantis")
        page.get_by_role("button", name="Check").click()
        summary = page.get_by_role("alert")
        expect(summary).to_contain_text("There is a problem")
        check_a11y(page)
        summary.get_by_role("link", name=re.compile("Nothing matches “Atlantis”")).click()
        expect(page.get_by_label("Who do you want to share with?")).to_be_focused()

    def test_the_check_page_fits_a_phone(self, browser, live_server, check_a11y, safe_and_well):
        context = browser.new_context(viewport={"width": 375, "height": 667}, base_url=live_server.url,
                                      is_mobile=True, has_touch=True)
        context.set_default_timeout(10_000)
        phone = context.new_page()
        try:
            sign_in(phone, live_server, "frontline", check=check_a11y)
            phone.goto(f"{live_server.url}/check/")
            check_a11y(phone)
            ask_the_check(phone, "Greater Manchester Fire and Rescue", "Smoking and home fire risk")
            expect(phone.locator("#decision h1")).to_have_text("Yes, you may share")
            scroll = phone.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
            assert scroll[0] <= scroll[1], f"the page scrolls sideways on a phone: {scroll}"
            check_a11y(phone)
        finally:
            context.close()


    def test_the_check_works_without_javascript(self, page_without_javascript, live_server, safe_and_well):
        page = page_without_javascript
        sign_in(page, live_server, "frontline")
        page.get_by_role("link", name="Can I share?").click()
        ask_the_check(page, "Greater Manchester Fire and Rescue", "Smoking and home fire risk")
        expect(page.locator("#decision h1")).to_have_text("Yes, you may share")
        page.get_by_role("button", name="Sign out").click()
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def _tab_to(page, target, *, most: int) -> None:
    """Presses Tab until `target` has the focus, at most `most` times, as a keyboard user would."""
    for _ in range(most):
        page.keyboard.press("Tab")
        if target.evaluate("el => el === document.activeElement"):
            break
    expect(target).to_be_focused()


class SignInOutTests:
    def test_sign_in_and_out_by_keyboard_alone(self, page, live_server, check_a11y):
        member(AgencyFactory(name="Bolton Council"), Role.FRONTLINE, username="keyboard")
        page.goto(f"{live_server.url}/accounts/login/")
        check_a11y(page)
        # The first Tab reaches the skip link; it takes you to the main content.
        page.keyboard.press("Tab")
        expect(page.get_by_role("link", name="Skip to main content")).to_be_focused()
        page.keyboard.press("Enter")
        username = page.get_by_label("Username")
        _tab_to(page, username, most=12)
        page.keyboard.type("keyboard")
        page.keyboard.press("Tab")
        expect(page.get_by_label("Password")).to_be_focused()
        page.keyboard.type(PASSWORD)
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
        check_a11y(page)

        sign_out = page.get_by_role("button", name="Sign out")
        _tab_to(page, sign_out, most=20)
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        check_a11y(page)
        page.goto(f"{live_server.url}/")
        expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/$"))

    def test_a_wrong_password_is_explained(self, page, live_server, check_a11y):
        UserFactory(username="forgetful")
        sign_in(page, live_server, "forgetful", password="not-it")
        expect(page.get_by_role("alert")).to_contain_text("Enter a correct username and password")
        check_a11y(page)


class DashboardTests:
    def test_each_role_lands_on_its_own_dashboard(self, page, live_server, check_a11y):
        agency = AgencyFactory(name="Stockport Council")
        partner = AgencyFactory(name="Stockport NHS Foundation Trust", kind=AgencyKind.NHS_TRUST)
        build_agreement(provider=partner, recipient=agency, title="Discharge to assess",
                        status=AgreementStatus.SUBMITTED)
        member(agency, Role.GOVERNANCE_OFFICER, username="officer")
        member(agency, Role.AUDITOR, username="auditor")
        member(agency, Role.AGENCY_ADMIN, username="admin")
        expectations = {
            "officer": ("heading", "Waiting for you"),
            "auditor": ("heading", "Audit"),
            "admin": ("heading", "Your agencies’ members"),
        }
        for username, (role, name) in expectations.items():
            page.context.clear_cookies()
            sign_in(page, live_server, username, check=check_a11y if username == "officer" else None)
            expect(page).to_have_url(f"{live_server.url}/")
            expect(page.get_by_role(role, name=name, exact=True)).to_be_visible()
            if username == "officer":
                expect(page.get_by_text("Discharge to assess")).to_be_visible()
                expect(page.get_by_role("table", name="Your agencies’ agreements by status")).to_be_visible()
            check_a11y(page)


class PublicPagesTests:
    def test_the_public_register_and_map_need_no_sign_in(self, page, live_server, check_a11y):
        council = AgencyFactory(code="wigan", name="Wigan Council")
        police = AgencyFactory(code="gmp", name="Greater Manchester Police", kind=AgencyKind.POLICE)
        nhs = AgencyFactory(code="wwl", name="Wrightington, Wigan and Leigh NHS Trust", kind=AgencyKind.NHS_TRUST)
        build_agreement(provider=council, recipient=police, title="Safer streets")
        build_agreement(provider=nhs, recipient=council, title="Hospital discharge")
        page.goto(f"{live_server.url}/public/")
        expect(page.get_by_role("heading", name="Public register of information-sharing agreements")).to_be_visible()
        check_a11y(page)
        page.get_by_label("Search the register").fill("discharge")
        page.get_by_role("button", name="Search").click()
        expect(page.get_by_role("heading", name=re.compile("1 agreement matching"))).to_be_visible()
        expect(page.get_by_text("Safer streets")).to_have_count(0)
        check_a11y(page)

        page.get_by_role("link", name="Sharing map").first.click()
        expect(page.get_by_role("img", name="Map of which organisations share information with which")).to_be_visible()
        check_a11y(page)
        page.get_by_role("link", name=re.compile("^Wigan Council")).click()
        expect(page.get_by_role("heading", name="Who Wigan Council shares information with")).to_be_visible()
        expect(page.get_by_role("table")).to_contain_text("Greater Manchester Police")
        check_a11y(page)
        page.get_by_label("Show one organisation").fill("Atlantis")
        page.get_by_role("button", name="Show").click()
        expect(page.get_by_role("alert")).to_contain_text("No agency matches “Atlantis”")
        check_a11y(page)

    def test_a_missing_page_is_a_govuk_404(self, page, live_server, check_a11y):
        response = page.goto(f"{live_server.url}/no-such-page/")
        assert response.status == 404
        check_a11y(page)
