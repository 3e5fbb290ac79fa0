"""Server time of every response, as a ``Server-Timing: app;dur=<ms>`` header.

Clients (the benchmarks in ``benchmarks/``, the browser's devtools) then see how long the
server itself took, apart from the network and the client: a callback's latency measured
by a load generator on the same two cores mixes in the generator's own scheduling.

The clock starts in the first ``before_request`` hook and stops in the last
``after_request`` hook, so the figure covers the sign-in gate, rate limits, the view and
the response hooks, gzip included (flask-compress's hook runs before this one). It does
not cover writing the body to the socket, which waitress does after the app returns.
"""

from __future__ import annotations

import time

import flask
from flask import Flask

#: ``Server-Timing`` metric name (W3C Server Timing: ``name;dur=milliseconds``).
METRIC = "app"
_STARTED = "yiwang_started"


def _start() -> None:
    setattr(flask.g, _STARTED, time.perf_counter())


def _stop(response: flask.Response) -> flask.Response:
    started = getattr(flask.g, _STARTED, None)
    if started is not None:
        ms = (time.perf_counter() - started) * 1000
        response.headers.add("Server-Timing", f"{METRIC};dur={ms:.1f}")
    return response


def install(server: Flask) -> None:
    """Time every response of ``server`` (call once, at any point of app creation).

    Flask runs ``before_request`` hooks in registration order and ``after_request`` hooks
    in reverse, so both hooks go to the front of the app-wide lists: whatever is registered
    before or after, this clock is the first to start and the last to stop.
    """
    server.before_request_funcs.setdefault(None, []).insert(0, _start)
    server.after_request_funcs.setdefault(None, []).insert(0, _stop)
