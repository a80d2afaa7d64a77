"""Signing in through the organisation's identity provider, in a real Chromium, against a real OpenID provider."""

import pytest
from playwright.sync_api import expect

from agencies.choices import Role
from tests.factories import AgencyFactory, member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


class SingleSignOnJourneyTests:
    def test_a_member_signs_in_through_their_organisation(self, page, live_server, check_a11y, sso):
        council = AgencyFactory(code="test-council", name="Test City Council")
        ada = member(council, Role.FRONTLINE, "ada")
        ada.email = "ada@council.example"
        ada.first_name = "Ada"
        ada.save()

        page.goto(f"{live_server.url}/accounts/login/")
        check_a11y(page)
        page.get_by_role("button", name="Sign in with Test Council account").click()
        # The provider's own sign-in page (not ours): any password will do for this test provider.
        page.get_by_placeholder("Enter any login").fill("ada@council.example")
        page.get_by_placeholder("and password").fill("whatever the council uses")
        page.get_by_role("button", name="Sign-in").click()

        expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
        assert page.url == f"{live_server.url}/"
        check_a11y(page)

    def test_someone_without_an_account_is_told_whom_to_ask(self, page, live_server, check_a11y, sso):
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_role("button", name="Sign in with Test Council account").click()
        page.get_by_placeholder("Enter any login").fill("stranger@elsewhere.example")
        page.get_by_placeholder("and password").fill("anything")
        page.get_by_role("button", name="Sign-in").click()

        expect(page.get_by_role("heading", name="You are not signed in")).to_be_visible()
        expect(page.get_by_role("alert")).to_contain_text("Ask your agency administrator to invite you")
        expect(page.get_by_role("heading", name="Sign in", exact=True)).to_be_visible()
        check_a11y(page)
