"""Sign-in through a city's single sign-on (OpenID Connect), when ``auth_provider=oidc``.

``install(app, settings)`` adds two public routes beside :mod:`dashboard.auth`'s login page:

* ``GET /auth/oidc/start?next=…`` sends the browser to the IdP's authorization endpoint
  (authorization-code flow with PKCE S256, a fresh ``state`` and ``nonce``);
* ``GET /auth/oidc/callback`` exchanges the code, verifies the ID token (signature against the
  IdP's JWKS, ``iss``, ``aud``, ``exp``, ``iat`` and ``nonce``) and signs the person in with
  :func:`dashboard.auth.start_session`.

The IdP is found by discovery (``<oidc_issuer>/.well-known/openid-configuration``). The SSO
says only *who* someone is: the ID-token claim ``oidc_username_claim`` (lower-cased) must name
a user in the users file, whose role and scope apply. Nobody is created on first sign-in;
an identity without a users-file entry is refused and audited.

The flow's transient values (state, nonce, PKCE verifier, where to go afterwards) live in
Flask's signed cookie session, keyed with the ``session`` key of :mod:`pipelines.keys`.
Every failure ends on the login page with ``login.sso_failed`` and a 4xx status.
"""

from __future__ import annotations

import logging
from typing import Any

import dash
import requests
from authlib.integrations.base_client import OAuthError
from authlib.integrations.flask_client import OAuth
from flask import Flask, current_app, redirect, request, session, url_for
from joserfc.errors import JoseError
from werkzeug.wrappers import Response

from dashboard import auth
from dashboard.i18n import Lang, resolve_lang, t
from dashboard.users import UsersFile
from pipelines import audit as audit_log
from pipelines import keys
from pipelines.settings import Settings

log = logging.getLogger(__name__)

START = "/auth/oidc/start"
CALLBACK = "/auth/oidc/callback"
#: Name of the authlib client; also the prefix of its state keys in the Flask session.
_CLIENT = "city_sso"
_EXTENSION = "yiwang_oidc"
#: Seconds of clock skew tolerated on ``exp`` and ``iat``.
_LEEWAY = 60
#: Seconds to wait for the IdP (discovery, JWKS, token endpoint) before giving up.
_TIMEOUT = 10
#: ID-token signatures accepted: public-key ones only, so neither ``none`` nor an HMAC keyed
#: with the (shared) client secret can pass, whatever the IdP's metadata advertises.
_ALGORITHMS = (
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
)
#: Errors of the flow itself (IdP unreachable or misbehaving, a forged or stale callback,
#: a token that fails verification): all end on the login page, never in a traceback.
_FLOW_ERRORS = (OAuthError, JoseError, requests.RequestException, ValueError, RuntimeError)


class SsoRefusedError(Exception):
    """The IdP's answer was well-formed but does not sign anyone in (the reason is audited)."""

    def __init__(self, reason: str, user: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.user = user


class _Sso:
    """One app's SSO client and the settings it was built from."""

    def __init__(self, server: Flask, settings: Settings) -> None:
        self.settings = settings
        self.issuer = settings.oidc_issuer.rstrip("/")
        self.users = UsersFile(settings.users_path)
        oauth = OAuth(server)
        client_kwargs: dict[str, Any] = {
            "scope": "openid profile",
            "code_challenge_method": "S256",
            "default_timeout": _TIMEOUT,
        }
        if not settings.oidc_client_secret:
            # A public client: PKCE alone proves the code's holder.
            client_kwargs["token_endpoint_auth_method"] = "none"
        self.client: Any = oauth.register(
            _CLIENT,
            client_id=settings.oidc_client_id,
            client_secret=settings.oidc_client_secret or None,
            server_metadata_url=f"{self.issuer}/.well-known/openid-configuration",
            client_kwargs=client_kwargs,
        )

    def metadata(self) -> dict[str, Any]:
        """Return the IdP's discovery document, fetched once and checked.

        Raises
        ------
        ValueError
            When the document names another issuer than ``oidc_issuer`` (OIDC Discovery
            section 4.3) or offers no public-key ID-token signature.
        requests.RequestException
            When the IdP cannot be reached.
        """
        metadata: dict[str, Any] = self.client.load_server_metadata()
        named = metadata.get("issuer")
        if str(named or "").rstrip("/") != self.issuer:
            # Forget it, so that a fixed IdP is picked up without a restart.
            self.client.server_metadata.clear()
            raise ValueError(f"discovery names issuer {named!r}, not {self.issuer!r}")
        offered = metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
        algorithms = [alg for alg in offered if alg in _ALGORITHMS]
        if not algorithms:
            raise ValueError(f"the IdP signs ID tokens only with {offered}")
        # authlib verifies the signature with exactly these algorithms.
        metadata["id_token_signing_alg_values_supported"] = algorithms
        return metadata

    def claims_options(self) -> dict[str, Any]:
        """Return what the ID token must say besides its signature and nonce."""
        metadata = self.metadata()
        return {
            "iss": {"essential": True, "value": metadata["issuer"]},
            # authlib checks ``aud`` against the client id only through ``azp``; say it.
            "aud": {"essential": True, "value": self.settings.oidc_client_id},
            "exp": {"essential": True},
            "iat": {"essential": True},
        }


def _sso() -> _Sso:
    sso: _Sso = current_app.extensions[_EXTENSION]
    return sso


def _lang() -> Lang:
    return resolve_lang(request.args.get("lang"))


def _failed(status: int, reason: str, user: str | None = None) -> Response:
    """Audit a failed SSO sign-in and answer with the login page and its SSO error."""
    try:
        auth.audit("login_failed", user=user, method="oidc", reason=reason)
    except audit_log.AuditError:
        log.exception("cannot audit a failed single sign-on")
    return auth.login_page(status, t("login.sso_failed", _lang()))


def start() -> Response:
    """``GET /auth/oidc/start``: send the browser to the IdP, remembering ``next``."""
    sso = _sso()
    wanted = auth.safe_next(request.args.get("next"))
    redirect_uri = url_for("yiwang_oidc_callback", _external=True)
    try:
        sso.metadata()
        flow = sso.client.create_authorization_url(redirect_uri)
    except _FLOW_ERRORS as exc:
        log.warning("single sign-on cannot start: %s", exc)
        return _failed(400, "idp_unavailable")
    # state, nonce and the PKCE verifier go into the signed session, keyed by state.
    sso.client.save_authorize_data(redirect_uri=redirect_uri, next=wanted, **flow)
    response = redirect(flow["url"], 302)
    response.headers["Cache-Control"] = "no-store"
    return response


def _identify(sso: _Sso) -> tuple[str, str]:
    """Finish the flow: the verified (lower-cased) user name and where they wanted to go.

    Raises
    ------
    SsoRefusedError
        When the token is verified but does not say who this is.
    OAuthError, JoseError, requests.RequestException, ValueError, RuntimeError
        When the callback, the IdP's answer or the ID token does not check out.
    """
    # Read before authlib consumes the state; an unknown state fails just below.
    pending = sso.client.framework.get_state_data(session, request.args.get("state")) or {}
    token = sso.client.authorize_access_token(claims_options=sso.claims_options(), leeway=_LEEWAY)
    claims = token.get("userinfo")
    if not claims:
        # No ID token, or no nonce stored for it: nothing verified says who this is.
        raise SsoRefusedError("no_id_token")
    value = claims.get(sso.settings.oidc_username_claim)
    if not isinstance(value, str) or not value.strip():
        raise SsoRefusedError("no_username_claim")
    return value.strip().lower()[:100], str(pending.get("next") or "/")


def callback() -> Response:
    """``GET /auth/oidc/callback``: verify the IdP's answer and start a session."""
    sso = _sso()
    if "error" in request.args:
        return _failed(400, f"idp_error:{request.args.get('error', '')[:100]}")
    try:
        name, wanted = _identify(sso)
    except SsoRefusedError as exc:
        return _failed(403, exc.reason, user=exc.user)
    except OAuthError as exc:
        log.warning("single sign-on refused: %s", exc)
        return _failed(400, f"oauth:{exc.error}")
    except JoseError as exc:
        log.warning("single sign-on ID token refused: %s", exc)
        return _failed(401, f"id_token:{exc.error}")
    except _FLOW_ERRORS as exc:
        log.warning("single sign-on failed: %s", exc)
        return _failed(400, "idp_unavailable")
    # Outside the try: a malformed users file is the operator's error, not the IdP's.
    if sso.users.get(name) is None:
        return _failed(403, "not_registered", user=name)
    try:
        return auth.start_session(name, "oidc", next_url=wanted)
    except audit_log.AuditError:
        # start_session fails closed when the login cannot be audited.
        log.exception("cannot audit a single sign-on")
        return auth.login_page(503, t("login.sso_failed", _lang()))


def install(app: dash.Dash, settings: Settings) -> None:
    """Add the SSO routes to ``app``'s server when ``settings.auth_provider == "oidc"``.

    Call it after :func:`dashboard.auth.install`. It opens the two routes to signed-out
    browsers, points the login page's SSO link at them and keys Flask's cookie session (the
    flow's state) with the derived ``session`` key, unless a key is already set. Installing
    twice on one server changes nothing.
    """
    if settings.auth_provider != "oidc":
        return
    server: Flask = app.server
    if _EXTENSION in server.extensions:
        return
    if not server.secret_key:
        server.secret_key = keys.derive(settings, "session")
    server.config.update(
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
    )
    if server.config.get("SESSION_COOKIE_NAME") == "session":
        # Flask's default name; ours says what the cookie is for.
        server.config["SESSION_COOKIE_NAME"] = "yiwang_sso_flow"
    server.extensions[_EXTENSION] = _Sso(server, settings)
    server.add_url_rule(START, "yiwang_oidc_start", start)
    server.add_url_rule(CALLBACK, "yiwang_oidc_callback", callback)
    auth.PUBLIC_PATHS.update({START, CALLBACK})
    auth.SSO_START["url"] = START
