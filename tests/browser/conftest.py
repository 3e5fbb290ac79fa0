"""Playwright fixtures: the real ``yiwang serve`` in a subprocess and system Chromium.

Browser tests never download a browser (no ``playwright install``): they drive Debian's
``/usr/bin/chromium`` and are skipped with a clear reason when it is missing.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from dashboard.auth import COOKIE
from pipelines.settings import Settings
from tests.signin import session_token

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
#: Chromium's SwiftShader WebGL (software rendering) reports stalls as console warnings;
#: they are not app errors.
IGNORED_CONSOLE = ("GPU stall", "GL Driver Message")


#: One security folder (users, sessions, audit log) for every server a test session starts,
#: so one signed-in cookie opens them all (cookies are per host, not per port).
SECURITY_DIR = Path(tempfile.mkdtemp(prefix="yiwang-security-"))
_TOKENS: dict[str, str] = {}


def signed_in_cookie(user: str = "admin") -> dict[str, Any]:
    """A Playwright cookie of a live session of ``user`` on every test server."""
    if user not in _TOKENS:
        _TOKENS[user] = session_token(SECURITY_DIR, user)
    return {"name": COOKIE, "value": _TOKENS[user], "domain": "127.0.0.1", "path": "/"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium to run browser tests")
    return CHROMIUM


@dataclass
class Served:
    """A running ``yiwang serve``: its base URL and process (``pid`` for memory readings)."""

    base: str
    process: subprocess.Popen[bytes]
    log: Path


@contextmanager
def serve(
    data_dir: Path, log: Path, *, env: Mapping[str, str] | None = None, timeout: float = 60
) -> Iterator[Served]:
    """Run ``yiwang serve`` on ``data_dir`` in a subprocess until the ``with`` block ends.

    Parameters
    ----------
    data_dir
        The data folder whose published warehouse is served.
    log
        File for the server's output (shown when it fails to start).
    env
        Extra environment variables (``YIWANG_*`` settings) for the server.
    timeout
        Seconds to wait for the first page.
    """
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "pipelines",
        "serve",
        "--data-dir",
        str(data_dir),
        "--port",
        str(port),
    ]
    with log.open("w") as out:
        proc = subprocess.Popen(
            cmd,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            env={**os.environ, "YIWANG_SECURITY_DIR": str(SECURITY_DIR), **(env or {})},
        )
    signed_in_cookie("admin")
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                with urllib.request.urlopen(base + "/login", timeout=2) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"yiwang serve did not start:\n{log.read_text()}")
            time.sleep(0.3)
        yield Served(base, proc, log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def server(
    chromium_path: Path, built_city: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """``yiwang serve`` on the small city, in a subprocess, until the session ends.

    Depends on ``chromium_path`` so that a machine without Chromium skips before building
    the city and starting a server for nothing.
    """
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    with serve(built_city.data_dir, log) as served:
        yield served.base


@pytest.fixture(scope="session")
def browser(chromium_path: Path) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS)
        yield b
        b.close()


class PageWatch:
    """Console errors and non-local requests seen by one page."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.foreign: list[str] = []

    def on_console(self, message: Any) -> None:
        if message.type == "error" and not any(s in message.text for s in IGNORED_CONSOLE):
            self.errors.append(message.text)

    def on_request(self, request: Any) -> None:
        url = urlparse(request.url)
        # blob: and data: URLs are MapLibre's in-page workers and images.
        if url.scheme in ("http", "https", "ws", "wss") and url.hostname not in LOCAL_HOSTS:
            self.foreign.append(request.url)


@pytest.fixture
def watch() -> PageWatch:
    return PageWatch()


def open_page(
    browser: Any, watch: PageWatch, *, width: int, height: int, user: str | None = "admin"
) -> Any:
    """A new page in its own context, signed in as ``user`` (``None``: signed out)."""
    context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
    if user is not None:
        context.add_cookies([signed_in_cookie(user)])
    page = context.new_page()
    page.on("console", watch.on_console)
    page.on("pageerror", lambda exc: watch.errors.append(f"pageerror: {exc}"))
    page.on("request", watch.on_request)
    return page


@pytest.fixture
def wall(browser: Any, watch: PageWatch) -> Iterator[Any]:
    """A 1920×1080 page (the command-center wall); asserts cleanliness at teardown."""
    page = open_page(browser, watch, width=1920, height=1080)
    yield page
    page.context.close()
    assert watch.errors == [], f"console errors: {watch.errors}"
    assert watch.foreign == [], f"requests left localhost: {watch.foreign}"


@pytest.fixture
def phone(browser: Any, watch: PageWatch) -> Iterator[Any]:
    """A 390×844 page (a grid chief's phone); asserts cleanliness at teardown."""
    page = open_page(browser, watch, width=390, height=844)
    yield page
    page.context.close()
    assert watch.errors == [], f"console errors: {watch.errors}"
    assert watch.foreign == [], f"requests left localhost: {watch.foreign}"


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture(scope="session")
def cjk_font() -> None:
    """Chinese needs a CJK font on the machine, else labels render as boxes."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        pytest.skip("fontconfig missing: cannot check for a CJK font")
    fonts = subprocess.run([fc_list, ":lang=zh"], capture_output=True, text=True).stdout
    assert fonts.strip(), "no CJK font installed (Debian: apt-get install fonts-noto-cjk)"
