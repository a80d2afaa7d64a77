"""Journey: a version is sent back with comments, changed, sent again and signed with a declaration, each signer seeing
what changed; the agreement goes live and its PDF carries the fingerprint the page shows.

The council's officer drafts and sends it; the fire service's officer comments in the version's thread and asks for
changes; the council's officer reads both in the thread, changes the draft and sends it again; a second council
officer and the fire officer each sign with the declaration, seeing the changes on the sign page. axe runs on every
page visited.
"""

import io

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from accounts.models import Profile
from agencies.choices import Role
from agreements.choices import AgreementStatus
from agreements.models import Party
from tests.browser.conftest import choose, sign_in, sign_out
from tests.browser.safe_and_well import council_and_fire_service, fill_terms, open_agreement, save_draft
from tests.eager import eager_tasks
from tests.factories import member

pytestmark = pytest.mark.browser

COMMENT = "Say how long the fire service keeps the referrals, and leave out whether they smoke."
NOTE = "Our crews can start the visits in March if this is signed by then."


@pytest.fixture
def partners():
    council, fire, _ = council_and_fire_service(data_items=["name", "address", "smoker"])
    for agency, username, name, title in (
        (council, "officer", "Olivia Brown", "Information Governance Manager"),
        (council, "officer2", "Marcus Webb", "Head of Information Governance"),
        (fire, "fire-officer", "Priya Patel", "Data Protection Officer"),
    ):
        user = member(agency, Role.GOVERNANCE_OFFICER, username=username)
        Profile.objects.update_or_create(user=user, defaults={"full_name": name, "job_title": title})


def _sign_seeing_the_changes(page, check_a11y, agency_name):
    page.locator("#actions").get_by_role("button", name="Sign", exact=True).click()
    expect(page.get_by_role("heading", name="Sign version 1", level=1)).to_be_visible()
    changes = page.locator("#changes")
    expect(changes).to_contain_text("What changed since version 1 as sent for signature")
    expect(changes.locator("ins")).to_contain_text(["Deleted 12 months after the visit"])
    expect(changes.locator("del")).to_contain_text(["smoker"])
    check_a11y(page)
    # Signing without the declaration is refused, and says why.
    page.get_by_role("button", name="Sign this version").click()
    expect(page.get_by_role("alert")).to_contain_text("Confirm that you are authorised to sign this agreement")
    check_a11y(page)
    page.get_by_label(f"I am authorised to sign this agreement for {agency_name}").check()
    page.get_by_role("button", name="Sign this version").click()
    expect(page.get_by_role("alert", name="Success")).to_be_visible()
    check_a11y(page)


@pytest.fixture(autouse=True)
def _emails_sent_in_process():
    """The emails go out in this process even where a broker is configured, so the test can read them."""
    with eager_tasks():
        yield


def _emails_to(mailoutbox, address: str, subject_part: str) -> list:
    return [m for m in mailoutbox if address in m.to and subject_part in m.subject]


def _inbox_has(page, live_server, check_a11y, subject: str):
    """The header counts the unread notice, and the inbox lists it."""
    page.get_by_role("link", name="Notifications 1 unread").click()
    expect(page.get_by_role("heading", name=f"Unread {subject}", level=2)).to_be_visible()
    check_a11y(page)


class NegotiationJourneyTests:
    def test_changes_asked_for_made_and_signed_with_a_declaration_then_the_pdf_matches(self, page, live_server,
                                                                                       check_a11y, partners,
                                                                                       mailoutbox):
        # The council's officer drafts it and sends it for signature.
        sign_in(page, live_server, "officer", check=check_a11y)
        page.get_by_role("link", name="Draft a new agreement").click()
        fill_terms(page)
        flow = page.get_by_role("group", name="Flow 1", exact=True)
        choose(flow, "Provider", "Manchester", "Manchester City Council")
        choose(flow, "Dataset", "Smoking", "Smoking and home fire risk (Manchester City Council)")
        choose(flow, "Recipient", "Fire", "Greater Manchester Fire and Rescue")
        agreement = save_draft(page, live_server, flow)
        reference = agreement.reference
        page.locator("#actions").get_by_role("button", name="Send for signature").click()
        page.get_by_role("button", name="Send for signature").click()
        expect(page.get_by_role("alert", name="Success")).to_contain_text("sent to every party for signature")
        sign_out(page)

        # The fire service's officer is told, by email and in the inbox, and sends it back with a comment.
        please_sign = f"Please sign {reference}"
        assert len(_emails_to(mailoutbox, "fire-officer@example.org", please_sign)) == 1
        sign_in(page, live_server, "fire-officer")
        _inbox_has(page, live_server, check_a11y, f"{please_sign}: Safe and well visits")
        open_agreement(page, live_server, reference)
        # A comment in version 1's thread: sent empty, it is refused with the error summary; then added.
        thread = page.locator("#comments-1")
        thread.get_by_role("button", name="Add comment").click()
        expect(page.get_by_role("alert")).to_contain_text("Write your comment. Every party will read it.")
        check_a11y(page)
        page.get_by_label("Add a comment to version 1").fill(NOTE)
        page.get_by_role("button", name="Add comment").click()
        expect(page.get_by_role("alert", name="Success")).to_contain_text("Your comment on version 1")
        expect(page.locator("#comments-1")).to_contain_text(NOTE)
        check_a11y(page)
        page.locator("#actions").get_by_role("button", name="Ask for changes").click()
        expect(page.get_by_role("heading", name="Ask for changes to version 1", level=1)).to_be_visible()
        check_a11y(page)
        page.get_by_label("What needs to change? Every party will read this.").fill(COMMENT)
        page.get_by_role("button", name="Send it back with my comments").click()
        expect(page.get_by_role("alert", name="Success")).to_contain_text("went back to the lead agency")
        sign_out(page)

        # The council's officers are told, with the comments, by email and in the inbox.
        asked = _emails_to(mailoutbox, "officer@example.org", f"Changes asked for: {reference}")
        assert len(asked) == 1 and COMMENT in " ".join(asked[0].body.split())
        noted = _emails_to(mailoutbox, "officer@example.org", f"New comment on {reference} version 1")
        assert len(noted) == 1 and NOTE in " ".join(noted[0].body.split())
        # The council's officer reads the comment, changes the draft and sends it again.
        sign_in(page, live_server, "officer")
        page.get_by_role("link", name="Notifications 2 unread").click()
        expect(page.get_by_role("main")).to_contain_text(reference)
        check_a11y(page)
        open_agreement(page, live_server, reference)
        comments = page.locator("#comments")
        expect(comments).to_contain_text(COMMENT)
        expect(comments).to_contain_text("Changes requested by Priya Patel for Greater Manchester Fire and Rescue")
        expect(comments).to_contain_text(NOTE)  # the fire officer's comment, in the same thread
        expect(comments).to_contain_text("Comment by Priya Patel for Greater Manchester Fire and Rescue")
        check_a11y(page)
        page.locator("#actions").get_by_role("button", name="Edit draft").click()
        flow = page.get_by_role("group", name="Flow 1", exact=True)
        flow.get_by_label("Data items shared (optional)").fill("name\naddress")
        flow.get_by_label("How long the recipient keeps it (optional)").fill("Deleted 12 months after the visit")
        page.get_by_role("button", name="Save draft").click()
        expect(page).to_have_url(f"{live_server.url}/agreements/{reference}/")
        expect(page.locator("#changes")).to_contain_text("What changed since version 1 as sent for signature")
        check_a11y(page)
        page.locator("#actions").get_by_role("button", name="Send for signature").click()
        page.get_by_role("button", name="Send for signature").click()
        expect(page.get_by_role("alert", name="Success")).to_contain_text("sent to every party for signature")
        sign_out(page)

        # A second council officer signs for the council, seeing what changed.
        sign_in(page, live_server, "officer2")
        open_agreement(page, live_server, reference)
        _sign_seeing_the_changes(page, check_a11y, "Manchester City Council")
        sign_out(page)

        # The fire officer signs for the fire service: every party has signed, so it is active.
        sign_in(page, live_server, "fire-officer")
        open_agreement(page, live_server, reference)
        _sign_seeing_the_changes(page, check_a11y, "Greater Manchester Fire and Rescue")
        expect(page.get_by_role("alert", name="Success")).to_contain_text(
            "Every party has now signed: version 1 is in force.")
        agreement.refresh_from_db()
        assert agreement.status == AgreementStatus.ACTIVE
        signed = Party.objects.get(agency__code="gm-fire").signed_at.astimezone()
        signatures = page.locator("#signatures")
        expect(signatures).to_contain_text(
            "Signed for Greater Manchester Fire and Rescue by Priya Patel, Data Protection Officer, on "
            f"{signed.day} {signed:%B %Y, %H:%M}")
        expect(signatures).to_contain_text(
            "Signed for Manchester City Council by Marcus Webb, Head of Information Governance, on ")

        # The PDF downloads and carries the fingerprint the page shows.
        shown = page.locator("#digest").inner_text().strip()
        assert len(shown) == 64
        with page.expect_download(timeout=30_000) as download_info:  # WeasyPrint lays out the whole agreement
            page.get_by_role("link", name="Download version 1 as a PDF").click()
        download = download_info.value
        assert download.suggested_filename == f"{reference}-version-1.pdf"
        with open(download.path(), "rb") as pdf:
            text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.read())).pages)
        assert shown in text.replace("\n", "")
        assert "Signed for Greater Manchester Fire and Rescue by Priya Patel, Data Protection Officer" in \
            " ".join(text.split())
