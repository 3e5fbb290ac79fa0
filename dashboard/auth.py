"""Sign-in for the whole app: the gate in front of every route, the login page, logout.

``install(app, settings)`` puts a ``before_request`` gate on the Flask server. Every route
but the login page, its stylesheet and the single-sign-on endpoints needs a live session:

* a browser asking for a page without one is sent to ``/login?next=…``;
* anything else (Dash's layout, dependencies and callbacks, exports, assets) gets 401;
* with one, the user's role and scope are read from the users file (never from the cookie or
  the request) and attached to the request as the :class:`~dashboard.access.Principal` that
  the data layer filters by.

Logins, failed logins, logouts and page views go to the audit trail (:func:`audit`).
Password sign-in is built in; a city's single sign-on plugs in through
:func:`start_session` (see :mod:`dashboard.oidc`).
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dash
from flask import Flask, g, make_response, redirect, render_template_string, request
from werkzeug.wrappers import Response

from dashboard import access
from dashboard.i18n import resolve_lang, t
from dashboard.sessions import SessionStore
from dashboard.users import UsersFile, check_password
from pipelines import audit as audit_log
from pipelines.settings import Settings

log = logging.getLogger(__name__)

COOKIE = "yiwang_session"
CSRF_COOKIE = "yiwang_login_csrf"
LOGIN = "/login"
LOGOUT = "/logout"
_STYLE = "/login.css"
#: Routes open without a session (the SSO module adds its own). The favicon is the one the
#: browser asks for on the login page; it holds nothing.
PUBLIC_PATHS = {LOGIN, _STYLE, "/favicon.ico", "/_favicon.ico"}
_HERE = Path(__file__).resolve().parent
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


class _State:
    """What the gate needs, built once by :func:`install`."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.users = UsersFile(settings.users_path)
        self.sessions = SessionStore(
            settings.security_directory / "sessions.sqlite",
            idle_seconds=settings.session_idle_minutes * 60,
            max_seconds=settings.session_max_hours * 3600,
        )
        self.audit = audit_log.AuditLog(settings.security_directory / "audit.jsonl")


_STATE: _State | None = None


def _state() -> _State:
    if _STATE is None:
        raise RuntimeError("dashboard.auth.install(app, settings) was not called")
    return _STATE


def audit(event: str, **fields: Any) -> dict[str, Any]:
    """Write an audit record for the current principal (or anonymous) and return it.

    Raises
    ------
    pipelines.audit.AuditError
        When the record cannot be written: exports and unmasking must then refuse.
    """
    principal = access.signed_in()
    actor = principal.user if principal is not None else fields.pop("user", None)
    if principal is not None and principal is not access.SYSTEM:
        fields.setdefault("role", principal.role.name)
        fields.setdefault("session", principal.session)
    if request_ip := _client_ip():
        fields.setdefault("ip", request_ip)
    return _state().audit.append(event, actor=actor, **fields)


def _client_ip() -> str | None:
    from flask import has_request_context

    return request.remote_addr if has_request_context() else None


def safe_next(target: str | None) -> str:
    """Only a path on this site: never an open redirect to another host."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    if "\\" in target or any(ord(c) < 32 for c in target):
        return "/"
    return target


def _same_origin() -> bool:
    """A state-changing request must come from our own pages (SameSite plus this check)."""
    origin = request.headers.get("Origin") or request.headers.get("Referer")
    if not origin:
        # Non-browser clients (curl, tests) send neither; SameSite=Lax keeps browsers honest.
        return True
    return urlsplit(origin).netloc == request.host


def _wants_page() -> bool:
    return request.method == "GET" and "text/html" in request.headers.get("Accept", "")


def _gate() -> Response | None:
    state = _state()
    path = request.path
    if path in PUBLIC_PATHS:
        return None
    session = state.sessions.get(request.cookies.get(COOKIE))
    user = state.users.get(session.user) if session is not None else None
    if session is None or user is None:
        if _wants_page():
            wanted = request.full_path if request.query_string else path
            return redirect(f"{LOGIN}?next={_quote(wanted)}", code=302)
        return _refuse(401, "not signed in")
    if request.method not in ("GET", "HEAD", "OPTIONS") and not _same_origin():
        return _refuse(403, "cross-site request refused")
    principal = access.Principal(user.name, user.role, user.scope, session.ref)
    access.sign_in_request(principal)
    if path == "/_dash-update-component":
        _audit_page_view()
    return None


def _quote(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="/")


def _refuse(status: int, message: str) -> Response:
    response = make_response(json.dumps({"error": message}), status)
    response.mimetype = "application/json"
    return response


def _audit_page_view() -> None:
    """Record a page view: the routing callback that renders the page container."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or "_pages_content" not in str(body.get("output", "")):
        return
    where = {
        item.get("property"): item.get("value")
        for item in body.get("inputs", [])
        if isinstance(item, dict)
    }
    path, query = where.get("pathname"), where.get("search")
    g.yiwang_page = f"{path}{query or ''}"
    audit("page", path=str(g.yiwang_page)[:500])


def start_session(user_name: str, method: str, next_url: str | None = None) -> Response:
    """Sign ``user_name`` in (after the password or SSO check) and redirect onwards.

    The new session replaces any the browser had (no session fixation). The login is
    audited with the user's role and scope; if the audit trail cannot be written, the
    login fails. The redirect goes to ``next_url`` when given (SSO carries it through the
    IdP round trip), else to the request's ``next``; either way only to a path on this site.
    """
    state = _state()
    user = state.users.get(user_name)
    if user is None:
        raise access.NotSignedInError(f"{user_name!r} is not in the users file")
    state.sessions.end(request.cookies.get(COOKIE))
    token, session = state.sessions.create(user.name)
    audit(
        "login",
        user=user.name,
        method=method,
        role=user.role.name,
        scope=sorted(user.scope),
        session=session.ref,
    )
    if next_url is None:
        next_url = request.args.get("next") or request.form.get("next")
    response = redirect(safe_next(next_url), 303)
    response.set_cookie(
        COOKIE,
        token,
        max_age=state.settings.session_max_hours * 3600,
        secure=state.settings.secure_cookies,
        httponly=True,
        samesite="Lax",
        path="/",
    )
    response.delete_cookie(CSRF_COOKIE, path=LOGIN)
    return response


_LOGIN_PAGE = """<!DOCTYPE html>
<html lang="{{ html_lang }}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="dark">
<title>{{ title }}</title>
<link rel="stylesheet" href="{{ style }}">
</head>
<body>
<main class="yw-login">
  <h1>{{ title }}</h1>
  {% if message %}<p class="yw-login-message" role="alert">{{ message }}</p>{% endif %}
  {% if password %}
  <form method="post" action="{{ action }}">
    <input type="hidden" name="csrf" value="{{ csrf }}">
    <input type="hidden" name="next" value="{{ next }}">
    <label>{{ user_label }}<input name="user" autocomplete="username" required
      autocapitalize="none" spellcheck="false" value="{{ user }}"></label>
    <label>{{ password_label }}<input name="password" type="password"
      autocomplete="current-password" required></label>
    <button type="submit">{{ submit }}</button>
  </form>
  {% endif %}
  {% if sso %}<p><a class="yw-login-sso" href="{{ sso }}">{{ sso_label }}</a></p>{% endif %}
  <p class="yw-login-lang"><a href="{{ other_lang_href }}" lang="{{ other_lang_tag }}">{{
    other_lang_label }}</a></p>
</main>
</body>
</html>"""

#: Set by the SSO module: the URL that starts a single sign-on (shown on the login page).
SSO_START: dict[str, str] = {}


def login_page(status: int = 200, message: str = "", user: str = "") -> Response:
    """Return the sign-in page (with ``message``, e.g. why the last attempt failed).

    The language and ``next`` come from the request; a fresh CSRF token is set each time.
    """
    state = _state()
    lang = resolve_lang(request.args.get("lang"))
    nxt = safe_next(request.args.get("next") or request.form.get("next"))
    csrf = secrets.token_urlsafe(24)
    other = "en" if lang == "zh" else "zh"
    from urllib.parse import urlencode

    html = render_template_string(
        _LOGIN_PAGE,
        html_lang="en" if lang == "en" else "zh-CN",
        title=t("login.title", lang),
        style=_STYLE,
        message=message,
        password=state.settings.auth_provider == "password",
        action=LOGIN + "?" + urlencode({"lang": lang}),
        csrf=csrf,
        next=nxt,
        user=user,
        user_label=t("login.user", lang),
        password_label=t("login.password", lang),
        submit=t("login.submit", lang),
        sso=SSO_START.get("url", "") and SSO_START["url"] + "?" + urlencode({"next": nxt}),
        sso_label=t("login.sso", lang),
        other_lang_href=LOGIN + "?" + urlencode({"lang": other, "next": nxt}),
        other_lang_tag="en" if other == "en" else "zh-CN",
        other_lang_label="English" if other == "en" else "中文",
    )
    response = make_response(html, status)
    response.set_cookie(
        CSRF_COOKIE,
        csrf,
        max_age=3600,
        secure=state.settings.secure_cookies,
        httponly=True,
        samesite="Strict",
        path=LOGIN,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def login() -> Response:
    """``GET /login``: the form; ``POST /login``: check the password and start a session."""
    state = _state()
    lang = resolve_lang(request.args.get("lang"))
    if request.method == "GET":
        return login_page()
    if state.settings.auth_provider != "password":
        return login_page(400, t("login.password_off", lang))
    sent, expected = request.form.get("csrf", ""), request.cookies.get(CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(sent, expected):
        return login_page(400, t("login.expired", lang))
    name = request.form.get("user", "").strip().lower()[:100]
    password = request.form.get("password", "")[:1000]
    user = state.users.get(name) if name else None
    if not check_password(user, password):
        audit("login_failed", user=name or None)
        return login_page(401, t("login.failed", lang), user=name)
    return start_session(name, "password")


def logout() -> Response:
    """``POST /logout``: end the session and go back to the login page."""
    state = _state()
    audit("logout")
    state.sessions.end(request.cookies.get(COOKIE))
    response = redirect(LOGIN, 303)
    response.delete_cookie(COOKIE, path="/")
    return response


def _stylesheet() -> Response:
    response = make_response((_HERE / "assets_public" / "login.css").read_text(encoding="utf-8"))
    response.mimetype = "text/css"
    return response


def _on_out_of_scope(exc: Exception) -> Response:
    """A unit outside the principal's scope: 403 with nothing about the unit."""
    try:
        audit("denied", path=request.path[:300], reason=type(exc).__name__)
    except audit_log.AuditError:
        log.exception("cannot audit a denied request")
    return _refuse(403, "outside your scope")


def _on_not_signed_in(exc: Exception) -> Response:
    return _refuse(401, "not signed in")


def install(app: dash.Dash, settings: Settings) -> None:
    """Put the sign-in gate, the login and logout routes on ``app``'s server.

    Raises
    ------
    RuntimeError
        When the users file holds demo users (published passwords) and the app would listen
        on anything but loopback.
    """
    global _STATE
    state = _State(settings)
    server: Flask = app.server
    demo = [u.name for u in state.users.users().values() if u.demo]
    if demo and settings.host not in _LOOPBACK:
        raise RuntimeError(
            f"{settings.users_path} holds demo users {demo} whose password is published; "
            f"they may only serve on loopback, not {settings.host}. Replace them with "
            "`yiwang user add` before serving on a network."
        )
    _STATE = state
    server.before_request(_gate)
    server.add_url_rule(LOGIN, "yiwang_login", login, methods=["GET", "POST"])
    server.add_url_rule(LOGOUT, "yiwang_logout", logout, methods=["POST"])
    server.add_url_rule(_STYLE, "yiwang_login_css", _stylesheet)
    server.register_error_handler(access.OutOfScopeError, _on_out_of_scope)
    server.register_error_handler(access.NotSignedInError, _on_not_signed_in)
