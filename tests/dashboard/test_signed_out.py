"""Without a live session nothing but the login page is served, and refusals carry no data.

Every route is tried in four ways: no cookie, a forged cookie, an expired session's cookie
and the cookie of a session ended by ``POST /logout``. Pages (a browser's GET asking for
HTML) are sent to ``/login?next=…``; everything else gets 401 and ``{"error": "not signed
in"}``. The Dash callbacks are sent with valid bodies, built from the app's own
``/_dash-dependencies``, and inputs naming a real unit, so a refusal is the gate's and not a
malformed request's.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import dash
import pytest

from dashboard import data
from dashboard.auth import COOKIE
from dashboard.sessions import _digest
from pipelines.settings import Settings
from tests.signin import DISTRICT, GRID, STREET, session_token, sign_in

PAGES = (
    "/",
    "/?period=last30&view=ranking",
    f"/district/{DISTRICT}",
    f"/district/{DISTRICT}?view=worry",
    f"/district/{DISTRICT}?view=backlog",
    f"/street/{STREET}?view=sla",
    f"/street/{STREET}?view=ranking",
    f"/street/{STREET}?view=components",
    f"/grid/{GRID}",
    f"/grid/{GRID}?view=overview",
    "/wall",
    f"/wall/district/{DISTRICT}?layout=2x2&tile=1",
    "/quality",
    "/404",
    "/no/such/page",
)
EXPORTS = (
    f"/export/requests.csv?unit={DISTRICT}&period=last30",
    f"/export/requests.parquet?unit={DISTRICT}&period=last30",
    f"/export/cells.csv?unit={STREET}&period=last30",
    f"/export/units.parquet?unit={DISTRICT}&period=last30",
)
DASH_ENDPOINTS = ("/_dash-layout", "/_dash-dependencies", "/_reload-hash")
NOT_SIGNED_IN = {"error": "not signed in"}


def _forged(app: dash.Dash, settings: Settings) -> Any:
    client = app.server.test_client()
    client.set_cookie(COOKIE, "forged-" + "A" * 43)
    return client


def _expired(app: dash.Dash, settings: Settings) -> Any:
    token = session_token(settings.security_directory, "admin")
    with sqlite3.connect(settings.security_directory / "sessions.sqlite") as con:
        long_ago = time.time() - 400 * 24 * 3600
        con.execute(
            "UPDATE session SET created = ?, last_seen = ? WHERE digest = ?",
            (long_ago, long_ago, _digest(token)),
        )
    client = app.server.test_client()
    client.set_cookie(COOKIE, token)
    return client


def _ended(app: dash.Dash, settings: Settings) -> Any:
    client = sign_in(app.server.test_client(), settings, "admin")
    token = client.get_cookie(COOKIE).value
    assert client.get("/_dash-layout").status_code == 200  # live before the logout
    assert client.post("/logout").status_code == 303
    # A browser drops the cookie on logout; a thief who copied it would send it again.
    client.set_cookie(COOKIE, token)
    return client


def _nobody(app: dash.Dash, settings: Settings) -> Any:
    return app.server.test_client()


VISITORS: dict[str, Callable[[dash.Dash, Settings], Any]] = {
    "no cookie": _nobody,
    "forged cookie": _forged,
    "expired session": _expired,
    "ended session": _ended,
}


@pytest.fixture(scope="module")
def dependencies(app: dash.Dash, built_city: Settings) -> list[dict[str, Any]]:
    """The app's callbacks, as a signed-in browser receives them."""
    return sign_in(app.server.test_client(), built_city, "admin").get("/_dash-dependencies").json


@pytest.fixture(scope="module")
def static_paths(app: dash.Dash, built_city: Settings) -> list[str]:
    """Component-suite scripts and assets the signed-in index page links to."""
    index = sign_in(app.server.test_client(), built_city, "admin").get(
        "/", headers={"Accept": "text/html"}
    )
    links = re.findall(r'(?:src|href)="(/(?:_dash-component-suites|assets)/[^"]+)"', index.text)
    suites = [p for p in links if p.startswith("/_dash-component-suites/")]
    assets = [p for p in links if p.startswith("/assets/")]
    assert suites and assets, links
    return suites[:3] + assets[:3] + ["/assets/cockpit.js"]


@pytest.fixture(scope="module")
def forbidden(app: dash.Dash, built_city: Settings) -> list[str]:
    """Strings that are data: names of the city and its districts."""
    data.configure(built_city)
    city = data.city()
    return [city.name_zh, city.name_en] + [
        name for d in data.children(city) for name in (d.name_zh, d.name_en)
    ]


def _callback_body(dep: dict[str, Any]) -> dict[str, Any]:
    """A valid callback body for ``dep``: the page router gets a real unit's path."""
    output = dep["output"]
    parts = output[2:-2].split("...") if output.startswith("..") else [output]
    outputs = [
        {"id": part.rpartition(".")[0], "property": part.rpartition(".")[2].partition("@")[0]}
        for part in parts
    ]
    sample = {
        "pathname": f"/district/{DISTRICT}",
        "search": "?period=last30",
        "value": 1,
        "n_clicks": 1,
        "n_intervals": 1,
        "data": {"unit_id": DISTRICT, "level": "district", "period": "last30"},
    }
    inputs = [
        {"id": i["id"], "property": i["property"], "value": sample.get(i["property"])}
        for i in dep["inputs"]
    ]
    return {
        "output": output,
        "outputs": outputs if len(outputs) > 1 else outputs[0],
        "inputs": inputs,
        "state": [
            {"id": s["id"], "property": s["property"], "value": sample.get(s["property"])}
            for s in dep.get("state", [])
        ],
        "changedPropIds": [f"{i['id']}.{i['property']}" for i in inputs],
    }


def _assert_refused(
    response: Any, forbidden: list[str], what: str, *, static: bool = False
) -> None:
    assert response.status_code == 401, what
    assert response.get_json() == NOT_SIGNED_IN, what
    text = response.get_data(as_text=True)
    assert not [name for name in forbidden if name in text], what
    if not static:
        # A refusal on a data route is never stored (static files keep their caching).
        assert response.headers["Cache-Control"] == "no-store", what


def _assert_sent_to_login(response: Any, path: str, forbidden: list[str]) -> None:
    assert response.status_code == 302, path
    location = urlsplit(response.headers["Location"])
    assert location.path == "/login", path
    assert location.query.startswith("next="), path
    text = response.get_data(as_text=True)
    assert not [name for name in forbidden if name in text], path
    assert "_dash-config" not in text and "_dash-renderer" not in text, path


@pytest.mark.parametrize("visitor", list(VISITORS))
def test_pages_send_a_browser_without_a_live_session_to_the_login(
    app, built_city, forbidden, visitor
):
    client = VISITORS[visitor](app, built_city)
    for path in PAGES:
        response = client.get(path, headers={"Accept": "text/html,application/xhtml+xml"})
        _assert_sent_to_login(response, path, forbidden)


@pytest.mark.parametrize("visitor", list(VISITORS))
def test_pages_fetched_without_asking_for_html_get_401(app, built_city, forbidden, visitor):
    client = VISITORS[visitor](app, built_city)
    for path in PAGES:
        _assert_refused(client.get(path), forbidden, path)


@pytest.mark.parametrize("visitor", list(VISITORS))
def test_dash_endpoints_refuse_without_a_live_session(app, built_city, forbidden, visitor):
    client = VISITORS[visitor](app, built_city)
    for path in DASH_ENDPOINTS:
        _assert_refused(client.get(path), forbidden, path)


@pytest.mark.parametrize("visitor", list(VISITORS))
def test_every_callback_refuses_a_valid_body_without_a_live_session(
    app, built_city, dependencies, forbidden, visitor
):
    client = VISITORS[visitor](app, built_city)
    assert len(dependencies) >= 10
    for dep in dependencies:
        response = client.post("/_dash-update-component", json=_callback_body(dep))
        _assert_refused(response, forbidden, dep["output"])


def test_the_crafted_callback_bodies_are_ones_the_app_answers(app, built_city, dependencies):
    """Control: signed in, the router body renders the district (so the refusals are real)."""
    client = sign_in(app.server.test_client(), built_city, "admin")
    (router,) = [d for d in dependencies if d["output"].startswith(".._pages_content.")]
    response = client.post("/_dash-update-component", json=_callback_body(router))
    assert response.status_code == 200
    district = data.unit(DISTRICT)
    assert district is not None and district.name_zh in response.get_data(as_text=True)


@pytest.mark.parametrize("visitor", list(VISITORS))
def test_exports_refuse_without_a_live_session(app, built_city, forbidden, visitor):
    client = VISITORS[visitor](app, built_city)
    for path in EXPORTS:
        response = client.get(path)
        _assert_refused(response, forbidden, path)
        assert "Content-Disposition" not in response.headers


@pytest.mark.parametrize("visitor", list(VISITORS))
def test_scripts_and_assets_refuse_without_a_live_session(
    app, built_city, forbidden, static_paths, visitor
):
    client = VISITORS[visitor](app, built_city)
    for path in static_paths:
        _assert_refused(client.get(path), forbidden, path, static=True)


def test_the_login_page_its_stylesheet_and_the_favicon_are_open(app):
    client = app.server.test_client()
    page = client.get("/login", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert 'name="password"' in page.get_data(as_text=True)
    style = client.get("/login.css")
    assert style.status_code == 200
    assert style.mimetype == "text/css"
    # The favicon is the same icon for everyone (the login page's tab shows it).
    icon = client.get("/_favicon.ico")
    assert icon.status_code == 200
    assert icon.mimetype.startswith("image/")


def test_an_ended_session_stays_ended_for_every_route(app, built_city, dependencies):
    client = sign_in(app.server.test_client(), built_city, "street")
    token = client.get_cookie(COOKIE).value
    client.post("/logout")
    replay = app.server.test_client()
    replay.set_cookie(COOKIE, token)
    assert replay.get("/_dash-layout").status_code == 401
    assert replay.get(EXPORTS[0]).status_code == 401
    assert replay.get("/", headers={"Accept": "text/html"}).status_code == 302
