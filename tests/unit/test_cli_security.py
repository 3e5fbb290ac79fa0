"""``yiwang user …`` and ``yiwang audit …`` from a shell."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from dashboard import users
from pipelines import audit
from pipelines.cli import app
from pipelines.cli_security import write_demo_users
from pipelines.settings import Settings

runner = CliRunner()


@pytest.fixture
def settings(tmp_path, monkeypatch) -> Settings:
    monkeypatch.setenv("YIWANG_DATA_DIR", str(tmp_path))
    return Settings.from_env(environ={}, data_dir=tmp_path)


def test_user_add_hashes_the_password_and_replaces_the_demo_users(settings, monkeypatch):
    write_demo_users(settings)
    answers = iter(["a long secret 1", "a long secret 1"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    result = runner.invoke(
        app, ["user", "add", "wang_wu", "--role", "grid_chief", "--scope", "440304001001001"]
    )
    assert result.exit_code == 0, result.output
    text = settings.users_path.read_text()
    assert "a long secret" not in text and "$argon2id$" in text
    found = users.UsersFile(settings.users_path).users()
    assert set(found) == {"wang_wu"}  # published-password demo users are gone
    assert users.check_password(found["wang_wu"], "a long secret 1")
    assert found["wang_wu"].scope == frozenset({"440304001001001"})
    assert oct(settings.users_path.stat().st_mode & 0o777) == "0o600"


def test_user_add_refuses_an_unknown_role_or_differing_passwords(settings, monkeypatch):
    bad_role = runner.invoke(app, ["user", "add", "x", "--role", "mayor", "--scope", "*"])
    assert bad_role.exit_code != 0 and "role must be one of" in bad_role.output
    answers = iter(["a long secret 1", "another secret 2"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    differ = runner.invoke(app, ["user", "add", "x", "--role", "admin", "--scope", "*"])
    assert differ.exit_code != 0 and "differ" in differ.output
    assert not settings.users_path.exists()


def test_user_list_shows_roles_and_scopes_but_never_hashes(settings):
    write_demo_users(settings)
    result = runner.invoke(app, ["user", "list"])
    assert result.exit_code == 0
    assert "street\tstreet_leader\t440304001\tpassword (demo)" in result.output
    assert "$argon2" not in result.output


def test_audit_verify_passes_an_intact_log_and_names_the_first_bad_line(settings):
    log = audit.AuditLog(settings.security_directory / "audit.jsonl")
    for i in range(3):
        log.append("page", actor="admin", path=f"/{i}")
    ok = runner.invoke(app, ["audit", "verify"])
    assert ok.exit_code == 0 and "3 records, chain intact" in ok.output
    lines = log.path.read_text().splitlines()
    record = json.loads(lines[1])
    record["actor"] = "someone"
    lines[1] = json.dumps(record)
    log.path.write_text("\n".join(lines) + "\n")
    bad = runner.invoke(app, ["audit", "verify"])
    assert bad.exit_code == 1 and "line 2" in bad.output


def test_the_la_demo_gets_only_city_wide_users(settings):
    write_demo_users(settings, scoped=False)
    found = users.UsersFile(settings.users_path).users()
    assert set(found) == {"admin", "leader", "analyst"}
