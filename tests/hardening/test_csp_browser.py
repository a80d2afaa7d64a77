"""The Content-Security-Policy in a real Chromium: the main pages break none of it, and GOV.UK Frontend still starts."""

import pytest

from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser

# Runs before any page script: records every violation the browser reports (and the console names them too).
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} blocked ${event.blockedURI || "inline code"}`);
});
"""


@pytest.fixture
def demo(transactional_db):
    from agreements import demo
    from common import context

    with context.system("seed_demo"):
        loaded, agreements = demo.load_demo()
    return {"password": demo.DEMO_PASSWORD, "agreement": next(a for a in agreements if a.status == "active")}


@pytest.fixture
def watched_page(page):
    """The page, with every CSP violation and CSP console error collected."""
    page.context.add_init_script(RECORD_VIOLATIONS)
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text)
            if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text else None)
    page.csp_console = console
    return page


def assert_clean(page, path: str, govuk: bool = True) -> None:
    response = page.goto(path)
    page.wait_for_load_state("networkidle")
    assert response.status < 400, f"{path} answered {response.status}"
    assert "default-src 'self'" in response.headers["content-security-policy"]
    violations = page.evaluate("window.__cspViolations")
    assert violations == [] and page.csp_console == [], f"{path}: {violations} {page.csp_console}"
    if govuk:
        assert page.evaluate("document.body.classList.contains('govuk-frontend-supported')"), f"{path}: no GOV.UK JS"


class ContentSecurityPolicyBrowserTests:
    def test_the_main_pages_work_under_the_policy(self, watched_page, live_server, demo):
        page = watched_page
        for path in ("/accounts/login/", "/public/", "/public/map/", "/public/map/?agency=mft"):
            assert_clean(page, f"{live_server.url}{path}")
        # GOV.UK components run their JavaScript: the error summary moves focus to itself when the page loads.
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state("networkidle")
        assert page.evaluate("document.activeElement.classList.contains('govuk-error-summary')")
        # The service navigation's menu button appears, and opens the menu, only when its JavaScript runs.
        page.set_viewport_size({"width": 375, "height": 700})
        sign_in(page, live_server, "mcc-frontline", password=demo["password"])
        menu = page.get_by_role("button", name="Menu")
        menu.click()
        assert menu.get_attribute("aria-expanded") == "true"
        assert page.evaluate("window.__cspViolations") == [] and page.csp_console == []
        page.set_viewport_size({"width": 1280, "height": 800})
        sign_in(page, live_server, "admin", password=demo["password"])
        reference = demo["agreement"].reference
        for path in ("/", "/check/", "/audit/", "/agencies/", "/agencies/manchester-cc/members/",
                     f"/agreements/{reference}/print/", "/agreements/new/"):
            assert_clean(page, f"{live_server.url}{path}")
        # The agreement form's type-ahead (accessible-autocomplete) draws its menu within the policy too.
        page.get_by_label("Provider", exact=True).fill("Manchester")
        page.get_by_role("listbox").get_by_role("option").first.wait_for()
        assert page.evaluate("window.__cspViolations") == [] and page.csp_console == []
        # Django's admin (superusers): no GOV.UK Frontend there, but the same policy.
        for path in ("/admin/", "/admin/auth/user/", "/admin/auth/user/1/change/", "/admin/axes/accessattempt/"):
            assert_clean(page, f"{live_server.url}{path}", govuk=False)



class ApiDocsBrowserTests:
    """/api/v1/docs/ and /redoc/ loaded Swagger UI and Redoc @latest from a CDN, without an integrity check and
    outside the policy: blank offline, and a supply-chain risk. Swagger UI is now the app's own static files."""

    def test_swagger_ui_and_redoc_come_from_the_app_and_keep_the_policy(self, watched_page, live_server, db):
        page = watched_page
        requested: list[str] = []
        page.on("request", lambda request: requested.append(request.url))
        page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(live_server.url)
                   else route.abort())  # as if offline: anything from elsewhere fails
        assert_clean(page, f"{live_server.url}/api/v1/docs/", govuk=False)
        page.get_by_role("heading", name="Sharing Registry API").first.wait_for()
        assert page.get_by_text("/api/v1/checks/").first.is_visible()
        page.goto(f"{live_server.url}/api/v1/redoc/")  # Redoc cannot keep the policy: the same docs instead
        assert page.url == f"{live_server.url}/api/v1/docs/"
        foreign = [url for url in requested if not url.startswith(live_server.url)]
        assert foreign == []
        assert page.evaluate("window.__cspViolations") == [] and page.csp_console == []
