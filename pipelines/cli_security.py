"""``yiwang user …`` and ``yiwang audit …``: the users file and the audit trail from a shell."""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import Annotated

import typer

from pipelines import audit
from pipelines.settings import Settings

user_app = typer.Typer(help="Users, roles and scopes (the users file).", no_args_is_help=True)
audit_app = typer.Typer(help="The hash-chained audit trail.", no_args_is_help=True)

DataDir = Annotated[Path | None, typer.Option(help="Data folder (default: YIWANG_DATA_DIR)")]


def _settings(data_dir: Path | None) -> Settings:
    return Settings.from_env(data_dir=data_dir) if data_dir else Settings.from_env()


@user_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="User name (lower-case letters, digits, _.-@)")],
    role: Annotated[str, typer.Option(help="admin, city_leader, district_leader, …")],
    scope: Annotated[str, typer.Option(help="Unit ids, comma-separated; * is the whole city")],
    display_name: Annotated[str, typer.Option(help="Name shown in the header")] = "",
    sso_only: Annotated[bool, typer.Option(help="No password: signs in by SSO only")] = False,
    data_dir: DataDir = None,
) -> None:
    """Add or replace a user; the password is asked twice (never a command-line argument)."""
    from dashboard import users
    from dashboard.access import ROLES

    settings = _settings(data_dir)
    if role not in ROLES:
        raise typer.BadParameter(f"role must be one of {sorted(ROLES)}")
    password_hash = None
    if not sso_only:
        first = getpass.getpass("password: ")
        if first != getpass.getpass("again: "):
            raise typer.BadParameter("the two passwords differ")
        try:
            password_hash = users.hash_password(first)
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None
    path = settings.users_path
    current = dict(users.UsersFile(path).users())
    # A real user replaces the demo's published-password users entirely.
    current = {k: u for k, u in current.items() if not u.demo}
    entry = users.User(
        name.strip().lower(),
        ROLES[role],
        frozenset(s.strip() for s in scope.split(",") if s.strip()),
        password_hash,
        display_name,
    )
    users.parse(users.render({entry.name: entry}), path)  # the same checks as loading
    current[entry.name] = entry
    users.write(path, current, header="yiwang users (written by `yiwang user add`)")
    _end_sessions(settings, entry.name)
    typer.echo(f"{entry.name}: {role}, scope {sorted(entry.scope)} → {path}")


@user_app.command("remove")
def remove(name: str, data_dir: DataDir = None) -> None:
    """Remove a user and end their sessions."""
    from dashboard import users

    settings = _settings(data_dir)
    current = dict(users.UsersFile(settings.users_path).users())
    if current.pop(name.lower(), None) is None:
        raise typer.BadParameter(f"no user {name!r} in {settings.users_path}")
    users.write(settings.users_path, current, header="yiwang users")
    _end_sessions(settings, name.lower())
    typer.echo(f"removed {name}")


@user_app.command("list")
def list_users(data_dir: DataDir = None) -> None:
    """List users with role and scope (no hashes)."""
    from dashboard import users

    settings = _settings(data_dir)
    for user in users.UsersFile(settings.users_path).users().values():
        kind = "sso" if not user.password_hash else "password"
        demo = " (demo)" if user.demo else ""
        typer.echo(f"{user.name}\t{user.role.name}\t{','.join(sorted(user.scope))}\t{kind}{demo}")


def _end_sessions(settings: Settings, name: str) -> None:
    from dashboard.sessions import SessionStore

    path = settings.security_directory / "sessions.sqlite"
    if path.exists():
        SessionStore(path, idle_seconds=1, max_seconds=1).end_user(name)


@audit_app.command("verify")
def verify(data_dir: DataDir = None) -> None:
    """Check the audit trail's hash chain; exit 1 naming the first bad line."""
    settings = _settings(data_dir)
    path = settings.security_directory / "audit.jsonl"
    result = audit.verify(path)
    if not result.ok:
        typer.echo(f"{path}: line {result.bad_line}: {result.reason}", err=True)
        raise typer.Exit(1)
    typer.echo(f"{path}: {result.records} records, chain intact")


@audit_app.command("show")
def show(
    last: Annotated[int, typer.Option(help="How many of the latest records")] = 20,
    data_dir: DataDir = None,
) -> None:
    """Print the latest records (one JSON object per line)."""
    path = _settings(data_dir).security_directory / "audit.jsonl"
    if not path.exists():
        return
    for line in path.read_text(encoding="utf-8").splitlines()[-last:]:
        record = json.loads(line)
        typer.echo(json.dumps(record, ensure_ascii=False))


def write_demo_users(settings: Settings, *, scoped: bool = True) -> Path | None:
    """Give the demo one user per role (password ``yiwang-demo``) unless a users file exists.

    ``scoped=False`` writes only the city-wide ones (admin, leader, analyst): for cities
    whose unit ids are not known before the build (Los Angeles).
    """
    from dashboard import users

    path = settings.users_path
    if path.exists():
        return None
    # Futian (福田区) and its first street, community and grid: fixed by the demo geography.
    demo = users.demo_users("440304", "440304001", "440304001001", "440304001001001")
    if not scoped:
        demo = {name: u for name, u in demo.items() if "*" in u.scope}
    users.write(
        path,
        demo,
        header=(
            "Demo users, one per role; every password is "
            f"{users.DEMO_PASSWORD!r}.\nThey only serve on loopback: replace them with "
            "`yiwang user add` before serving on a network."
        ),
    )
    return path
