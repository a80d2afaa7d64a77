"""The agreement the journeys draft in the browser: Manchester City Council shares its smoking risk dataset with
Greater Manchester Fire and Rescue so that the fire service can offer safe and well visits."""

from playwright.sync_api import expect

from tests.browser.conftest import fill_date


def council_and_fire_service(**smoking_risk):
    """Manchester City Council, Greater Manchester Fire and Rescue and the council's smoking risk dataset (given
    `smoking_risk`'s other fields): the partners of the safe and well visits the journeys share under."""
    from agencies.choices import AgencyKind
    from tests.factories import AgencyFactory, DatasetFactory

    council = AgencyFactory(code="mcc", name="Manchester City Council")
    fire = AgencyFactory(code="gm-fire", name="Greater Manchester Fire and Rescue", kind=AgencyKind.FIRE_RESCUE)
    smoking = DatasetFactory(code="smoking-risk", name="Smoking and home fire risk", owner=council, **smoking_risk)
    return council, fire, smoking


def fill_terms(page) -> None:
    """Fills the title, purpose and dates of the agreement the journeys draft: safe and well visits, in force from
    1 January of tests/dates.py's START year to 31 December of END's, reviewed on 30 June of REVIEW's."""
    from tests.dates import END, REVIEW, START

    page.get_by_label("Title", exact=True).fill("Safe and well visits")
    page.get_by_label("Purpose", exact=True).fill("Fire service home safety visits for people at risk")
    fill_date(page, "Start date", "1", "1", str(START.year))
    fill_date(page, "End date", "31", "12", str(END.year))
    fill_date(page, "Review date", "30", "6", str(REVIEW.year))


PUBLIC_TASK = "Public task (UK GDPR Article 6(1)(e))"


def save_draft(page, live_server, flow):
    """Gives the filled-in `flow` of the safe and well draft its purpose and legal basis, saves the draft, and returns
    it once its page is open."""
    from agreements.models import Agreement

    flow.get_by_label("Purpose of this flow (optional)").fill("Book a safe and well visit")
    flow.get_by_label(PUBLIC_TASK).check()
    page.get_by_role("button", name="Save draft").click()
    agreement = Agreement.objects.get()
    expect(page).to_have_url(f"{live_server.url}/agreements/{agreement.reference}/")
    return agreement


def open_agreement(page, live_server, reference: str) -> None:
    page.goto(f"{live_server.url}/agreements/{reference}/")
    expect(page.get_by_role("heading", name="Safe and well visits", level=1)).to_be_visible()
