"""The cockpit's own plotly.js: only the traces it draws, gzipped once, served from memory.

Dash's graphs load plotly.js on first use from one fixed address,
``/_dash-component-suites/plotly/package_data/plotly.min.js`` (dcc's Graph inserts a
script with that ``src`` unless ``window.Plotly`` exists). The full bundle the python
``plotly`` package ships is 4.8 MB of JavaScript (1.47 MB gzipped) with every trace type;
the cockpit draws four (scatter, bar, scattermap, choroplethmap). ``vendor/`` builds a
partial bundle of the same plotly.js version with just those (3.0 MB, 0.9 MB gzipped;
``vendor/build-plotly.sh``, run by ``make``, not committed), which the browser downloads,
parses and runs in about half the time on a busy two-core machine (docs/benchmarks.md,
issue 8).

:func:`install` serves it at that address with a route more specific than Dash's
component-suites route (Werkzeug prefers the rule without converters), so the sign-in
gate, the security headers and the rate limits treat it like any other static file. It is
gzipped once at the first request (level 9) rather than by flask-compress on every
download (about 0.1 s of a core each time for the full bundle).
"""

from __future__ import annotations

import gzip
import logging
import threading
from pathlib import Path

from flask import Flask, Response, has_request_context, request

from dashboard import routes

log = logging.getLogger(__name__)

#: Where dcc's Graph loads plotly.js from (``serve_locally``).
URL = "/_dash-component-suites/plotly/package_data/plotly.min.js"
#: The route's endpoint name (listed among the static endpoints by dashboard.hardening).
ENDPOINT = "yiwang_plotly_js"
BUNDLE = Path(__file__).resolve().parent / "vendor" / "plotly-yiwang.min.js"
#: Browsers keep it a day, then revalidate; a new bundle comes with a new app version.
MAX_AGE = 86400

#: Where the page's HTML says whether to preload the bundle (see :func:`preload`).
MARKER = "<!--yiwang:preload-plotly-->"
TAG = f'<link rel="preload" href="{URL}" as="script">'

_lock = threading.Lock()
_cache: dict[str, bytes] = {}


def _bodies() -> dict[str, bytes]:
    with _lock:
        if not _cache:
            raw = BUNDLE.read_bytes()
            _cache["identity"] = raw
            _cache["gzip"] = gzip.compress(raw, 9, mtime=0)
        return _cache


def _serve() -> Response:
    bodies = _bodies()
    gzipped = "gzip" in request.headers.get("Accept-Encoding", "")
    response = Response(
        bodies["gzip" if gzipped else "identity"], mimetype="application/javascript"
    )
    if gzipped:
        # flask-compress leaves a response that already has an encoding alone
        response.headers["Content-Encoding"] = "gzip"
    response.headers["Vary"] = "Accept-Encoding"
    response.headers["Cache-Control"] = f"public, max-age={MAX_AGE}"
    return response


def preload(html: str) -> str:
    """The page's HTML with :data:`MARKER` replaced by the preload tag, where graphs show.

    Every cockpit draws plotly graphs, which ask for plotly.js only once the page's data
    has arrived: preloading it with the page's own scripts saves that second round trip.
    The grid chief's phone view (``/grid/<id>`` without ``?view=``) draws its map on the
    server and has no graph: it gets no preload (0.9 MB less on a phone's first load).
    """
    wanted = True
    if has_request_context():
        chief = request.path.startswith("/grid/") and request.args.get("view") not in routes.VIEWS
        wanted = not chief and not request.path.startswith("/login")
    return html.replace(MARKER, TAG if wanted else "")


def install(server: Flask) -> None:
    """Serve the partial bundle at :data:`URL` instead of the python package's full one.

    The bundle is built at install (``make``, with node and npm: ``vendor/build-plotly.sh``).
    Without it Dash serves the full bundle at the same address, and the cockpit works the
    same, only slower to load.
    """
    if not BUNDLE.is_file():
        log.warning("no %s (make builds it with node and npm): plotly's full bundle", BUNDLE)
        return
    server.add_url_rule(URL, ENDPOINT, _serve, methods=["GET"])
