"""Web hardening: security headers, rate limits, the locked warehouse connection, debug off."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import subprocess
import sys
from types import SimpleNamespace
from typing import Any

import duckdb
import flask
import pandas as pd
import pytest
from limits import parse_many
from typer.testing import CliRunner

from dashboard import data, figures, fmt, hardening
from pipelines import cli
from pipelines.settings import Settings
from tests.signin import PASSWORD

#: A callback request Dash cannot answer (no such output): cheap, and counted all the same.
_NO_SUCH_CALLBACK = {
    "output": "nowhere.children",
    "outputs": {},
    "inputs": [],
    "changedPropIds": [],
}


@pytest.fixture
def limiter(app: Any) -> Any:
    """The app's rate limiter, with every counter cleared before and after the test."""
    (found,) = app.server.extensions["limiter"]
    found.reset()
    yield found
    found.reset()


def _csp(response: Any) -> dict[str, list[str]]:
    policy = response.headers["Content-Security-Policy"]
    return {d.split()[0]: d.split()[1:] for d in policy.split("; ")}


def _login_form(client: Any, lang: str = "en") -> str:
    page = client.get(f"/login?lang={lang}").get_data(as_text=True)
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    assert match, page
    return match.group(1)


def _sign_in(client: Any, user: str, password: str) -> Any:
    csrf = _login_form(client)
    return client.post(
        "/login?lang=en", data={"csrf": csrf, "user": user, "password": password, "next": "/"}
    )


# ---------------------------------------------------------------------------------------------
# headers


@pytest.mark.parametrize(
    "path", ["/", "/district/440304", "/_dash-layout", "/assets/cockpit.css", "/no/such/page"]
)
def test_every_response_carries_the_security_headers(client, path):
    response = client.get(path, headers={"Accept": "text/html"})
    headers = response.headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "geolocation=()" in headers["Permissions-Policy"]
    assert "camera=()" in headers["Permissions-Policy"]
    assert "microphone=()" in headers["Permissions-Policy"]
    csp = _csp(response)
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["base-uri"] == ["'self'"]
    assert csp["form-action"] == ["'self'"]
    assert csp["object-src"] == ["'none'"]


def test_signed_out_responses_carry_the_headers_too(app):
    anonymous = app.server.test_client()
    for response in (
        anonymous.get("/login"),
        anonymous.get("/", headers={"Accept": "text/html"}),
        anonymous.post("/_dash-update-component", json=_NO_SUCH_CALLBACK),
    ):
        assert response.status_code in (200, 302, 401)
        assert "Content-Security-Policy" in response.headers
        assert response.headers["X-Frame-Options"] == "DENY"


def test_scripts_run_only_from_this_site_and_dashs_hashed_inline_renderer(client):
    response = client.get("/city", headers={"Accept": "text/html"})
    html = response.get_data(as_text=True)
    scripts = _csp(response)["script-src"]
    assert "'unsafe-inline'" not in scripts
    assert "'unsafe-eval'" not in scripts
    assert scripts[0] == "'self'"
    inline = [
        body
        for attrs, body in re.findall(r"<script([^>]*)>(.*?)</script>", html, flags=re.S)
        if body.strip() and "application/json" not in attrs
    ]
    assert inline, "Dash's renderer script is inline"
    for body in inline:
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in scripts


def test_maps_may_use_blob_workers_and_images_but_nothing_off_site_without_a_basemap(client):
    csp = _csp(client.get("/", headers={"Accept": "text/html"}))
    assert "blob:" in csp["worker-src"]
    assert {"'self'", "data:", "blob:"} <= set(csp["img-src"])
    assert csp["connect-src"] == ["'self'"]
    assert csp["default-src"] == ["'self'"]


def test_a_basemap_host_may_serve_tiles_to_images_and_fetches():
    policy = hardening.content_security_policy(
        ["'sha256-x'"], "https://tiles.city.example:8443/base/{z}/{x}/{y}.png"
    )
    directives = {d.split()[0]: d.split()[1:] for d in policy.split("; ")}
    assert "https://tiles.city.example:8443" in directives["img-src"]
    assert "https://tiles.city.example:8443" in directives["connect-src"]
    assert "https://tiles.city.example:8443" not in directives["script-src"]


def test_a_subdomain_template_becomes_a_wildcard_host():
    assert (
        hardening.basemap_origin("https://{s}.tiles.example.org/{z}/{x}/{y}.png")
        == "https://*.tiles.example.org"
    )
    assert hardening.basemap_origin("") is None


@pytest.mark.parametrize(
    "url", ["https://til'es.example/{z}/{x}/{y}", "https://a.{s}.example/{z}/{x}/{y}"]
)
def test_a_basemap_host_that_cannot_sit_in_a_policy_is_refused(url):
    with pytest.raises(ValueError, match="cannot be put in a CSP"):
        hardening.basemap_origin(url)


def _headers_of(settings: Settings, endpoint: str = "x") -> Any:
    fake_app = SimpleNamespace(csp_hashes=lambda: ["'sha256-abc'"])
    hook = hardening.security_headers(fake_app, settings)  # type: ignore[arg-type]
    server = flask.Flask("headers-test")
    with server.test_request_context("/"):
        flask.request.url_rule = SimpleNamespace(endpoint=endpoint)  # type: ignore[assignment]
        return hook(flask.Response("{}")).headers


def test_hsts_is_sent_only_when_cookies_are_secure():
    assert "Strict-Transport-Security" not in _headers_of(Settings(host="127.0.0.1"))
    secure = _headers_of(Settings(host="0.0.0.0", cookie_secure="auto"))
    assert secure["Strict-Transport-Security"].startswith("max-age=")
    assert "Strict-Transport-Security" in _headers_of(Settings(cookie_secure="true"))


def test_scoped_data_responses_are_never_stored(client, limiter):
    responses = [
        client.get("/", headers={"Accept": "text/html"}),
        client.get("/_dash-layout"),
        client.get("/_dash-dependencies"),
        client.post("/_dash-update-component", json=_NO_SUCH_CALLBACK),
        client.get("/export/nonsense.csv"),
    ]
    for response in responses:
        assert response.headers["Cache-Control"] == "no-store"


def test_static_files_stay_cacheable(client):
    for path in ("/assets/cockpit.css", "/login.css"):
        response = client.get(path)
        assert response.status_code == 200
        assert "no-store" not in response.headers.get("Cache-Control", "")


# ---------------------------------------------------------------------------------------------
# rate limits


def test_a_sixth_wrong_password_in_a_minute_gets_the_friendly_429(app, limiter):
    browser = app.server.test_client()
    for _ in range(5):
        assert _sign_in(browser, "street", "wrong password!").status_code == 401
    refused = _sign_in(browser, "street", "wrong password!")
    assert refused.status_code == 429
    assert "Too many attempts" in refused.get_data(as_text=True)
    assert int(refused.headers["Retry-After"]) >= 1
    assert "Content-Security-Policy" in refused.headers
    # Even the right password waits: the limit is on guessing, not on being wrong.
    assert _sign_in(browser, "street", PASSWORD).status_code == 429
    # Another account from the same address, or the same account from elsewhere, is not held.
    assert _sign_in(browser, "grid", PASSWORD).status_code == 303
    elsewhere = app.server.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "10.1.2.3"
    assert _sign_in(elsewhere, "street", PASSWORD).status_code == 303


def test_successful_sign_ins_are_not_counted_as_attempts(app, limiter):
    browser = app.server.test_client()
    for _ in range(7):
        assert _sign_in(browser, "analyst", PASSWORD).status_code == 303


def test_one_address_guessing_across_many_accounts_is_held_too(app, limiter):
    browser = app.server.test_client()
    statuses = [_sign_in(browser, f"nobody{i}", "wrong password!").status_code for i in range(31)]
    assert statuses[:30] == [401] * 30
    assert statuses[30] == 429


def test_a_session_over_its_callback_rate_gets_429_json_and_nothing_else(client_as, limiter):
    street = client_as("street")
    statuses = [
        street.post("/_dash-update-component", json=_NO_SUCH_CALLBACK).status_code
        for _ in range(20)
    ]
    assert 429 not in statuses
    refused = street.post("/_dash-update-component", json=_NO_SUCH_CALLBACK)
    assert refused.status_code == 429
    assert refused.get_json() == {"error": "too many requests"}
    assert refused.headers["Cache-Control"] == "no-store"
    assert int(refused.headers["Retry-After"]) >= 1
    # Another session of another user is unaffected.
    other = client_as("grid").post("/_dash-update-component", json=_NO_SUCH_CALLBACK)
    assert other.status_code != 429


def test_signed_out_callbacks_are_refused_by_the_gate_before_any_limit(app, limiter):
    anonymous = app.server.test_client()
    for _ in range(25):
        response = anonymous.post("/_dash-update-component", json=_NO_SUCH_CALLBACK)
        assert response.status_code == 401


def test_exports_are_limited_per_user(client_as, limiter):
    burst = min(parse_many(hardening.EXPORT_RATE), key=lambda item: item.get_expiry()).amount
    analyst = client_as("analyst")
    statuses = [analyst.get("/export/nonsense.csv").status_code for _ in range(burst)]
    assert statuses == [400] * burst
    refused = analyst.get("/export/nonsense.csv")
    assert refused.status_code == 429
    assert refused.get_json() == {"error": "too many requests"}
    # A second session of the same user shares the user's budget; another user does not.
    assert client_as("analyst").get("/export/nonsense.csv").status_code == 429
    assert client_as("admin").get("/export/nonsense.csv").status_code == 400


def test_contact_reveals_are_limited_per_user(app, client_as, limiter):
    if hardening.CONTACT_ENDPOINT not in app.server.view_functions:
        pytest.skip("the contact reveal route is not in this app yet")
    rule = next(
        r for r in app.server.url_map.iter_rules() if r.endpoint == hardening.CONTACT_ENDPOINT
    )
    path = rule.rule.replace("<request_id>", "no-such-request")
    burst = min(parse_many(hardening.CONTACT_RATE), key=lambda item: item.get_expiry()).amount
    grid = client_as("grid")
    statuses = [grid.post(path).status_code for _ in range(burst + 1)]
    assert 429 not in statuses[:burst]
    assert statuses[burst] == 429


# ---------------------------------------------------------------------------------------------
# the warehouse connection


_FILES_OFF = "file system operations are disabled"
_LOCKED = "configuration has been locked"


@pytest.mark.parametrize(
    ("sql", "why"),
    [
        ("SELECT * FROM read_csv('/etc/passwd')", _FILES_OFF),
        ("SELECT * FROM read_text('/etc/hostname')", _FILES_OFF),
        ("SELECT * FROM glob('/etc/*')", _FILES_OFF),
        ("COPY (SELECT 1 AS x) TO '/tmp/yiwang-hardening-leak.csv'", _FILES_OFF),
        ("ATTACH '/tmp/yiwang-hardening.duckdb' AS other", _FILES_OFF),
        ("INSTALL httpfs", _FILES_OFF),
        ("LOAD httpfs", "extensions is disabled"),
        ("SET enable_external_access = true", _LOCKED),
        ("SET lock_configuration = false", _LOCKED),
        ("SET memory_limit = '64GB'", _LOCKED),
        ("CREATE TABLE leak AS SELECT 1", "read-only mode"),
    ],
)
def test_the_dashboards_connection_reads_the_warehouse_and_nothing_else(city_data, sql, why):
    cur = data.current_build().con.cursor()
    try:
        with pytest.raises(duckdb.Error, match=why):
            cur.execute(sql)
    finally:
        cur.close()


def test_the_dashboards_connection_is_read_only_external_access_off_and_locked(city_data):
    cur = data.current_build().con.cursor()
    try:
        row = cur.execute(
            "SELECT current_setting('enable_external_access'), "
            "current_setting('lock_configuration'), current_setting('access_mode')"
        ).fetchall()[0]
    finally:
        cur.close()
    assert row == (False, True, "read_only")


# ---------------------------------------------------------------------------------------------
# debug


def test_serve_refuses_debug_on_a_network_address(built_city, monkeypatch):
    ran: list[dict[str, Any]] = []
    monkeypatch.setattr(cli, "_run_server", lambda app, **kw: ran.append(kw))
    result = CliRunner().invoke(
        cli.app,
        ["serve", "--data-dir", str(built_city.data_dir), "--host", "0.0.0.0", "--debug"],
    )
    assert result.exit_code == 2
    assert "debug" in result.output and "loopback" in result.output
    assert ran == []


def test_serve_allows_debug_on_loopback(built_city, monkeypatch):
    import dashboard.app

    ran: list[dict[str, Any]] = []
    # A second real app in this process would re-point the session app's globals.
    monkeypatch.setattr(dashboard.app, "create_app", lambda settings: "the app")
    monkeypatch.setattr(cli, "_run_server", lambda app, **kw: ran.append({"app": app, **kw}))
    result = CliRunner().invoke(
        cli.app, ["serve", "--data-dir", str(built_city.data_dir), "--host", "::1", "--debug"]
    )
    assert result.exit_code == 0, result.output
    assert ran == [
        {"app": "the app", "host": "::1", "port": built_city.port, "debug": True, "threads": 16}
    ]


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("10.0.0.5", False),
        ("cockpit.city.example", False),
    ],
)
def test_only_loopback_addresses_count_as_loopback(host, loopback):
    assert cli._loopback(host) is loopback


def test_the_wsgi_factory_never_debugs_whatever_the_environment(built_city):
    """``gunicorn 'dashboard.app:server()'`` with FLASK_DEBUG / DASH_UI left set."""
    code = (
        "import json\n"
        "import dashboard.hardening as h\n"
        "seen = {}\n"
        "real = h.install\n"
        "def spy(app, settings):\n"
        "    seen['app'] = app\n"
        "    return real(app, settings)\n"
        "h.install = spy\n"
        "from dashboard.app import server\n"
        "s = server()\n"
        "tools = seen['app']._dev_tools\n"
        "print(json.dumps({'debug': s.debug, 'ui': tools.ui, 'props': tools.props_check}))\n"
    )
    env = {
        **os.environ,
        "YIWANG_DATA_DIR": str(built_city.data_dir),
        "FLASK_DEBUG": "1",
        "DASH_UI": "true",
        "DASH_PROPS_CHECK": "true",
    }
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == {
        "debug": False,
        "ui": False,
        "props": False,
    }


# ---------------------------------------------------------------------------------------------
# citizen text in plotly labels

_PLANTED = (
    "<img src=x onerror=alert(1)>",
    '<a href="javascript:alert(1)">call me</a>',
    "<b>URGENT</b> & <br>second line",
)


@pytest.mark.parametrize("planted", _PLANTED)
def test_plotly_text_is_drawn_exactly_as_typed(planted):
    import html

    shown = fmt.plotly_text(planted)
    # plotly splits tags first, then decodes entities in the text: no tag is left to split
    assert "<" not in shown and ">" not in shown
    assert html.unescape(shown) == planted


def test_an_ampersand_is_left_as_typed():
    assert fmt.plotly_text("Environment & water") == "Environment & water"


def test_missing_text_shows_the_dash():
    assert fmt.plotly_text(None) == fmt.NA
    assert fmt.plotly_text(float("nan")) == fmt.NA


@pytest.mark.parametrize("planted", _PLANTED)
def test_a_planted_category_name_is_text_on_the_category_bars(planted):
    categories = pd.DataFrame(
        {
            "l1_zh": [planted, "道路"],
            "l1_en": [planted, "Roads"],
            "requests": [9, 4],
            "open": [2, 1],
        }
    )
    figure = figures.category_bars(
        categories, lang="en", text={"requests": "Requests", "open": "Open", "empty": "-"}
    )
    names = figure["data"][0]["y"]
    assert fmt.plotly_text(planted) in names
    assert planted not in names


@pytest.mark.parametrize("planted", _PLANTED)
def test_a_planted_unit_name_is_text_in_the_ranking_chart_and_map_hover(planted):
    ranked = pd.DataFrame({"value": [0.5], "ci_low": [0.4], "ci_high": [0.6], "eligible": [True]})
    chart = figures.interval_chart(
        ranked, names=[planted], unit="share", text={"ranked": "r", "too_few": "t", "empty": "-"}
    )
    assert chart["data"][0]["y"] == [fmt.plotly_text(planted)]
    frame = pd.DataFrame(
        {"requests": [3], "open": [1], "overdue": [0], "name": [planted], "drill_path": ["/x"]}
    )
    (row,) = figures._customdata(frame, ["12.0"], "name")
    assert row[4] == fmt.plotly_text(planted)
    assert row[5] == "/x"  # the drill path is left alone
    marks = pd.DataFrame({"lng": [114.0], "lat": [22.5], "kind": ["alert"], "label": [planted]})
    assert figures.marks_trace(marks)["hovertext"] == [fmt.plotly_text(planted)]


@pytest.mark.parametrize("planted", _PLANTED)
def test_a_planted_owner_or_address_is_text_in_the_component_hover(planted):
    from dashboard import component_figures

    row = {
        "component_id": "C-1",
        "kind": "manhole",
        "kind_name": "Manhole",
        "state": "normal",
        "state_text": "In service",
        "owner": planted,
        "property_unit": planted,
        "maintainer": planted,
        "last_alarm_text": "—",
        "failures_30d": 0,
        "lng": 114.05,
        "lat": 22.54,
    }
    figure = component_figures.component_point_map(
        pd.DataFrame([row]),
        kinds=[("manhole", "Manhole")],
        bbox=(114.0, 22.5, 114.1, 22.6),
        unit_outline=None,
        child_outlines=[],
        text={
            k: k
            for k in ("status", "owner", "property_unit", "maintainer", "last_alarm", "failures")
        },
    )
    custom = [c for t in figure["data"] for c in t.get("customdata", [])]
    assert custom, figure["data"]
    shown = custom[0]
    assert shown[3] == shown[4] == shown[5] == fmt.plotly_text(planted)
    assert all(planted not in str(c) for c in custom)
