"""A governance officer drafts an agreement in a real Chromium: fields found by their labels, a second flow
added, a mistake shown in the error summary and fixed, and axe on every page visited. Then by keyboard alone,
and without JavaScript.
"""

import re

import pytest
from playwright.sync_api import expect

from agencies.choices import AgencyKind, Role
from agreements.models import Agreement
from audit.models import AuditEvent
from tests.browser.conftest import choose, fill_date, sign_in
from tests.dates import TODAY
from tests.factories import AgencyFactory, DatasetFactory, member

pytestmark = pytest.mark.browser


ARTICLE_6_PUBLIC_TASK = "Public task (UK GDPR Article 6(1)(e))"
ARTICLE_9_CARE = "Health or social care (UK GDPR Article 9(2)(h))"
DISCHARGE = "Discharge summaries (Manchester University NHS Foundation Trust)"
TYPE_DATASET = "Or type the name of a dataset not in the list"
CRIME_AND_DISORDER = "Disclosure to reduce crime and disorder (Crime and Disorder Act 1998, section 115)"


@pytest.fixture
def partners():
    council = AgencyFactory(code="mcc", name="Manchester City Council")
    nhs = AgencyFactory(code="mft", name="Manchester University NHS Foundation Trust", kind=AgencyKind.NHS_TRUST)
    AgencyFactory(code="gmp", name="Greater Manchester Police", kind=AgencyKind.POLICE)
    DatasetFactory(code="mft-discharge", name="Discharge summaries", owner=nhs, special_category=True,
                   data_items=["name", "NHS number", "discharge date", "care needs"])
    DatasetFactory(code="mcc-tenancies", name="Council tenancies", owner=council, data_items=["name", "address"])
    return member(council, Role.GOVERNANCE_OFFICER, username="officer")


def flow(page, number: int):
    return page.get_by_role("group", name=f"Flow {number}", exact=True)


class DraftAgreementJourneyTests:
    def test_an_officer_drafts_two_flows_fixes_a_mistake_and_saves(self, page, live_server, check_a11y, partners):
        sign_in(page, live_server, "officer")
        page.get_by_role("link", name="Draft a new agreement").click()
        expect(page.get_by_role("heading", name="Draft a new agreement", level=1)).to_be_visible()
        check_a11y(page)

        page.get_by_label("Title", exact=True).fill("Hospital discharge to adult social care")
        page.get_by_label("Purpose", exact=True).fill("Plan care for patients leaving hospital")
        expect(page.get_by_label("Lead agency")).to_have_value("mcc")
        fill_date(page, "Start date", "1", "4", str(TODAY.year))
        fill_date(page, "End date", "31", "3", str(TODAY.year + 2))
        fill_date(page, "Review date", "1", "4", str(TODAY.year + 1))
        page.get_by_label("DPIA reference (optional)").fill("DPIA-42")

        first = flow(page, 1)
        choose(first, "Provider", "mft", "Manchester University NHS Foundation Trust")  # a code finds it too
        choose(first, "Dataset", "discharge", DISCHARGE)
        choose(first, "Recipient", "Manchester City", "Manchester City Council")
        first.get_by_label(ARTICLE_6_PUBLIC_TASK).check()  # and forgets the Article 9 condition health data needs
        first.get_by_label("Data items shared (optional)").fill("name\nNHS number\ncare needs")
        first.get_by_label("How it is shared").select_option(label="Shared case-management system")
        first.get_by_label("How often").select_option(label="Daily")
        first.get_by_label("How long the recipient keeps it (optional)").fill("Until the care package ends")

        page.get_by_role("button", name="Add another flow").click()
        second = flow(page, 2)
        expect(second).to_be_visible()
        expect(first.get_by_label("Dataset", exact=True)).to_have_value(DISCHARGE)
        expect(page.get_by_role("alert")).to_have_count(0)
        check_a11y(page)
        choose(second, "Provider", "Manchester City", "Manchester City Council")
        choose(second, "Dataset", "tenan", "Council tenancies (Manchester City Council)")
        choose(second, "Recipient", "police", "Greater Manchester Police")
        second.get_by_label(ARTICLE_6_PUBLIC_TASK).check()
        second.locator("summary", has_text="Statutory gateways").click()  # open the group
        second.get_by_label(CRIME_AND_DISORDER).check()

        page.get_by_role("button", name="Save draft").click()
        summary = page.get_by_role("alert")
        expect(summary).to_contain_text("There is a problem")
        expect(page).to_have_title(re.compile("^Error: Draft a new agreement"))
        check_a11y(page)
        assert not Agreement.objects.exists()
        # Everything typed is still there, in both rows.
        expect(page.get_by_label("Title", exact=True)).to_have_value("Hospital discharge to adult social care")
        review_year = page.get_by_role("group", name="Review date").get_by_label("Year", exact=True)
        expect(review_year).to_have_value(str(TODAY.year + 1))
        expect(first.get_by_label("Data items shared (optional)")).to_have_value("name\nNHS number\ncare needs")
        expect(first.get_by_label("How often")).to_have_value("daily")
        expect(first.get_by_label(ARTICLE_6_PUBLIC_TASK)).to_be_checked()
        expect(second.get_by_label("Recipient", exact=True)).to_have_value("Greater Manchester Police")
        expect(second.get_by_label(CRIME_AND_DISORDER)).to_be_checked()
        # The message is beside the legal bases of flow 1, and its summary link takes you there.
        expect(first).to_contain_text("holds special category data (such as health)")
        summary.get_by_role("link", name=re.compile("^Flow 1: The dataset Discharge summaries holds special")).click()
        expect(first.get_by_label("Consent (UK GDPR Article 6(1)(a))")).to_be_focused()

        first.get_by_label(ARTICLE_9_CARE).check()  # its group opened to show the error
        page.get_by_role("button", name="Save draft").click()
        agreement = Agreement.objects.get()
        expect(page).to_have_url(f"{live_server.url}/agreements/{agreement.reference}/")
        expect(page.get_by_text(f"Draft agreement {agreement.reference} saved")).to_be_visible()
        check_a11y(page)
        flows = list(agreement.current_version.flows.order_by("id"))
        assert [(f.dataset.code, f.recipient.code) for f in flows] == [("mft-discharge", "mcc"),
                                                                       ("mcc-tenancies", "gmp")]
        assert sorted(b.code for b in flows[0].legal_bases.all()) == ["ukgdpr-6-1-e", "ukgdpr-9-2-h"]
        assert flows[0].data_items == ["name", "NHS number", "care needs"]
        assert AuditEvent.objects.filter(action="agreement.created", object_ref=agreement.reference).count() == 1

        # The draft opens again for changes, as saved.
        page.goto(f"{live_server.url}/agreements/{agreement.reference}/edit/")
        expect(flow(page, 2).get_by_label("Dataset", exact=True)).to_have_value("Council tenancies (Manchester City "
                                                                                 "Council)")
        check_a11y(page)


class KeyboardTests:
    def test_the_form_works_by_keyboard_and_every_field_has_a_label(self, page, live_server, check_a11y, partners):
        sign_in(page, live_server, "officer")
        page.goto(f"{live_server.url}/agreements/new/")
        title = page.get_by_label("Title", exact=True)
        for _ in range(30):
            page.keyboard.press("Tab")
            if title.evaluate("el => el === document.activeElement"):
                break
        expect(title).to_be_focused()
        page.keyboard.type("Hospital discharge")
        page.keyboard.press("Enter")  # saves (and finds mistakes); it does not press a Remove button

        summary = page.get_by_role("alert")
        expect(summary).to_contain_text("There is a problem")
        expect(page.get_by_role("group", name=re.compile(r"^Flow \d+$"))).to_have_count(1)
        expect(page.get_by_label("Title", exact=True)).to_have_value("Hospital discharge")
        check_a11y(page)
        # GOV.UK Frontend moves focus to the summary; Tab reaches its first link and Enter goes to the field.
        page.keyboard.press("Tab")
        expect(summary.get_by_role("link").first).to_be_focused()
        expect(summary.get_by_role("link").first).to_have_text("Say what the sharing is for.")
        page.keyboard.press("Enter")
        expect(page.get_by_label("Purpose", exact=True)).to_be_focused()

        unlabelled = page.evaluate(
            "[...document.querySelectorAll('main input:not([type=hidden]), main select, main textarea')]"
            ".filter(el => el.checkVisibility()).filter(el => !el.labels || el.labels.length === 0)"
            ".map(el => el.name || el.id)"
        )
        assert unlabelled == []
        errors_not_described = page.evaluate(
            "[...document.querySelectorAll('.govuk-error-message[id]')]"
            ".filter(msg => !document.querySelector(`[aria-describedby~='${msg.id}']`)).map(msg => msg.id)"
        )
        assert errors_not_described == []

        page.get_by_role("button", name="Add another flow").focus()
        page.keyboard.press("Enter")
        expect(flow(page, 2)).to_be_visible()
        expect(page).to_have_url(re.compile("#flow-2$"))
        check_a11y(page)
        page.get_by_role("button", name="Remove flow 1").focus()
        page.keyboard.press("Space")
        expect(page.get_by_role("group", name=re.compile(r"^Flow \d+$"))).to_have_count(1)
        expect(page.get_by_label("Title", exact=True)).to_have_value("Hospital discharge")

    def test_rows_are_added_and_removed_without_javascript(self, page_without_javascript, live_server, partners):
        page = page_without_javascript
        sign_in(page, live_server, "officer")
        page.goto(f"{live_server.url}/agreements/new/")
        page.get_by_label("Title", exact=True).fill("Tenancy sharing")
        flow(page, 1).get_by_label(TYPE_DATASET).fill("first-try")
        page.get_by_role("button", name="Add another flow").click()
        flow(page, 2).get_by_label("Dataset", exact=True).select_option(label="Council tenancies (Manchester City "
                                                                              "Council)")
        page.get_by_role("button", name="Remove flow 1").click()
        expect(page.get_by_role("group", name=re.compile(r"^Flow \d+$"))).to_have_count(1)
        expect(flow(page, 1).get_by_label("Dataset", exact=True)).to_have_value("mcc-tenancies")
        expect(page.get_by_label("Title", exact=True)).to_have_value("Tenancy sharing")
        page.get_by_label("Title", exact=True).press("Enter")
        expect(page.get_by_text("There is a problem")).to_be_visible()
        expect(page.get_by_role("link", name="Say what the sharing is for.")).to_be_visible()
