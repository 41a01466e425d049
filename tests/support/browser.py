"""A real headless Chromium (Debian's ``chromium`` package) driven by Playwright, for tests
that check what an operator sees in a browser.

``scripts/test.sh`` installs the package when it is missing (``ensure_test_packages`` in
``scripts/services.sh``); Playwright's own browser download is never used. Screenshots go
to ``var/test-artifacts/screenshots/`` so a CI run keeps them as artefacts.
"""

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.processes import ROOT

SCREENSHOT_DIR = ROOT / "var" / "test-artifacts" / "screenshots"

# Without the background-networking flags Chromium keeps trying to reach Google's hosts,
# which a closed network refuses many times a second.
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    path = os.environ.get("CHROMIUM") or shutil.which("chromium")
    if not path:
        raise RuntimeError(
            "Chromium is not installed: `make test` installs Debian's chromium package; "
            "or set CHROMIUM=/path/to/chromium"
        )
    return path


@contextmanager
def chromium(viewport: tuple[int, int] = (1400, 900)) -> Iterator:
    """A fresh browser context (no cookies) in a real headless Chromium."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
            yield context
            context.close()
        finally:
            browser.close()


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot as a test artefact; returns its path."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOT_DIR / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def admin_login(page, base_url: str, username: str, password: str) -> None:
    """Log in through the admin's own login form, as an operator does."""
    page.goto(f"{base_url}/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_url(f"{base_url}/admin/")
