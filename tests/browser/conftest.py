"""A real browser (the system Chromium, driven by Playwright) for the browser test tier.

`browser` is one headless Chromium for the session. `page` is a fresh, isolated context per test
that lets only `file:` and `data:` URLs through: every other request is aborted and recorded, so a
test can assert that nothing tried to reach the network. Console messages, uncaught page errors
and dialogs (auto-dismissed) are recorded too.

`lab_server` is a real `jupyter lab` for the session, started lazily by the first test that asks
for it; `lab_page` is a fresh Lab page on it per test, with the same closed network (see
tests/browser/jupyterlab.py).

Chromium comes from the OS (`scripts/ensure_browser.sh` installs Debian's package); Playwright
never downloads a browser. Without `/usr/bin/chromium` the tier is skipped on a developer machine
and fails under CI (`CI` set), where a missing browser is a broken setup, not an excuse.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.browser.jupyterlab import (
    LabServer,
    LabSession,
    closed_page,
    lab_available,
    open_lab_session,
    running_lab_server,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, ViewportSize

os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",  # we run as root (locally and in CI); the sandbox refuses root
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ALLOWED_SCHEMES = ("file:", "data:")
VIEWPORT: ViewportSize = {"width": 1280, "height": 900}
DEFAULT_TIMEOUT_MS = 15_000


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _unavailable(reason: str) -> None:
    """Skip the browser tier locally; fail it under CI."""
    if in_ci():
        pytest.fail(
            f"{reason}, and CI is set: the browser tier must run in CI. "
            "Run scripts/ensure_browser.sh before the tests.",
            pytrace=False,
        )
    pytest.skip(f"browser tier skipped: {reason} (run scripts/ensure_browser.sh to install it)")


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        _unavailable(f"no system Chromium at {CHROMIUM}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as error:
        _unavailable(f"the playwright package is not installed ({error})")
    playwright = sync_playwright().start()
    try:
        try:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
            )
        except Exception as error:
            pytest.fail(
                f"Chromium at {CHROMIUM} is installed but would not start under Playwright: "
                f"{error}",
                pytrace=False,
            )
        try:
            yield browser
        finally:
            browser.close()
    finally:
        playwright.stop()


@dataclass
class BrowserPage:
    """A page plus everything it did that a test may want to assert on."""

    page: Page
    blocked: list[str] = field(default_factory=list)  # URLs aborted: not file: or data:
    requests: list[str] = field(default_factory=list)  # every request the page made
    console: list[tuple[str, str, str]] = field(default_factory=list)  # (type, text, where)
    page_errors: list[str] = field(default_factory=list)  # uncaught exceptions in the page
    dialogs: list[tuple[str, str]] = field(default_factory=list)  # (type, message), dismissed

    def console_errors(self) -> list[str]:
        return [f"{text} (at {where})" for kind, text, where in self.console if kind == "error"]

    def external_requests(self) -> list[str]:
        return [url for url in self.requests if not url.startswith(ALLOWED_SCHEMES)]

    def describe(self) -> str:
        """Everything recorded, for a failure message."""
        lines = [
            f"blocked requests: {self.blocked or 'none'}",
            f"external requests: {self.external_requests() or 'none'}",
            f"dialogs: {self.dialogs or 'none'}",
            f"page errors: {self.page_errors or 'none'}",
            "console:",
            *(f"  [{kind}] {text} (at {where})" for kind, text, where in self.console),
        ]
        return "\n".join(lines)


@pytest.fixture
def page(browser: Browser) -> Iterator[BrowserPage]:
    blocked: list[str] = []
    requests: list[str] = []
    console: list[tuple[str, str, str]] = []
    page_errors: list[str] = []
    dialogs: list[tuple[str, str]] = []
    context, page = closed_page(
        browser,
        viewport=VIEWPORT,
        timeout_ms=DEFAULT_TIMEOUT_MS,
        allowed=lambda url: url.startswith(ALLOWED_SCHEMES),
        blocked=blocked,
        requests=requests,
        console=console,
        page_errors=page_errors,
        dialogs=dialogs,
    )
    recorded = BrowserPage(page, blocked, requests, console, page_errors, dialogs)
    try:
        yield recorded
    finally:
        context.close()


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """One `jupyter lab` for the session, started only when a Lab test first asks for it."""
    reason = lab_available()
    if reason:
        _unavailable(reason)
    with running_lab_server(tmp_path_factory.mktemp("jupyterlab")) as server:
        yield server


@pytest.fixture
def lab_page(browser: Browser, lab_server: LabServer) -> Iterator[LabSession]:
    """A fresh Lab page per test, network closed; its kernels are shut down afterwards."""
    with open_lab_session(browser, lab_server) as session:
        yield session
