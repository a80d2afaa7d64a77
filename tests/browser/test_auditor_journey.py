"""Journey 3: an auditor filters the log and downloads a CSV that contains a frontline worker's check.

The check is asked through the real "Can I share?" page by the frontline worker, in the same browser, before
the auditor signs in; axe runs on every page the auditor visits.
"""

import csv
import io

import pytest
from playwright.sync_api import expect

from agencies.choices import Role
from audit import chain
from audit.models import AuditEvent
from tests.agreements.builders import build_agreement
from tests.browser.conftest import ask_the_check, sign_in
from tests.browser.safe_and_well import council_and_fire_service
from tests.factories import AgencyFactory, member

pytestmark = pytest.mark.browser


@pytest.fixture
def registry():
    council, fire, smoking = council_and_fire_service()
    agreement = build_agreement(provider=council, recipient=fire, dataset=smoking, title="Safe and well visits")
    member(council, Role.FRONTLINE, username="frontline")
    member(council, Role.AUDITOR, username="auditor")
    member(AgencyFactory(code="salford", name="Salford City Council"), Role.AUDITOR, username="salford-auditor")
    return {"agreement": agreement}


def _ask(page, live_server):
    sign_in(page, live_server, "frontline")
    page.goto(f"{live_server.url}/check/")
    ask_the_check(page, "Greater Manchester Fire and Rescue", "Smoking and home fire risk")
    expect(page.locator("#decision").get_by_role("heading", level=1)).to_have_text("Yes, you may share")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_load_state()


class AuditorJourneyTests:
    def test_an_auditor_filters_the_log_and_downloads_a_csv_with_the_check(self, page, live_server, check_a11y,
                                                                          registry):
        _ask(page, live_server)
        chain.seal_pending()  # what the sealer does every 2 s on the beat schedule (or on commit, embedded)
        checked = AuditEvent.objects.get(action="check.allowed")
        reference = registry["agreement"].reference

        sign_in(page, live_server, "auditor", check=check_a11y)
        check_a11y(page)
        page.get_by_role("link", name="Audit log").first.click()
        expect(page.get_by_role("heading", name="Audit log", level=1)).to_be_visible()
        check_a11y(page)

        page.get_by_label("Action").select_option("check.allowed")
        page.get_by_label("Object reference").fill(reference)
        page.get_by_role("button", name="Show events").click()
        table = page.get_by_role("table")
        expect(table).to_contain_text("Events, newest first (1)")
        expect(table.get_by_role("row").filter(has_text=str(checked.seq))).to_contain_text("frontline")
        check_a11y(page)

        with page.expect_download() as info:
            page.get_by_role("button", name="Export these events as CSV").click()
        download = info.value
        assert download.suggested_filename.endswith(".csv")
        with open(download.path(), encoding="utf-8") as handle:
            rows = list(csv.DictReader(io.StringIO(handle.read())))

        assert [(int(r["seq"]), r["action"], r["object_ref"], r["actor"]) for r in rows] == [
            (checked.seq, "check.allowed", reference, "frontline")
        ]
        assert rows[0]["hash"] and rows[0]["prev_hash"]  # sealed into the chain
        exported = AuditEvent.objects.filter(action="audit.exported").latest("seq")
        assert exported.actor_name == "auditor"
        assert exported.detail["rows"] == 1
        assert exported.detail["filters"]["action"] == "check.allowed"

    def test_an_auditor_of_an_unrelated_agency_does_not_see_the_check(self, page, live_server, check_a11y, registry):
        _ask(page, live_server)
        sign_in(page, live_server, "salford-auditor")
        page.goto(f"{live_server.url}/audit/?action=check.allowed")
        check_a11y(page)
        expect(page.get_by_role("table")).to_contain_text("No events match these filters.")

    def test_an_auditor_asks_for_a_check_of_the_chain_and_sees_its_result(self, page, live_server, check_a11y,
                                                                          registry):
        from audit.tasks import verify_requested
        from tests.conftest import has_broker

        _ask(page, live_server)
        chain.seal_pending(force_checkpoint=True)
        sign_in(page, live_server, "auditor", check=check_a11y)
        page.goto(f"{live_server.url}/audit/")
        page.get_by_role("button", name="Check the whole chain now").click()
        if has_broker():  # queued for the worker: the page says so until it has run
            expect(page.get_by_role("status")).to_contain_text("is queued")
            check_a11y(page)
            verify_requested.apply(args=[AuditEvent.objects.get(action="audit.verify_requested").actor_id])
            page.reload()
        summary = page.locator("#verification + dl")
        expect(summary).to_contain_text("Intact")
        expect(summary).to_contain_text("auditor")
        expect(page.get_by_role("button", name="Check the whole chain now")).to_be_visible()
        check_a11y(page)
        assert AuditEvent.objects.get(action="audit.verify_requested").actor_name == "auditor"


def _page_scrolls_sideways(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth > document.documentElement.clientWidth")


class AuditPageReflowTests:
    """At 320-640 px the events table made the whole page scroll sideways (WCAG 1.4.10, reflow)."""

    @pytest.mark.parametrize("width", [320, 640])
    def test_the_audit_page_reflows_with_its_table_in_a_scrolling_region(self, page, live_server, check_a11y,
                                                                          registry, width):
        _ask(page, live_server)
        checked = AuditEvent.objects.get(action="check.allowed")
        page.set_viewport_size({"width": width, "height": 800})
        sign_in(page, live_server, "auditor")
        page.goto(f"{live_server.url}/audit/")
        expect(page.get_by_role("heading", name="Audit log", level=1)).to_be_visible()
        assert not _page_scrolls_sideways(page)
        region = page.get_by_role("region", name="Events, newest first")
        expect(region.get_by_role("table")).to_be_visible()
        assert region.evaluate("el => el.scrollWidth > el.clientWidth")  # the table scrolls inside its box
        check_a11y(page)

        # The GOV.UK date boxes, found by their labels, filter the list.
        since = page.get_by_role("group", name="From date")
        since.get_by_label("Day", exact=True).fill("1")
        since.get_by_label("Month", exact=True).fill("1")
        since.get_by_label("Year", exact=True).fill("2000")
        until = page.get_by_role("group", name="To date")
        until.get_by_label("Day", exact=True).fill("31")
        until.get_by_label("Month", exact=True).fill("12")
        until.get_by_label("Year", exact=True).fill("9999")
        page.get_by_role("button", name="Show events").click()
        summary = page.get_by_role("alert")
        expect(summary).to_contain_text("To date must be between 1 January 2000 and 31 December 2100")
        summary.get_by_role("link").first.click()
        expect(until.get_by_label("Year", exact=True)).to_be_focused()
        assert not _page_scrolls_sideways(page)
        check_a11y(page)

        until.get_by_label("Year", exact=True).fill("2100")
        page.get_by_role("button", name="Show events").click()
        page.get_by_role("link", name=f"{checked.seq}", exact=False).first.click()
        expect(page.get_by_role("heading", level=1)).to_contain_text(f"Event {checked.seq}")
        expect(page.get_by_text("The answer")).to_be_visible()
        expect(page.get_by_text("Greater Manchester Fire and Rescue").or_(page.get_by_text("gm-fire")).first
               ).to_be_visible()
        assert not _page_scrolls_sideways(page)
        check_a11y(page)
