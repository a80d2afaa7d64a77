"""A real OpenID provider on 127.0.0.1 for the single sign-on tests: tests/oidc_provider/server.mjs, the certified
`oidc-provider` package run by node. Installed (npm ci) and started on demand; stopped when the run ends."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

import requests

ROOT = Path(__file__).resolve().parents[2]
PROVIDER_DIR = ROOT / "tests" / "oidc_provider"
CLIENT_ID = "sharing-registry"
CLIENT_SECRET = "test-secret-not-for-production"  # noqa: S105 - the throwaway test provider's client secret


@dataclass
class Provider:
    issuer: str
    process: subprocess.Popen

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def install() -> None:
    """npm ci into tests/oidc_provider/ when its packages are missing (idempotent; CI runs it on a clean clone)."""
    if (PROVIDER_DIR / "node_modules" / "oidc-provider" / "package.json").exists():
        return
    subprocess.run([str(ROOT / "scripts" / "npm"), "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                   cwd=PROVIDER_DIR, check=True, timeout=300)


def start(redirect_uris: list[str]) -> Provider:
    install()
    port = _free_port()
    env = {**os.environ, "OIDC_TEST_PORT": str(port), "OIDC_TEST_CLIENT_ID": CLIENT_ID,
           "OIDC_TEST_CLIENT_SECRET": CLIENT_SECRET, "OIDC_TEST_REDIRECT_URIS": ",".join(redirect_uris)}
    process = subprocess.Popen([str(ROOT / "scripts" / "node"), "server.mjs"], cwd=PROVIDER_DIR, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    issuer = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"The test OpenID provider stopped: {process.stdout.read()}")
        try:
            if requests.get(f"{issuer}/.well-known/openid-configuration", timeout=1).ok:
                return Provider(issuer=issuer, process=process)
        except requests.ConnectionError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("The test OpenID provider did not start within 60 seconds")


def sign_in_at_provider(authorize_url: str, login: str, redirect_prefix: str) -> str:
    """What a person does at the provider: open the sign-in page, give a login (any password), and come back.
    Returns the URL the provider sends the browser back to (the registry's callback, with code and state)."""
    session = requests.Session()
    url = authorize_url
    for _ in range(10):
        if url.startswith(redirect_prefix):
            return url
        response = session.get(url, allow_redirects=False, timeout=10)
        if response.is_redirect:
            url = urljoin(url, response.headers["Location"])
            continue
        action = re.search(r'<form[^>]*action="([^"]+)"', response.text)
        assert action, f"no sign-in form at {url}: {response.text[:300]}"
        response = session.post(urljoin(url, action.group(1)),
                                data={"prompt": "login", "login": login, "password": "anything"},
                                allow_redirects=False, timeout=10)
        url = urljoin(url, response.headers["Location"])
    raise AssertionError("the provider never sent the browser back")
