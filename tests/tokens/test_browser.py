"""An agency administrator makes a token for a system, copies it once, sees it listed without its key, and revokes
it, in a real Chromium with axe on every page."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


class AgencyTokensJourneyTests:
    def test_an_admin_creates_uses_and_revokes_a_token(self, page, live_server, check_a11y, people):
        from django.test import Client

        sign_in(page, live_server, "home-admin")
        page.get_by_role("link", name="API tokens of Home City Council").click()
        expect(page.get_by_role("heading", name="API tokens", level=1)).to_be_visible()
        check_a11y(page)

        page.get_by_role("button", name="Create token").click()  # nothing filled in
        expect(page.get_by_role("alert")).to_contain_text("Enter a name for the token")
        check_a11y(page)

        page.get_by_label("Name").fill("Children's case management")
        page.get_by_label("30 days").check()
        page.get_by_role("button", name="Create token").click()
        expect(page.get_by_role("heading", name="The token “Children's case management” is ready")).to_be_visible()
        key = page.get_by_label("New token for Children's case management").input_value()
        assert len(key) == 64
        check_a11y(page)

        api = Client()
        assert api.get("/api/v1/legal-bases/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 200

        page.goto(f"{live_server.url}/agencies/home-council/tokens/")
        row = page.get_by_role("row", name="Children's case management")
        expect(row).to_contain_text("home-admin")
        assert key not in page.content()

        row.get_by_role("link", name="Revoke").click()
        check_a11y(page)
        page.get_by_role("button", name="Yes, revoke “Children's case management”").click()
        expect(page.get_by_text("The token “Children's case management” is revoked")).to_be_visible()
        expect(page.get_by_text("Home City Council has no API tokens.")).to_be_visible()
        assert api.get("/api/v1/legal-bases/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 401
