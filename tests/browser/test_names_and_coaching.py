"""In a real Chromium: the agreement form's type-ahead picks an agency by typing its name (from beyond the list
the page carries), and a frontline "yes" under consent tells the worker to get consent first. axe on every page.
"""

import pytest
from playwright.sync_api import expect

from agencies.choices import AgencyKind, Role
from agreements.models import Agreement
from tests.agreements.builders import build_agreement
from tests.browser.conftest import ask_the_check, fill_date, sign_in
from tests.dates import TODAY
from tests.factories import AgencyFactory, DatasetFactory, member

pytestmark = pytest.mark.browser


class AutocompleteTests:
    def test_the_officer_picks_an_agency_by_typing_its_name(self, page, live_server, check_a11y):
        council = AgencyFactory(code="mcc", name="Manchester City Council")
        DatasetFactory(code="mcc-attendance", name="School attendance", owner=council, data_items=["name", "school"])
        # Not a partner of the council: the page's own list does not hold it, the type-ahead finds it by name.
        AgencyFactory(code="northside-academy", name="Northside Academy", kind=AgencyKind.EDUCATION)
        AgencyFactory(code="northern-care", name="Northern Care Trust", kind=AgencyKind.NHS_TRUST)
        member(council, Role.GOVERNANCE_OFFICER, username="officer")

        sign_in(page, live_server, "officer")
        page.goto(f"{live_server.url}/agreements/new/")
        flow = page.get_by_role("group", name="Flow 1", exact=True)
        recipient = flow.get_by_label("Recipient", exact=True)
        expect(recipient).to_have_attribute("role", "combobox")  # the select, enhanced
        expect(flow.get_by_label("Or type the name of an agency not in the list").first).to_be_hidden()
        check_a11y(page)

        recipient.fill("Northside")
        option = page.get_by_role("listbox").get_by_role("option", name="Northside Academy")
        expect(option).to_be_visible()
        check_a11y(page)
        option.click()
        expect(recipient).to_have_value("Northside Academy")

        provider = flow.get_by_label("Provider", exact=True)
        provider.fill("Manchester")
        page.get_by_role("listbox").get_by_role("option", name="Manchester City Council").click()
        dataset = flow.get_by_label("Dataset", exact=True)
        dataset.fill("attend")
        page.get_by_role("listbox").get_by_role("option", name="School attendance (Manchester City Council)").click()

        page.get_by_label("Title", exact=True).fill("Attendance for children missing education")
        page.get_by_label("Purpose", exact=True).fill("Find children missing education")
        fill_date(page, "Start date", "1", "4", str(TODAY.year))
        fill_date(page, "End date", "31", "3", str(TODAY.year + 2))
        fill_date(page, "Review date", "1", "4", str(TODAY.year + 1))
        flow.get_by_label("Public task (UK GDPR Article 6(1)(e))").check()
        page.get_by_role("button", name="Save draft").click()

        agreement = Agreement.objects.get()
        expect(page).to_have_url(f"{live_server.url}/agreements/{agreement.reference}/")
        saved = agreement.current_version.flows.get()
        assert (saved.provider.code, saved.recipient.code, saved.dataset.code) == (
            "mcc", "northside-academy", "mcc-attendance")
        check_a11y(page)


class ConsentCoachingTests:
    def test_a_frontline_yes_under_consent_says_to_get_consent_first(self, page, live_server, check_a11y):
        gp = AgencyFactory(code="gp-surgery", name="Riverside GP Surgery", kind=AgencyKind.GP_PRACTICE,
                           caldicott_guardian_name="Dr Asha Patel", dpo_email="dpo@riverside.example.org")
        charity = AgencyFactory(code="carers-charity", name="Carers Support Charity", kind=AgencyKind.VOLUNTARY)
        records = DatasetFactory(code="gp-carers", name="Carer details", owner=gp, special_category=True,
                                 data_items=["name", "phone", "caring role"])
        build_agreement(provider=gp, recipient=charity, dataset=records, title="Carers referral",
                        bases=("ukgdpr-6-1-a", "ukgdpr-9-2-a", "common-law-confidentiality-consent"))
        member(gp, Role.FRONTLINE, username="receptionist")

        sign_in(page, live_server, "receptionist")
        page.goto(f"{live_server.url}/check/")
        ask_the_check(page, "Carers Support Charity", "Carer details")

        expect(page.locator("#decision").get_by_role("heading", level=1)).to_have_text("Yes, you may share")
        steps = page.locator("#next-steps li")
        expect(steps.first).to_contain_text("Get the person's explicit consent, in words, before you share")
        expect(steps.first).to_contain_text("If they refuse, do not share on this basis")
        expect(page.locator("#next-steps")).to_contain_text(
            "Dr Asha Patel, the Caldicott Guardian of Riverside GP Surgery")
        expect(page.get_by_text("Caldicott Guardian of Riverside GP Surgery: Dr Asha Patel")).to_be_visible()
        check_a11y(page)
