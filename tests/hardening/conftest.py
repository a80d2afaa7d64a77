# The browser fixtures (one Chromium for the session, a fresh page per test) for test_csp_browser.py.
from tests.browser.conftest import browser, chromium_path, page  # noqa: F401
