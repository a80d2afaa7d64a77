"""Playwright driving Debian's Chromium against pytest-django's live server.

One browser for the session, a fresh context (cookies, storage) for every test. Helpers find elements by
their labels and roles, as a person would, and `check_a11y` runs axe-core on a page.
"""

import os

import pytest
from playwright.sync_api import expect

# Playwright's sync API runs an event loop in this thread; Django refuses ORM calls from a thread with a
# running loop unless told it is safe. The test process is single-threaded apart from the live server.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
BLOCKING_IMPACTS = {"serious", "critical"}
TIMEOUT_MS = 10_000


_RUN: dict = {}  # one Playwright and one Chromium for the whole run, whichever test folder asks first


@pytest.fixture(scope="session")
def browser(request):
    """The session's Chromium (never downloaded: Debian's, at the path tests/conftest.py checks).

    tests/hardening imports these fixtures too, which makes a second session fixture; Playwright's sync API allows
    one instance per thread, so both share the one started here, and the last to finish stops it.
    """
    path = request.getfixturevalue("chromium_path")
    if not _RUN:
        from playwright.sync_api import sync_playwright

        playwright = sync_playwright().start()
        _RUN.update(playwright=playwright, browser=playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS),
                    users=0)
    _RUN["users"] += 1
    yield _RUN["browser"]
    _RUN["users"] -= 1
    if not _RUN["users"]:
        _RUN["browser"].close()
        _RUN["playwright"].stop()
        _RUN.clear()


@pytest.fixture(scope="session")
def chromium_path():  # session-scoped twin of tests/conftest.py's fixture, so the browser can be shared
    import shutil

    from tests.conftest import CHROMIUM, CI

    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        if CI:
            pytest.fail(f"Chromium is required in CI and was not found at {CHROMIUM}")
        pytest.skip(f"Chromium not installed at {CHROMIUM} (CI installs it)")
    return CHROMIUM


@pytest.fixture
def page(browser, live_server):
    """A fresh browser context and page per test, 1280x800, failing fast rather than waiting 30 s."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=live_server.url)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def page_without_javascript(browser, live_server):
    """A page in a fresh context with JavaScript switched off, for the pages that must work without it. axe is
    JavaScript, so it cannot run here: check the same pages with axe in a test of their own."""
    context = browser.new_context(java_script_enabled=False, base_url=live_server.url)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture(scope="session")
def axe():
    from axe_playwright_python.sync_playwright import Axe

    return Axe()


@pytest.fixture
def check_a11y(axe):
    """Runs axe on the page as it is now; fails on any serious or critical violation, naming each one."""

    def check(page):
        results = axe.run(page)
        blocking = [v for v in results.response["violations"] if v.get("impact") in BLOCKING_IMPACTS]
        if blocking:
            lines = [f"axe found {len(blocking)} serious or critical problem(s) on {page.url}:"]
            for violation in blocking:
                lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']}")
                for node in violation["nodes"][:5]:
                    lines.append(f"    {' '.join(node['target'])}: {node.get('failureSummary', '').splitlines()[-1]}")
            message = "\n".join(lines)
            print(message)
            pytest.fail(message)
        return results

    return check


def sign_in(page, live_server, username, password=None, check=None):
    """Signs in through the real form, finding its fields by their labels; `check` (check_a11y) runs on the form."""
    from tests.factories import PASSWORD

    page.goto(f"{live_server.url}/accounts/login/")
    if check is not None:
        check(page)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password or PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def choose(group, label: str, typed: str, option: str) -> None:
    """Types into the type-ahead (accessible-autocomplete) and picks the option offered, as a person would."""
    group.get_by_label(label, exact=True).fill(typed)
    group.page.get_by_role("listbox").get_by_role("option", name=option, exact=True).click()
    expect(group.get_by_label(label, exact=True)).to_have_value(option)



def sign_out(page) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_load_state()


def fill_date(page, legend: str, day: str, month: str, year: str) -> None:
    """Fills the day, month and year of the GOV.UK date input whose fieldset has this legend."""
    group = page.get_by_role("group", name=legend)
    group.get_by_label("Day", exact=True).fill(day)
    group.get_by_label("Month", exact=True).fill(month)
    group.get_by_label("Year", exact=True).fill(year)


def ask_the_check(page, recipient: str, dataset: str, why: str | None = None) -> None:
    """On the check page ("Can I share?"), asks whether the signed-in person may share `dataset` with `recipient`."""
    page.get_by_label("Who do you want to share with?").fill(recipient)
    page.get_by_label("What information do you want to share?").fill(dataset)
    if why is not None:
        page.get_by_label("Why do you want to share it? (optional)").fill(why)
    page.get_by_role("button", name="Check").click()
