"""Single sign-on (dashboard.oidc) against a fake IdP on loopback.

The fake IdP is a small Flask app served from a thread: discovery, JWKS (an RSA key made
here), an authorize endpoint that records what the app asked for and hands back a code, and a
token endpoint that checks the PKCE verifier before returning an RS256-signed ID token. Each
test drives the browser's side by hand: app ``/auth/oidc/start`` → IdP ``/authorize`` → app
``/auth/oidc/callback``, so every hop can be inspected or forged.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import dash
import pytest
import requests
from dash import html
from flask import Flask, jsonify, redirect
from flask import request as idp_request
from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey
from werkzeug.serving import BaseWSGIServer, make_server

from dashboard import auth, oidc, users
from dashboard.access import ROLES
from dashboard.i18n import resolve_lang, t
from pipelines.settings import Settings

CLIENT_ID = "yiwang-test"
CLIENT_SECRET = "test-client-secret-not-a-real-one"


def _sso_failed() -> str:
    """The login page's SSO error in the app's default language."""
    return t("login.sso_failed", resolve_lang(None))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class FakeIdp:
    """A loopback OpenID provider whose ID tokens a test can bend.

    ``claims`` overrides (or, with ``None``, removes) claims of the next ID token;
    ``signing_key`` and ``alg`` replace the key and algorithm that sign it.
    """

    issuer: str
    key: RSAKey
    claims: dict[str, Any] = field(default_factory=dict)
    signing_key: RSAKey | OctKey | None = None
    alg: str = "RS256"
    advertised_issuer: str = ""
    send_id_token: bool = True
    authorize_requests: list[dict[str, str]] = field(default_factory=list)
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    server: BaseWSGIServer | None = None

    def stop(self) -> None:
        """Shut the IdP down (it becomes unreachable)."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


def _fake_idp_app(idp: FakeIdp) -> Flask:
    app = Flask("fake_idp")

    @app.get("/.well-known/openid-configuration")
    def discovery() -> Any:
        return jsonify(
            issuer=idp.advertised_issuer or idp.issuer,
            authorization_endpoint=f"{idp.issuer}/authorize",
            token_endpoint=f"{idp.issuer}/token",
            jwks_uri=f"{idp.issuer}/jwks",
            response_types_supported=["code"],
            subject_types_supported=["public"],
            id_token_signing_alg_values_supported=["RS256", "HS256", "none"],
            code_challenge_methods_supported=["S256"],
        )

    @app.get("/jwks")
    def jwks() -> Any:
        return jsonify(keys=[idp.key.as_dict(private=False)])

    @app.get("/authorize")
    def authorize() -> Any:
        asked = idp_request.args.to_dict()
        idp.authorize_requests.append(asked)
        code = secrets.token_urlsafe(16)
        idp.codes[code] = asked
        back = asked["redirect_uri"] + "?" + urlencode({"code": code, "state": asked["state"]})
        return redirect(back, 302)

    @app.post("/token")
    def token() -> Any:
        form = idp_request.form
        asked = idp.codes.pop(form.get("code", ""), None)
        if asked is None:
            return jsonify(error="invalid_grant"), 400
        if idp_request.authorization is None or (
            idp_request.authorization.username,
            idp_request.authorization.password,
        ) != (CLIENT_ID, CLIENT_SECRET):
            return jsonify(error="invalid_client"), 401
        verifier = form.get("code_verifier", "")
        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            .rstrip(b"=")
            .decode()
        )
        if challenge != asked["code_challenge"] or form.get("redirect_uri") != asked.get(
            "redirect_uri"
        ):
            return jsonify(error="invalid_grant"), 400
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": idp.issuer,
            "sub": "a1b2c3",
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 300,
            "nonce": asked["nonce"],
            "preferred_username": "Li_Street",
        }
        claims.update(idp.claims)
        claims = {k: v for k, v in claims.items() if v is not None}
        key = idp.signing_key or idp.key
        header = {"alg": idp.alg, "kid": idp.key.kid}
        algorithms = [idp.alg]
        id_token = jwt.encode(header, claims, key, algorithms=algorithms)
        answer = {"access_token": secrets.token_urlsafe(16), "token_type": "Bearer"}
        if idp.send_id_token:
            answer["id_token"] = id_token
        return jsonify(answer)

    return app


def _rsa_key(kid: str = "test-key-1") -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig", "alg": "RS256"})


@pytest.fixture(scope="module")
def idp_key() -> RSAKey:
    """The IdP's signing key (RSA keys are slow to make: one per module)."""
    return _rsa_key()


@pytest.fixture
def idp(idp_key: RSAKey) -> Iterator[FakeIdp]:
    """A fake IdP listening on a free loopback port for one test."""
    port = _free_port()
    fake = FakeIdp(issuer=f"http://127.0.0.1:{port}", key=idp_key)
    fake.server = make_server("127.0.0.1", port, _fake_idp_app(fake), threaded=True)
    server = fake.server
    thread = threading.Thread(target=lambda: server.serve_forever(poll_interval=0.05), daemon=True)
    thread.start()
    yield fake
    fake.stop()


def _dash_on(server: Flask) -> dash.Dash:
    """A bare Dash app (no pages: they are process-global) on a fresh Flask server."""
    # Dash 4.4's annotation of ``server`` omits Flask instances, which it accepts.
    return dash.Dash(__name__, server=server, use_pages=False)  # type: ignore[arg-type]


def _write_users(security_dir: Path) -> None:
    street = users.User("li_street", ROLES["street_leader"], frozenset({"440304001"}), None)
    users.write(security_dir / "users.toml", {street.name: street}, header="oidc tests")


@pytest.fixture
def make_app(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[[str], tuple[dash.Dash, Settings]]:
    """Build a minimal Dash app with ``auth`` and ``oidc`` installed against an issuer.

    Both modules keep process-wide registries (the gate's public paths, the login page's SSO
    link, the gate's state), and Dash remembers the last app built; all are restored after
    the test.
    """
    monkeypatch.setattr(dash._get_app, "APP", dash._get_app.APP)
    monkeypatch.setattr(auth, "PUBLIC_PATHS", set(auth.PUBLIC_PATHS))
    monkeypatch.setattr(auth, "SSO_START", {})
    monkeypatch.setattr(auth, "_STATE", auth._STATE)
    security = tmp_path / "security"
    _write_users(security)

    def build(issuer: str) -> tuple[dash.Dash, Settings]:
        settings = Settings.from_env(
            environ={},
            data_dir=tmp_path,
            security_dir=security,
            auth_provider="oidc",
            oidc_issuer=issuer,
            oidc_client_id=CLIENT_ID,
            oidc_client_secret=CLIENT_SECRET,
            language="en",
        )
        app = _dash_on(Flask("oidc_test_app"))
        app.layout = html.Div("cockpit")
        auth.install(app, settings)
        oidc.install(app, settings)
        return app, settings

    return build


@dataclass
class Flow:
    """One sign-in in progress: the app's test client and the hops seen so far."""

    client: Any
    authorize_url: str
    callback_url: str = ""

    @property
    def authorize_params(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(urlsplit(self.authorize_url).query).items()}


def _start(app: dash.Dash, next_path: str = "/district/440304") -> Flow:
    client = app.server.test_client()
    response = client.get(oidc.START + "?" + urlencode({"next": next_path}))
    assert response.status_code == 302, response.get_data(as_text=True)
    return Flow(client, response.headers["Location"])


def _authorize(flow: Flow) -> Flow:
    """Follow the app's redirect to the IdP, which answers with a redirect carrying a code."""
    response = requests.get(flow.authorize_url, allow_redirects=False, timeout=5)
    assert response.status_code == 302
    flow.callback_url = response.headers["Location"]
    return flow


def _callback(flow: Flow, **replace: str) -> Any:
    parts = urlsplit(flow.callback_url)
    assert parts.path == oidc.CALLBACK
    query = {k: v[0] for k, v in parse_qs(parts.query).items()} | replace
    return flow.client.get(parts.path + "?" + urlencode(query))


def _audit(settings: Settings) -> list[dict[str, Any]]:
    path = settings.security_directory / "audit.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _signed_in(client: Any) -> bool:
    return client.get_cookie(auth.COOKIE) is not None


def test_registered_user_signs_in_and_lands_on_next(
    idp: FakeIdp, make_app: Callable[[str], tuple[dash.Dash, Settings]]
) -> None:
    app, settings = make_app(idp.issuer)
    flow = _authorize(_start(app, next_path="/district/440304?period=last30"))

    response = _callback(flow)

    assert response.status_code == 303
    assert response.headers["Location"] == "/district/440304?period=last30"
    assert _signed_in(flow.client)
    # The session cookie opens the app: Dash's layout, which the gate refuses without one.
    assert flow.client.get("/_dash-layout").status_code == 200
    login = [r for r in _audit(settings) if r["event"] == "login"]
    assert login[-1]["actor"] == "li_street"
    assert login[-1]["method"] == "oidc"
    assert login[-1]["role"] == "street_leader"
    assert login[-1]["scope"] == ["440304001"]


def test_authorize_request_carries_pkce_state_and_nonce(
    idp: FakeIdp, make_app: Callable[[str], tuple[dash.Dash, Settings]]
) -> None:
    app, _ = make_app(idp.issuer)
    params = _start(app).authorize_params

    assert params["response_type"] == "code"
    assert params["client_id"] == CLIENT_ID
    assert "openid" in params["scope"].split()
    assert params["code_challenge_method"] == "S256"
    assert len(params["code_challenge"]) == 43  # base64url of a SHA-256, unpadded
    assert len(params["state"]) >= 20
    assert len(params["nonce"]) >= 20
    assert params["redirect_uri"] == "http://localhost" + oidc.CALLBACK


def test_each_sign_in_gets_a_fresh_state_nonce_and_verifier(
    idp: FakeIdp, make_app: Callable[[str], tuple[dash.Dash, Settings]]
) -> None:
    app, _ = make_app(idp.issuer)
    first, second = _start(app).authorize_params, _start(app).authorize_params

    for name in ("state", "nonce", "code_challenge"):
        assert first[name] != second[name]


def test_unregistered_user_is_refused_and_audited(
    idp: FakeIdp, make_app: Callable[[str], tuple[dash.Dash, Settings]]
) -> None:
    app, settings = make_app(idp.issuer)
    idp.claims = {"preferred_username": "Wang_Unknown"}
    flow = _authorize(_start(app))

    response = _callback(flow)

    assert response.status_code == 403
    assert _sso_failed() in response.get_data(as_text=True)
    assert not _signed_in(flow.client)
    failed = _audit(settings)[-1]
    assert failed["event"] == "login_failed"
    assert failed["actor"] == "wang_unknown"
    assert failed["method"] == "oidc"
    assert failed["reason"] == "not_registered"
    # Never provisioned: the users file still holds only the registered user.
    assert set(users.UsersFile(settings.users_path).users()) == {"li_street"}


def test_token_without_the_username_claim_is_refused(
    idp: FakeIdp, make_app: Callable[[str], tuple[dash.Dash, Settings]]
) -> None:
    app, settings = make_app(idp.issuer)
    idp.claims = {"preferred_username": None}

    response = _callback(_authorize(_start(app)))

    assert response.status_code == 403
    assert _audit(settings)[-1]["reason"] == "no_username_claim"


def test_token_answer_without_an_id_token_is_refused(
    idp: FakeIdp, make_app: Callable[[str], tuple[dash.Dash, Settings]]
) -> None:
    """An access token alone says nothing verified about who signed in."""
    app, settings = make_app(idp.issuer)
    idp.send_id_token = False

    response = _callback(_authorize(_start(app)))

    assert response.status_code == 403
    assert _audit(settings)[-1]["reason"] == "no_id_token"


def test_wrong_state_is_refused(
    idp: FakeIdp, make_app: Callable[[str], tuple[dash.Dash, Settings]]
) -> None:
    app, settings = make_app(idp.issuer)
    flow = _authorize(_start(app))

    response = _callback(flow, state="forged-state-value-123456")

    assert response.status_code == 400
    assert _sso_failed() in response.get_data(as_text=True)
    assert not _signed_in(flow.client)
    assert _audit(settings)[-1]["reason"] == "oauth:mismatching_state"


def test_callback_from_another_browser_is_refused(
    idp: FakeIdp, make_app: Callable[[str], tuple[dash.Dash, Settings]]
) -> None:
    """A code and state lifted from someone else's flow do not work in a fresh browser."""
    app, _ = make_app(idp.issuer)
    stolen = _authorize(_start(app))
    stolen.client = app.server.test_client()

    response = _callback(stolen)

    assert response.status_code == 400
    assert not _signed_in(stolen.client)


def test_state_is_single_use(
    idp: FakeIdp, make_app: Callable[[str], tuple[dash.Dash, Settings]]
) -> None:
    app, _ = make_app(idp.issuer)
    flow = _authorize(_start(app))
    assert _callback(flow).status_code == 303

    assert _callback(flow).status_code == 400


@pytest.mark.parametrize(
    ("bend", "reason"),
    [
        pytest.param({"aud": "another-client"}, "id_token:invalid_claim", id="wrong-aud"),
        pytest.param({"aud": ["another-client"]}, "id_token:invalid_claim", id="wrong-aud-list"),
        pytest.param(
            {"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200},
            "id_token:expired_token",
            id="expired",
        ),
        pytest.param({"nonce": "not-the-nonce-we-sent"}, "id_token:invalid_claim", id="nonce"),
        pytest.param({"nonce": None}, "id_token:missing_claim", id="no-nonce"),
        pytest.param({"iss": "http://127.0.0.1:1"}, "id_token:invalid_claim", id="wrong-iss"),
    ],
)
def test_token_with_bad_claims_is_refused(
    idp: FakeIdp,
    make_app: Callable[[str], tuple[dash.Dash, Settings]],
    bend: dict[str, Any],
    reason: str,
) -> None:
    app, settings = make_app(idp.issuer)
    idp.claims = bend
    flow = _authorize(_start(app))

    response = _callback(flow)

    assert response.status_code == 401
    assert _sso_failed() in response.get_data(as_text=True)
    assert not _signed_in(flow.client)
    failed = _audit(settings)[-1]
    assert (failed["event"], failed["method"], failed["reason"]) == (
        "login_failed",
        "oidc",
        reason,
    )


def test_token_signed_by_another_key_is_refused(
    idp: FakeIdp, make_app: Callable[[str], tuple[dash.Dash, Settings]]
) -> None:
    app, settings = make_app(idp.issuer)
    # Same key id as the published key, so only the signature check can tell.
    idp.signing_key = _rsa_key(kid=idp.key.kid or "")
    flow = _authorize(_start(app))

    response = _callback(flow)

    assert response.status_code == 401
    assert not _signed_in(flow.client)
    assert _audit(settings)[-1]["reason"].startswith("id_token:")


def test_token_signed_with_the_client_secret_is_refused(
    idp: FakeIdp, make_app: Callable[[str], tuple[dash.Dash, Settings]]
) -> None:
    """HS256 keyed with the shared secret is refused although the IdP's metadata offers it."""
    app, _ = make_app(idp.issuer)
    idp.signing_key = OctKey.import_key(CLIENT_SECRET)
    idp.alg = "HS256"
    flow = _authorize(_start(app))

    response = _callback(flow)

    assert response.status_code == 401
    assert not _signed_in(flow.client)


def test_idp_down_gives_the_login_page_with_the_sso_error(
    make_app: Callable[[str], tuple[dash.Dash, Settings]],
) -> None:
    app, settings = make_app(f"http://127.0.0.1:{_free_port()}")
    client = app.server.test_client()

    response = client.get(oidc.START + "?next=/")

    assert response.status_code == 400
    assert _sso_failed() in response.get_data(as_text=True)
    assert _audit(settings)[-1]["reason"] == "idp_unavailable"


def test_idp_going_down_before_the_callback_gives_the_sso_error(
    idp: FakeIdp, make_app: Callable[[str], tuple[dash.Dash, Settings]]
) -> None:
    app, _ = make_app(idp.issuer)
    flow = _authorize(_start(app))
    idp.stop()

    response = _callback(flow)

    assert response.status_code == 400
    assert _sso_failed() in response.get_data(as_text=True)
    assert not _signed_in(flow.client)


def test_idp_error_answer_gives_the_sso_error(
    idp: FakeIdp, make_app: Callable[[str], tuple[dash.Dash, Settings]]
) -> None:
    app, settings = make_app(idp.issuer)
    flow = _authorize(_start(app))

    response = _callback(flow, error="access_denied")

    assert response.status_code == 400
    assert _audit(settings)[-1]["reason"] == "idp_error:access_denied"


def test_discovery_naming_another_issuer_is_refused(
    idp: FakeIdp,
    make_app: Callable[[str], tuple[dash.Dash, Settings]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    app, _ = make_app(idp.issuer)
    idp.advertised_issuer = "http://sso.elsewhere.example"

    with caplog.at_level(logging.WARNING, logger="dashboard.oidc"):
        response = app.server.test_client().get(oidc.START)

    assert response.status_code == 400
    assert _sso_failed() in response.get_data(as_text=True)
    assert "sso.elsewhere.example" in caplog.text


def test_next_pointing_off_site_lands_on_home(
    idp: FakeIdp, make_app: Callable[[str], tuple[dash.Dash, Settings]]
) -> None:
    app, _ = make_app(idp.issuer)
    flow = _authorize(_start(app, next_path="//evil.example/phish"))

    response = _callback(flow)

    assert response.status_code == 303
    assert response.headers["Location"] == "/"


def test_login_page_offers_sso_and_no_password_form(
    idp: FakeIdp, make_app: Callable[[str], tuple[dash.Dash, Settings]]
) -> None:
    app, _ = make_app(idp.issuer)
    client = app.server.test_client()

    page = client.get("/login?next=/street/440304001").get_data(as_text=True)

    assert 'href="/auth/oidc/start?next=%2Fstreet%2F440304001"' in page
    assert 'type="password"' not in page


def test_signed_out_page_request_goes_to_login_and_sso_routes_stay_open(
    idp: FakeIdp, make_app: Callable[[str], tuple[dash.Dash, Settings]]
) -> None:
    app, _ = make_app(idp.issuer)
    client = app.server.test_client()

    page = client.get("/district/440304", headers={"Accept": "text/html"})
    start = client.get(oidc.START)

    assert page.status_code == 302
    assert page.headers["Location"].startswith("/login?next=")
    assert start.status_code == 302
    assert start.headers["Location"].startswith(idp.issuer + "/authorize?")


def test_flow_cookie_is_httponly_samesite_lax_and_keyed_by_the_derived_key(
    idp: FakeIdp, make_app: Callable[[str], tuple[dash.Dash, Settings]]
) -> None:
    from pipelines import keys

    app, settings = make_app(idp.issuer)
    response = app.server.test_client().get(oidc.START)

    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("yiwang_sso_flow=")
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # loopback host: cookie_secure=auto is off
    assert app.server.secret_key == keys.derive(settings, "session")


def test_install_is_a_no_op_for_password_sign_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dash._get_app, "APP", dash._get_app.APP)
    monkeypatch.setattr(auth, "SSO_START", {})
    settings = Settings.from_env(environ={}, data_dir=tmp_path)
    app = _dash_on(Flask("password_app"))

    oidc.install(app, settings)

    assert oidc.START not in {r.rule for r in app.server.url_map.iter_rules()}
    assert auth.SSO_START == {}


def test_installing_twice_registers_once(
    idp: FakeIdp, make_app: Callable[[str], tuple[dash.Dash, Settings]]
) -> None:
    app, settings = make_app(idp.issuer)

    oidc.install(app, settings)

    rules = [r.rule for r in app.server.url_map.iter_rules()]
    assert rules.count(oidc.START) == rules.count(oidc.CALLBACK) == 1
