"""Web hardening: security headers on every response and rate limits on the costly routes.

``install(app, settings)`` runs after :func:`dashboard.auth.install` (so every route exists)
and adds two things to ``app``'s Flask server.

**Headers** (:func:`security_headers`, an ``after_request``):

* a Content-Security-Policy that lets Dash, plotly.js and MapLibre work and nothing else:
  scripts only from this site plus the hash of Dash's one inline script (no
  ``'unsafe-inline'``, no ``'unsafe-eval'``: neither Dash 4.4 nor the plotly.js traces we
  draw evaluate strings); ``'unsafe-inline'`` styles (plotly.js and MapLibre write
  ``<style>`` elements); MapLibre's web worker and images from ``blob:``/``data:``; the
  basemap's tile host in ``img-src`` and ``connect-src`` when ``basemap_url`` is set;
  no framing, no ``<base>`` elsewhere, forms only to this site, no plugins;
* ``X-Content-Type-Options``, ``Referrer-Policy``, ``X-Frame-Options``,
  ``Permissions-Policy``, ``Cross-Origin-Opener-Policy`` and ``-Resource-Policy``;
* ``Strict-Transport-Security`` only when cookies are Secure (the app is behind HTTPS);
* ``Cache-Control: no-store`` on everything but static files: pages, Dash's layout and
  callbacks and exports carry data of the signed-in user's scope.

**Rate limits** (flask-limiter, in-process memory storage), checked inside the view, so
after the sign-in gate of :mod:`dashboard.auth` has attached the principal:

==========================  ==========================  ===================================
route (endpoint)            limit                       counted per
==========================  ==========================  ===================================
``POST /login``             ``login_rate``, failures    client address + submitted name
``POST /login``             :data:`LOGIN_ADDRESS_RATE`  client address (password spraying)
``/_dash-update-component`` ``callback_rate``           session reference (else address)
``/export/…``               :data:`EXPORT_RATE`         user
``POST /contact/<id>``      :data:`CONTACT_RATE`        user
==========================  ==========================  ===================================

A refused request gets 429 with a ``Retry-After`` and nothing else: the login page with
its "too many attempts" message, or ``{"error": "too many requests"}``.

The memory storage counts per process. Behind several worker processes (``gunicorn -w
4``) each has its own counters, so the effective limit is the workers times the setting;
a shared store needs a ``storage_uri`` (``redis://…``) passed to :class:`Limiter`. Behind
a reverse proxy the client address is the proxy's unless the server is wrapped in
werkzeug's ``ProxyFix`` with the right number of trusted hops.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import dash
import flask
from flask import Flask, request
from flask_limiter import Limiter, RateLimitExceeded
from werkzeug.wrappers import Response

from dashboard import access, auth
from dashboard.i18n import resolve_lang, t
from pipelines.settings import Settings

log = logging.getLogger(__name__)

#: Failed sign-ins allowed per client address whatever the user name: stops one address
#: trying one password on many accounts, while an office behind one NAT address can still
#: mistype a few passwords at shift start.
LOGIN_ADDRESS_RATE = "30/minute;200/hour"
#: Downloads per user: a person exporting what they look at, not a scraper.
EXPORT_RATE = "30/minute;1000/day"
#: Contact reveals (unmasking a citizen's phone) per user: a grid chief's call-backs.
CONTACT_RATE = "10/minute;100/day"

#: Endpoints whose responses are static files (cacheable, identical for everyone).
STATIC_ENDPOINTS = frozenset(
    {
        "static",
        "_dash_assets.static",
        "/_dash-component-suites/<string:package_name>/<path:fingerprinted_path>",
        "/_favicon.ico",
        "yiwang_login_css",
        "yiwang_plotly_js",
    }
)
#: Dash's callback endpoint (Dash names it after its route).
CALLBACK_ENDPOINT = "/_dash-update-component"
LOGIN_ENDPOINT = "yiwang_login"
EXPORT_ENDPOINT = "yiwang_export"
CONTACT_ENDPOINT = "contact_reveal"

PERMISSIONS_POLICY = (
    "camera=(), microphone=(), geolocation=(), payment=(), usb=(), serial=(), bluetooth=(), "
    "display-capture=(), interest-cohort=()"
)


def basemap_origin(basemap_url: str) -> str | None:
    """Return the ``scheme://host[:port]`` of a tile URL template, or ``None`` when unset.

    The template's ``{z}/{x}/{y}`` (and a ``{s}`` subdomain, if any) are in the path or the
    host; a ``{s}`` host becomes a ``*.`` wildcard, as CSP allows.
    """
    if not basemap_url:
        return None
    parts = urlsplit(basemap_url)
    host = parts.netloc.rsplit("@", 1)[-1]
    if not parts.scheme or not host:
        return None
    if "{" in host:
        # "{s}.tile.example.org" → "*.tile.example.org"; anything stranger is refused.
        head, _, rest = host.partition(".")
        if not (head.startswith("{") and head.endswith("}")) or "{" in rest:
            raise ValueError(f"basemap_url host {host!r} cannot be put in a CSP")
        host = f"*.{rest}"
    if any(c in host for c in " ;,'\""):
        raise ValueError(f"basemap_url host {host!r} cannot be put in a CSP")
    return f"{parts.scheme}://{host}"


def content_security_policy(script_hashes: list[str], basemap_url: str = "") -> str:
    """Return the Content-Security-Policy for the cockpit.

    Parameters
    ----------
    script_hashes
        CSP hashes of the page's inline scripts (``app.csp_hashes()``: Dash's renderer).
    basemap_url
        The configured tile URL template; its host may serve images and fetches.
    """
    tiles = basemap_origin(basemap_url)
    extra = f" {tiles}" if tiles else ""
    directives = {
        "default-src": "'self'",
        "script-src": " ".join(["'self'", *script_hashes]),
        # plotly.js and MapLibre inject <style> elements and style attributes.
        "style-src": "'self' 'unsafe-inline'",
        "img-src": f"'self' data: blob:{extra}",
        "font-src": "'self' data:",
        "connect-src": f"'self'{extra}",
        # MapLibre runs its tile worker from a blob: URL.
        "worker-src": "'self' blob:",
        "child-src": "'self' blob:",
        "object-src": "'none'",
        "frame-src": "'none'",
        "frame-ancestors": "'none'",
        "base-uri": "'self'",
        # The login form posts here; single sign-on starts from a link, not a form.
        "form-action": "'self'",
        "manifest-src": "'self'",
    }
    return "; ".join(f"{k} {v}" for k, v in directives.items())


def _client_address() -> str:
    return request.remote_addr or "unknown"


def _login_key() -> str:
    """Client address and the submitted user name (normalised as the login view does)."""
    name = request.form.get("user", "").strip().lower()[:100]
    return f"{_client_address()}|{name}"


def _session_key() -> str:
    """The signed-in session's reference, or the address when there is none."""
    principal = access.signed_in()
    session = principal.session if principal is not None else ""
    return f"session:{session}" if session else f"addr:{_client_address()}"


def _user_key() -> str:
    """The signed-in user's name, or the address when there is none."""
    principal = access.signed_in()
    return f"user:{principal.user}" if principal is not None else f"addr:{_client_address()}"


def _login_failed(response: flask.Response) -> bool:
    """A sign-in POST that checked a password and failed (401)."""
    return response.status_code == 401


class _Headers:
    """The ``after_request`` hook; the CSP is computed once, on the first response."""

    def __init__(self, app: dash.Dash, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self._csp: str | None = None
        # Fails at start-up (not on the first request) on a basemap URL a CSP cannot hold.
        basemap_origin(settings.basemap_url)

    def csp(self) -> str:
        if self._csp is None:
            # After every page module has registered its callbacks (csp_hashes also covers
            # inline clientside callbacks, which the app does not use: its are in assets/).
            hashes = list(self.app.csp_hashes())
            self._csp = content_security_policy(hashes, self.settings.basemap_url)
        return self._csp

    def __call__(self, response: flask.Response) -> flask.Response:
        headers = response.headers
        headers["Content-Security-Policy"] = self.csp()
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Referrer-Policy"] = "same-origin"
        headers["X-Frame-Options"] = "DENY"
        headers["Permissions-Policy"] = PERMISSIONS_POLICY
        headers["Cross-Origin-Opener-Policy"] = "same-origin"
        headers["Cross-Origin-Resource-Policy"] = "same-origin"
        if self.settings.secure_cookies:
            headers["Strict-Transport-Security"] = "max-age=31536000"
        if request.endpoint not in STATIC_ENDPOINTS:
            headers["Cache-Control"] = "no-store"
            headers.pop("Expires", None)
            headers.pop("ETag", None)
        return response


def security_headers(
    app: dash.Dash, settings: Settings
) -> Callable[[flask.Response], flask.Response]:
    """Return the ``after_request`` hook that sets the security headers (see the module)."""
    return _Headers(app, settings)


def _retry_after(limiter: Limiter) -> int:
    current = limiter.current_limit
    if current is None:
        return 60
    return max(1, math.ceil(current.reset_at - time.time()))


class _AuditThrottle:
    """At most one audit record per route and key a minute.

    A flood of refused requests must not become a flood of audit records.
    """

    def __init__(self, seconds: float = 60.0) -> None:
        self.seconds = seconds
        self._last: dict[tuple[str, str], float] = {}

    def due(self, endpoint: str, key: str) -> bool:
        now = time.monotonic()
        if len(self._last) > 10_000:
            self._last = {k: v for k, v in self._last.items() if now - v < self.seconds}
        if now - self._last.get((endpoint, key), -math.inf) < self.seconds:
            return False
        self._last[(endpoint, key)] = now
        return True


def _too_many(limiter: Limiter) -> Callable[[RateLimitExceeded], Response]:
    """The 429 handler: no data, whatever the route, and when to come back."""
    throttle = _AuditThrottle()

    def handler(exc: RateLimitExceeded) -> Response:
        endpoint = request.endpoint or ""
        login = endpoint == LOGIN_ENDPOINT
        if login:
            lang = resolve_lang(request.args.get("lang"))
            name = request.form.get("user", "").strip().lower()[:100]
            response = auth.login_page(429, t("login.too_many", lang), user=name)
            key, who = _login_key(), {"user": name or None}
        else:
            response = flask.make_response(json.dumps({"error": "too many requests"}), 429)
            response.mimetype = "application/json"
            key, who = _user_key(), {}
        response.headers["Retry-After"] = str(_retry_after(limiter))
        if throttle.due(endpoint, key):
            try:
                auth.audit(
                    "rate_limited", path=request.path[:300], limit=str(exc.limit.limit), **who
                )
            except Exception:
                # The refusal stands whether or not it could be written down.
                log.exception("cannot audit a rate-limited request")
        return response

    return handler


def _limit_endpoint(
    server: Flask,
    limiter: Limiter,
    endpoint: str,
    rate: str,
    key: Callable[[], str],
    **options: Any,
) -> bool:
    """Put ``rate`` on ``endpoint``'s view (if the app has it); return whether it had."""
    view = server.view_functions.get(endpoint)
    if view is None:
        return False
    limited: Any = limiter.limit(rate, key_func=key, **options)(view)
    server.view_functions[endpoint] = limited
    return True


def _debug_off(app: dash.Dash) -> None:
    """Switch Flask's debug mode and Dash's dev tools off, whatever the variables say.

    ``FLASK_DEBUG`` and ``DASH_UI``/``DASH_PROPS_CHECK``-style variables would otherwise turn
    them on under a production server; only ``yiwang serve --debug`` (loopback only, see
    :func:`pipelines.cli.serve`) turns them back on, through ``app.run(debug=True)``.
    """
    app.server.debug = False
    app.enable_dev_tools(
        debug=False,
        dev_tools_ui=False,
        dev_tools_props_check=False,
        dev_tools_serve_dev_bundles=False,
        dev_tools_hot_reload=False,
        dev_tools_silence_routes_logging=False,
        dev_tools_prune_errors=True,
        dev_tools_validate_callbacks=False,
    )


def install(app: dash.Dash, settings: Settings) -> Limiter:
    """Add the security headers and rate limits to ``app``'s server.

    Call after :func:`dashboard.auth.install` and after every route is registered (a route
    added later, such as the contact reveal, is limited only if it exists by then).

    Returns
    -------
    flask_limiter.Limiter
        The limiter (tests reset it between cases).
    """
    server: Flask = app.server
    _debug_off(app)
    limiter = Limiter(
        key_func=_client_address,
        app=server,
        storage_uri="memory://",
        # A moving window: a burst straddling a window edge cannot double the limit.
        strategy="moving-window",
        headers_enabled=False,
        key_prefix="yiwang",
    )
    _limit_endpoint(
        server,
        limiter,
        LOGIN_ENDPOINT,
        settings.login_rate,
        _login_key,
        methods=["POST"],
        deduct_when=_login_failed,
    )
    _limit_endpoint(
        server,
        limiter,
        LOGIN_ENDPOINT,
        LOGIN_ADDRESS_RATE,
        _client_address,
        methods=["POST"],
        deduct_when=_login_failed,
    )
    _limit_endpoint(server, limiter, CALLBACK_ENDPOINT, settings.callback_rate, _session_key)
    _limit_endpoint(server, limiter, EXPORT_ENDPOINT, EXPORT_RATE, _user_key)
    _limit_endpoint(server, limiter, CONTACT_ENDPOINT, CONTACT_RATE, _user_key, methods=["POST"])
    server.register_error_handler(RateLimitExceeded, _too_many(limiter))
    server.after_request(security_headers(app, settings))
    return limiter
