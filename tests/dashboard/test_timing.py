"""Server-Timing: every response says how long the server took (dashboard/timing.py)."""

from __future__ import annotations

import re
import time

import flask
import pytest

from dashboard import timing

DUR = re.compile(r"^app;dur=(\d+(?:\.\d+)?)$")


def server_ms(response) -> float:
    match = DUR.match(response.headers.get("Server-Timing", ""))
    assert match, response.headers.get("Server-Timing")
    return float(match.group(1))


def slow_hook(response=None):
    time.sleep(0.02)
    return response


def slow_view():
    time.sleep(0.03)
    return "ok"


def test_the_server_time_covers_hooks_registered_before_and_after_it_and_the_view():
    server = flask.Flask(__name__)
    server.before_request(slow_hook)
    server.after_request(slow_hook)
    timing.install(server)
    server.before_request(slow_hook)
    server.after_request(slow_hook)
    server.add_url_rule("/slow", "slow", slow_view)

    ms = server_ms(server.test_client().get("/slow"))

    assert 110 <= ms < 1000


def test_a_refusal_from_a_before_request_hook_is_timed_too():
    server = flask.Flask(__name__)
    timing.install(server)
    server.before_request(lambda: ("refused", 401))
    server.add_url_rule("/", "home", lambda: "never")

    response = server.test_client().get("/")

    assert response.status_code == 401
    assert server_ms(response) >= 0


@pytest.mark.parametrize(
    ("method", "path", "signed_in"),
    [
        ("GET", "/", True),
        ("GET", "/_dash-layout", True),
        ("POST", "/_dash-update-component", True),
        ("GET", "/login", False),
        ("GET", "/district/440304", False),
        ("POST", "/_dash-update-component", False),
    ],
)
def test_every_cockpit_response_carries_its_server_time(app, client, method, path, signed_in):
    body = {"output": "nowhere.children", "outputs": {}, "inputs": [], "changedPropIds": []}
    c = client if signed_in else app.server.test_client()
    response = c.open(path, method=method, json=body if method == "POST" else None)

    assert server_ms(response) < 60_000
