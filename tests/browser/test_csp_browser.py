"""The Content-Security-Policy in a real browser: every screen works under it, unchanged.

Signs in through the ``/login`` form (so the form, its redirect and the session cookie work
under ``form-action`` and the rest of the policy), then opens the city cockpit, a district
cockpit, the wall and the grid chief's view. Each page records every
``securitypolicyviolation`` event from its first script on; none may fire, no console
error may appear, and each page's map must draw (MapLibre's blob: worker, plotly's styles).

It also counts the callbacks a cockpit load fires, in total and in the busiest second,
against the per-session burst (``callback_rate``): docs for the limit cite these numbers.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from limits import parse_many

from dashboard import routes, users
from pipelines.settings import Settings
from tests.browser.conftest import PageWatch, serve
from tests.browser.test_cockpit_browser import MAP_READY, assert_map_drawn
from tests.browser.test_wall_browser import wait_for_drawn_map

pytestmark = [pytest.mark.browser]

DISTRICT, STREET, COMMUNITY, GRID = "440304", "440304001", "440304001001", "440304001001001"
PASSWORD = "csp-test-password"
REPORT = Path(__file__).resolve().parents[2] / "artifacts" / "csp_callbacks.json"

#: Installed before any page script: every CSP violation of the page, kept on window.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', e => window.__cspViolations.push({
  directive: e.violatedDirective, blocked: e.blockedURI, source: e.sourceFile,
  line: e.lineNumber, sample: e.sample}));
"""

GRID_MAP_READY = """() => {
  const img = document.querySelector('#grid-map img');
  return !!(document.querySelector('#grid-view') && img && img.complete && img.naturalWidth > 0);
}"""


@pytest.fixture(scope="module")
def signed_in_server(
    chromium_path: Path, built_city: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """``yiwang serve`` with its own users file, on loopback (signed in through the form)."""
    security = tmp_path_factory.mktemp("csp-security")
    users.write(
        security / "users.toml",
        users.demo_users(
            DISTRICT, STREET, COMMUNITY, GRID, password_hash=users.hash_password(PASSWORD)
        ),
        header="CSP browser test users",
    )
    log = tmp_path_factory.mktemp("csp-serve") / "serve.log"
    with serve(
        built_city.data_dir, log, env={"YIWANG_SECURITY_DIR": str(security)}, timeout=90
    ) as served:
        yield served.base


@pytest.fixture(scope="module")
def context(browser: Any, signed_in_server: str) -> Iterator[Any]:
    """A browser context signed in as the admin through the login form."""
    ctx = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN")
    ctx.add_init_script(RECORD_VIOLATIONS)
    page = ctx.new_page()
    # (Console errors are not checked here: signed out, the browser's own favicon request
    # gets the gate's 401, which is the gate's business, not the policy's.)
    page.goto(f"{signed_in_server}/login?lang=en&next=/wall")
    assert page.evaluate("window.__cspViolations") == []
    page.fill("input[name=user]", "admin")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{signed_in_server}/wall")
    assert page.evaluate("window.__cspViolations") == []
    page.close()
    yield ctx
    ctx.close()


class Callbacks:
    """Times of the page's ``/_dash-update-component`` requests."""

    def __init__(self) -> None:
        self.times: list[float] = []

    def on_request(self, request: Any) -> None:
        if urlparse(request.url).path == "/_dash-update-component":
            self.times.append(time.monotonic())

    def busiest_second(self) -> int:
        return max((sum(1 for u in self.times if t <= u < t + 1) for t in self.times), default=0)


def open_watched(context: Any, url: str) -> tuple[Any, PageWatch, Callbacks]:
    page = context.new_page()
    watch = PageWatch()
    calls = Callbacks()
    page.on("console", watch.on_console)
    page.on("pageerror", lambda exc: watch.errors.append(f"pageerror: {exc}"))
    page.on("request", watch.on_request)
    page.on("request", calls.on_request)
    page.goto(url)
    return page, watch, calls


def assert_clean(page: Any, watch: PageWatch) -> None:
    violations = page.evaluate("window.__cspViolations")
    page.close()
    assert violations == [], json.dumps(violations, indent=1)
    assert watch.errors == [], watch.errors
    assert watch.foreign == [], watch.foreign


def test_the_cockpits_draw_their_maps_under_the_policy(context, signed_in_server):
    loads: dict[str, dict[str, int]] = {}
    for name, path in (("city", "/"), ("district", f"/district/{DISTRICT}")):
        page, watch, calls = open_watched(context, signed_in_server + path)
        page.wait_for_selector("#cockpit-map .maplibregl-canvas", timeout=60_000)
        page.wait_for_function(MAP_READY, timeout=60_000)
        page.wait_for_load_state("networkidle")
        assert_map_drawn(page)
        loads[name] = {"callbacks": len(calls.times), "busiest_second": calls.busiest_second()}
        assert_clean(page, watch)
    burst = min(
        item.amount for item in parse_many(Settings().callback_rate) if item.get_expiry() == 1
    )
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(json.dumps({"burst": burst, **loads}, indent=1), encoding="utf-8")
    assert all(load["callbacks"] > 0 for load in loads.values()), loads
    # A page load stays within the per-second burst, with room for a click right after.
    assert all(load["busiest_second"] <= burst // 2 for load in loads.values()), loads


def test_the_wall_draws_its_map_under_the_policy(context, signed_in_server):
    page, watch, _ = open_watched(context, f"{signed_in_server}/wall")
    page.wait_for_selector(".yw-wall-frame", timeout=60_000)
    wait_for_drawn_map(page)
    assert_clean(page, watch)


def test_the_grid_view_draws_its_map_under_the_policy(context, signed_in_server):
    page, watch, _ = open_watched(context, f"{signed_in_server}/grid/{GRID}")
    page.wait_for_function(GRID_MAP_READY, timeout=60_000)
    page.wait_for_load_state("networkidle")
    assert_clean(page, watch)


def test_an_inline_script_is_blocked_and_reported(context, signed_in_server):
    """The policy is live: a script the server did not hash is refused."""
    page, _watch, _ = open_watched(context, f"{signed_in_server}/login?lang=en")
    page.evaluate(
        """() => { const s = document.createElement('script');
        s.textContent = 'window.__injected = true'; document.body.appendChild(s); }"""
    )
    page.wait_for_timeout(200)
    assert page.evaluate("window.__injected === undefined")
    violations = page.evaluate("window.__cspViolations")
    page.close()
    assert [v["directive"] for v in violations] == ["script-src-elem"]


@pytest.mark.parametrize("view", routes.VIEWS)
def test_every_cockpit_view_runs_without_eval_or_inline_script(context, signed_in_server, view):
    """plotly.js's map, bar and line traces and Dash need neither ``'unsafe-eval'`` nor
    ``'unsafe-inline'`` scripts, on every view of the cockpit."""
    url = f"{signed_in_server}/district/{DISTRICT}?view={view}"
    page, watch, _ = open_watched(context, url)
    page.wait_for_selector("#cockpit-title", timeout=60_000)
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(1500)
    assert_clean(page, watch)
