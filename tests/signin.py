"""Signing tests in: one user per role over the demo city, and session cookies for them.

The demo city's unit ids are fixed by its geography (Futian district 440304, its first
street, community and grid), so the same users fit every demo city a test builds.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from dashboard import users
from dashboard.auth import COOKIE
from dashboard.sessions import SessionStore
from pipelines.settings import Settings

DISTRICT, STREET, COMMUNITY, GRID = "440304", "440304001", "440304001001", "440304001001001"
PASSWORD = users.DEMO_PASSWORD


@lru_cache(maxsize=1)
def _hash() -> str:
    # Argon2 is slow on purpose: hash once per test session.
    return users.hash_password(PASSWORD)


def signin_users() -> dict[str, users.User]:
    """One user per role: admin, leader, district, street, community, grid, analyst."""
    return users.demo_users(DISTRICT, STREET, COMMUNITY, GRID, password_hash=_hash())


def write_users(security_dir: Path) -> Path:
    """Write the test users into ``security_dir/users.toml`` (once) and return its path."""
    path = security_dir / "users.toml"
    if not path.exists():
        users.write(path, signin_users(), header="test users (tests/signin.py)")
    return path


def session_token(security_dir: Path, user: str = "admin") -> str:
    """Start a server-side session for ``user`` in ``security_dir``; return the cookie value."""
    write_users(security_dir)
    settings = Settings()
    store = SessionStore(
        security_dir / "sessions.sqlite",
        idle_seconds=settings.session_idle_minutes * 60,
        max_seconds=settings.session_max_hours * 3600,
    )
    token, _ = store.create(user)
    return token


def sign_in(client: Any, settings: Settings, user: str = "admin") -> Any:
    """Give a Flask test client the session cookie of ``user``; return the client."""
    client.set_cookie(COOKIE, session_token(settings.security_directory, user))
    return client
