"""Server-side sessions: the cookie holds a random token, the server holds what it means.

The store is a small SQLite file in the security folder, shared by every server process and
kept across restarts (a wall screen stays signed in when the app is redeployed). Only the
SHA-256 of each token is stored, so a copy of the file does not let anyone in. A session ends
at logout, after ``session_idle_minutes`` without a request, or ``session_max_hours`` after
sign-in; what a user may see is looked up in the users file on every request, never stored
here, so a narrowed scope applies at once.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

#: Seconds between writes of a session's last-seen time (a refresh per request is wasteful).
_TOUCH_EVERY = 60


@dataclass(frozen=True)
class Session:
    """A live session: who, since when, and the short reference the audit trail uses."""

    user: str
    created: float
    last_seen: float
    ref: str


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class SessionStore:
    """Sessions in ``path`` (created on first use).

    Parameters
    ----------
    path
        The SQLite file.
    idle_seconds, max_seconds
        Inactivity and absolute lifetimes.
    """

    def __init__(self, path: Path, *, idle_seconds: float, max_seconds: float) -> None:
        self.path = path
        self.idle = idle_seconds
        self.max = max_seconds
        self._local = threading.local()

    def _con(self) -> sqlite3.Connection:
        con: sqlite3.Connection | None = getattr(self._local, "con", None)
        if con is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            con = sqlite3.connect(self.path, timeout=10, isolation_level=None)
            con.execute("PRAGMA journal_mode=WAL")
            con.execute(
                "CREATE TABLE IF NOT EXISTS session (digest TEXT PRIMARY KEY, user TEXT NOT NULL,"
                " created REAL NOT NULL, last_seen REAL NOT NULL)"
            )
            self.path.chmod(0o600)
            self._local.con = con
        return con

    def create(self, user: str) -> tuple[str, Session]:
        """Start a session for ``user``; return the cookie token and the session."""
        token = secrets.token_urlsafe(32)
        now = time.time()
        digest = _digest(token)
        self._con().execute("INSERT INTO session VALUES (?, ?, ?, ?)", (digest, user, now, now))
        return token, Session(user, now, now, digest[:12])

    def get(self, token: str | None) -> Session | None:
        """Return the live session of ``token`` (refreshing its last-seen time), or ``None``."""
        if not token or len(token) > 200:
            return None
        digest = _digest(token)
        con = self._con()
        row = con.execute(
            "SELECT user, created, last_seen FROM session WHERE digest = ?", (digest,)
        ).fetchone()
        if row is None:
            return None
        user, created, last_seen = row
        now = time.time()
        if now - last_seen > self.idle or now - created > self.max:
            con.execute("DELETE FROM session WHERE digest = ?", (digest,))
            return None
        if now - last_seen > _TOUCH_EVERY:
            con.execute("UPDATE session SET last_seen = ? WHERE digest = ?", (now, digest))
            last_seen = now
        return Session(user, created, last_seen, digest[:12])

    def end(self, token: str | None) -> None:
        """End the session of ``token`` (logout); unknown tokens are ignored."""
        if token:
            self._con().execute("DELETE FROM session WHERE digest = ?", (_digest(token),))

    def end_user(self, user: str) -> int:
        """End every session of ``user`` (a removed user or a changed password)."""
        return self._con().execute("DELETE FROM session WHERE user = ?", (user,)).rowcount

    def purge(self) -> int:
        """Delete expired sessions; return how many."""
        now = time.time()
        return (
            self._con()
            .execute(
                "DELETE FROM session WHERE ? - last_seen > ? OR ? - created > ?",
                (now, self.idle, now, self.max),
            )
            .rowcount
        )
