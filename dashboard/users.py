"""The users file: who may sign in, with which role and scope, and their password hashes.

A TOML file (``users_file``, default ``<security_dir>/users.toml``)::

    [users.li_street]
    display_name = "李街道"
    role = "street_leader"            # a key of dashboard.access.ROLES
    scope = ["440304001"]             # unit ids; "*" is the whole city
    password = "$argon2id$v=19$..."   # from `yiwang user add`; omit for SSO-only users

Passwords are Argon2id hashes (argon2-cffi's defaults, RFC 9106's second recommended
option). The file is re-read when it changes on disk, so adding a user or narrowing a scope
needs no restart, and a session's role and scope are always the file's current ones.
"""

from __future__ import annotations

import threading
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from dashboard.access import EVERYWHERE, ROLES, Role

_HASHER = PasswordHasher()
#: Verified against when the user name is unknown, so a wrong name costs the same time.
_DUMMY_HASH = _HASHER.hash("not a password of anyone")
#: A user name is a key in TOML and a word in the audit trail.
_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789_.-@")
MIN_PASSWORD = 10


@dataclass(frozen=True)
class User:
    """One entry of the users file."""

    name: str
    role: Role
    scope: frozenset[str]
    password_hash: str | None
    display_name: str = ""
    demo: bool = False


def hash_password(password: str) -> str:
    """Return the Argon2id hash to store for ``password``.

    Raises
    ------
    ValueError
        When the password is shorter than :data:`MIN_PASSWORD` characters.
    """
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"a password needs at least {MIN_PASSWORD} characters")
    return _HASHER.hash(password)


def check_password(user: User | None, password: str) -> bool:
    """Return whether ``password`` is ``user``'s (in the same time for an unknown user)."""
    stored = user.password_hash if user is not None and user.password_hash else _DUMMY_HASH
    try:
        ok = _HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False
    return ok and user is not None and bool(user.password_hash)


def _parse_user(name: str, entry: object, where: Path) -> User:
    if not isinstance(entry, Mapping):
        raise ValueError(f"{where}: [users.{name}] must be a table")
    if not name or set(name.lower()) - _NAME_CHARS or name != name.lower():
        raise ValueError(f"{where}: user name {name!r} must be lower-case letters, digits, _.-@")
    role = entry.get("role")
    if role not in ROLES:
        raise ValueError(f"{where}: user {name!r} has role {role!r}; roles are {sorted(ROLES)}")
    scope = entry.get("scope")
    if not isinstance(scope, list) or not scope or not all(isinstance(s, str) for s in scope):
        raise ValueError(f"{where}: user {name!r} needs scope = a list of unit ids (or ['*'])")
    password = entry.get("password")
    if password is not None and not (isinstance(password, str) and password.startswith("$argon2")):
        raise ValueError(f"{where}: user {name!r} has a password that is not an Argon2 hash")
    unknown = set(entry) - {"role", "scope", "password", "display_name", "demo"}
    if unknown:
        raise ValueError(f"{where}: user {name!r} has unknown keys {sorted(unknown)}")
    return User(
        name=name,
        role=ROLES[str(role)],
        scope=frozenset(s.strip() for s in scope),
        password_hash=password,
        display_name=str(entry.get("display_name", "")),
        demo=bool(entry.get("demo", False)),
    )


def parse(text: str, where: Path) -> dict[str, User]:
    """Parse users-file text.

    Raises
    ------
    ValueError
        With the file name and the offending user for any malformed entry.
    """
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{where}: {exc}") from None
    table = doc.get("users", {})
    if not isinstance(table, Mapping):
        raise ValueError(f"{where}: [users] must be a table of users")
    return {name: _parse_user(name, entry, where) for name, entry in table.items()}


class UsersFile:
    """The users file, re-read whenever it changes on disk.

    A missing file means nobody can sign in (the login page says so); a malformed one
    raises on load, so a typo never silently locks out or lets in anyone.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._users: dict[str, User] = {}

    def users(self) -> dict[str, User]:
        """Return every user by name (empty when the file does not exist)."""
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return {}
        stamp = (st.st_mtime_ns, st.st_size)
        with self._lock:
            if stamp != self._stamp:
                self._users = parse(self.path.read_text(encoding="utf-8"), self.path)
                self._stamp = stamp
            return self._users

    def get(self, name: str) -> User | None:
        """Return the user called ``name`` (names are case-insensitive), or ``None``."""
        return self.users().get(name.strip().lower())


def _toml_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render(users: Mapping[str, User], header: str = "") -> str:
    """Return the users file text for ``users`` (what ``yiwang user add`` writes)."""
    lines = [f"# {line}" if line else "#" for line in header.splitlines()]
    for user in users.values():
        lines += ["", f"[users.{_toml_string(user.name)}]"]
        if user.display_name:
            lines.append(f"display_name = {_toml_string(user.display_name)}")
        lines.append(f"role = {_toml_string(user.role.name)}")
        lines.append("scope = [" + ", ".join(_toml_string(s) for s in sorted(user.scope)) + "]")
        if user.password_hash:
            lines.append(f"password = {_toml_string(user.password_hash)}")
        if user.demo:
            lines.append("demo = true")
    return "\n".join(lines).lstrip("\n") + "\n"


def write(path: Path, users: Mapping[str, User], header: str = "") -> None:
    """Write the users file atomically with mode 0600 (it holds password hashes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(render(users, header), encoding="utf-8")
    tmp.chmod(0o600)
    tmp.replace(path)


#: The demo's password for every demo user (README): a demo users file refuses to serve
#: anywhere but loopback.
DEMO_PASSWORD = "yiwang-demo"


def demo_users(
    district: str, street: str, community: str, grid: str, password_hash: str | None = None
) -> dict[str, User]:
    """Return one demo user per role, scoped to the given units of the demo city."""
    hashed = password_hash or hash_password(DEMO_PASSWORD)
    plan = (
        ("admin", "admin", EVERYWHERE, "管理员"),
        ("leader", "city_leader", EVERYWHERE, "市领导"),
        ("district", "district_leader", district, "区领导"),
        ("street", "street_leader", street, "街道领导"),
        ("community", "community_secretary", community, "社区书记"),
        ("grid", "grid_chief", grid, "网格长"),
        ("analyst", "analyst", EVERYWHERE, "分析员"),
    )
    return {
        name: User(name, ROLES[role], frozenset({scope}), hashed, display, demo=True)
        for name, role, scope, display in plan
    }
