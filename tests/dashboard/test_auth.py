"""Signing in and out: the login form, sessions, the users file, the demo users' guard."""

from __future__ import annotations

import json
import re
from typing import Any

import dash
import pytest

from dashboard import access, auth, data, users
from dashboard.sessions import SessionStore
from pipelines import audit
from pipelines.settings import Settings
from tests.signin import PASSWORD, signin_users


def _csrf(client: Any, query: str = "") -> str:
    response = client.get("/login" + query)
    assert response.status_code == 200
    match = re.search(r'name="csrf" value="([^"]+)"', response.get_data(as_text=True))
    assert match
    return match.group(1)


def _login(client: Any, user: str, password: str, query: str = "") -> Any:
    token = _csrf(client, query)
    return client.post("/login" + query, data={"user": user, "password": password, "csrf": token})


def _audit_records(settings: Settings) -> list[dict[str, Any]]:
    path = settings.security_directory / "audit.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_page_without_a_session_goes_to_the_login_page_keeping_where_it_was(app):
    response = app.server.test_client().get(
        "/district/440304?view=worry", headers={"Accept": "text/html"}
    )
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/district/440304%3Fview%3Dworry")


def test_the_login_page_speaks_chinese_and_english_and_needs_no_session(app):
    client = app.server.test_client()
    zh = client.get("/login").get_data(as_text=True)
    en = client.get("/login?lang=en").get_data(as_text=True)
    assert "登录" in zh and 'lang="zh-CN"' in zh
    assert "Sign in" in en and 'lang="en"' in en
    assert client.get("/login.css").status_code == 200


def test_the_right_password_signs_in_with_a_safe_cookie_and_is_audited(app, built_city):
    client = app.server.test_client()
    response = _login(client, "street", PASSWORD, "?next=/street/440304001")
    assert response.status_code == 303
    assert response.headers["Location"] == "/street/440304001"
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith(auth.COOKIE))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    assert client.get("/_dash-layout").status_code == 200
    login = [r for r in _audit_records(built_city) if r["event"] == "login"][-1]
    assert login["actor"] == "street" and login["role"] == "street_leader"
    assert login["scope"] == ["440304001"] and login["method"] == "password"


def test_a_wrong_password_or_unknown_user_is_refused_alike_and_audited(app, built_city):
    client = app.server.test_client()
    wrong = _login(client, "grid", "not the password")
    unknown = _login(client, "nobody", "not the password")
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert auth.COOKIE + "=" not in " ".join(response.headers.getlist("Set-Cookie"))
    assert wrong.get_data(as_text=True).count("用户名或密码不正确") == 1
    failed = [r for r in _audit_records(built_city) if r["event"] == "login_failed"]
    assert {"grid", "nobody"} <= {r["actor"] for r in failed}
    assert client.get("/_dash-layout").status_code == 401


def test_a_login_post_without_the_pages_csrf_token_is_refused(app):
    client = app.server.test_client()
    _csrf(client)
    response = client.post("/login", data={"user": "admin", "password": PASSWORD, "csrf": "x"})
    assert response.status_code == 400
    assert client.get("/_dash-layout").status_code == 401


@pytest.mark.parametrize(
    "target", ["//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:x"]
)
def test_next_never_leads_off_the_site(app, target):
    from urllib.parse import quote

    response = _login(app.server.test_client(), "admin", PASSWORD, f"?next={quote(target)}")
    assert response.status_code == 303
    assert response.headers["Location"] == "/"


def test_logout_ends_the_session_on_the_server(app):
    client = app.server.test_client()
    _login(client, "admin", PASSWORD)
    token = client.get_cookie(auth.COOKIE).value
    assert client.post("/logout").status_code == 303
    replay = app.server.test_client()
    replay.set_cookie(auth.COOKIE, token)  # a copy of the cookie kept by someone
    assert replay.get("/_dash-layout").status_code == 401


def test_a_session_ends_after_the_idle_time_and_the_maximum_age(tmp_path, monkeypatch):
    import dashboard.sessions as sessions

    clock = [1_000_000.0]
    monkeypatch.setattr(sessions.time, "time", lambda: clock[0])
    store = SessionStore(tmp_path / "s.sqlite", idle_seconds=600, max_seconds=3600)
    token, _ = store.create("admin")
    clock[0] += 500
    assert store.get(token) is not None  # used within the idle time: refreshed
    clock[0] += 500
    assert store.get(token) is not None
    clock[0] += 601
    assert store.get(token) is None  # idle too long
    token, _ = store.create("admin")
    for _ in range(7):
        clock[0] += 590
        store.get(token)
    assert store.get(token) is None  # busy, but past the maximum age
    assert not (tmp_path / "s.sqlite").read_bytes().count(token.encode())


def test_role_and_scope_come_from_the_users_file_at_each_request(app, built_city):
    """Narrowing a user's scope in the file applies to their live session at once."""
    path = built_city.users_path
    original = path.read_text()
    client = app.server.test_client()
    _login(client, "district", PASSWORD)
    try:
        narrowed = dict(signin_users())
        narrowed["district"] = users.User(
            "district",
            access.ROLES["district_leader"],
            frozenset({"440304001"}),
            narrowed["district"].password_hash,
        )
        users.write(path, narrowed)
        body = {
            "output": "_pages_content.children",
            "outputs": {"id": "_pages_content", "property": "children"},
            "inputs": [
                {"id": "_pages_location", "property": "pathname", "value": "/district/440304"},
                {"id": "_pages_location", "property": "search", "value": ""},
            ],
            "state": [],
            "changedPropIds": ["_pages_location.pathname"],
        }
        response = client.post("/_dash-update-component", json=body)
        district = data.unit("440304")
        assert district is not None
        assert district.name_zh not in response.get_data(as_text=True)
    finally:
        path.write_text(original)


def test_a_malformed_users_file_is_an_error_naming_the_user(tmp_path):
    where = tmp_path / "users.toml"
    with pytest.raises(ValueError, match="role 'mayor'"):
        users.parse('[users.a]\nrole = "mayor"\nscope = ["*"]\n', where)
    with pytest.raises(ValueError, match="scope"):
        users.parse('[users.a]\nrole = "admin"\nscope = "*"\n', where)
    with pytest.raises(ValueError, match="not an Argon2 hash"):
        users.parse('[users.a]\nrole = "admin"\nscope = ["*"]\npassword = "hunter2"\n', where)
    with pytest.raises(ValueError, match="unknown keys"):
        users.parse('[users.a]\nrole = "admin"\nscope = ["*"]\nadmin = true\n', where)


def test_passwords_are_stored_as_argon2id_and_short_ones_are_refused():
    stored = users.hash_password("correct horse battery")
    assert stored.startswith("$argon2id$") and "correct" not in stored
    user = users.User("a", access.ROLES["admin"], frozenset({"*"}), stored)
    assert users.check_password(user, "correct horse battery")
    assert not users.check_password(user, "wrong horse battery")
    assert not users.check_password(None, "correct horse battery")
    with pytest.raises(ValueError):
        users.hash_password("short")


def test_demo_users_with_a_published_password_never_serve_beyond_loopback(tmp_path):
    settings = Settings.from_env(environ={}, data_dir=tmp_path, host="0.0.0.0")
    users.write(settings.users_path, signin_users())
    bare = dash.Dash(__name__)
    with pytest.raises(RuntimeError, match="demo users"):
        auth.install(bare, settings)


def test_the_audit_trail_of_a_session_of_use_verifies(app, built_city):
    client = app.server.test_client()
    _login(client, "admin", PASSWORD)
    client.post("/logout")
    assert audit.verify(built_city.security_directory / "audit.jsonl").ok
