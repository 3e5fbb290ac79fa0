"""Who is asking and what they may see: roles, geographic scope, the current principal.

A principal is a user name, a role and a scope. The scope is a set of unit ids: a unit is
visible when it or one of its ancestors is in the set, so a street leader whose scope is
their street sees the street, its communities and grids, and nothing above or beside it.
The city's id (or ``*``) means the whole city.

The principal of a web request is put on ``flask.g`` by :mod:`dashboard.auth` from the
server-side session; nothing a browser sends can change it. Outside a web request (the CLI,
notebooks, tests calling the data layer directly) the principal is :data:`SYSTEM` unless a
block runs :func:`acting_as` another one: those callers already hold the warehouse file.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Literal

from flask import g, has_request_context

#: Scope entry meaning the whole city, whatever its id.
EVERYWHERE = "*"


class NotSignedInError(PermissionError):
    """A web request reached the data layer without a signed-in principal."""


class OutOfScopeError(PermissionError):
    """The principal asked for a unit outside their scope (or a city-wide result)."""


@dataclass(frozen=True)
class Role:
    """What a role may do besides seeing its scope.

    Attributes
    ----------
    name
        The role's key in the users file.
    contact
        How a request's contact details appear: ``"masked"`` (138****5678, 张*) or
        ``"hidden"`` (not at all).
    can_unmask
        May reveal one request's contact details in full (audited, rate-limited).
    can_export
        May download CSV / GeoParquet of what they see.
    can_see_quality
        May open the data-quality page (quarantined input rows, boundary issues).
    can_read_audit
        May read the audit trail.
    """

    name: str
    contact: Literal["masked", "hidden"]
    can_unmask: bool = False
    can_export: bool = True
    can_see_quality: bool = False
    can_read_audit: bool = False


ROLES: dict[str, Role] = {
    r.name: r
    for r in (
        Role("admin", "masked", can_unmask=True, can_see_quality=True, can_read_audit=True),
        Role("city_leader", "masked"),
        Role("district_leader", "masked"),
        Role("street_leader", "masked"),
        # The two roles that call citizens back about their own requests.
        Role("community_secretary", "masked", can_unmask=True),
        Role("grid_chief", "masked", can_unmask=True),
        # Analysts work on patterns, not people: contact details never reach them.
        Role("analyst", "hidden", can_see_quality=True),
    )
}


@dataclass(frozen=True)
class Principal:
    """A signed-in user as the server knows them.

    Attributes
    ----------
    user
        The user name (the users file's key, or the SSO user mapped onto it).
    role
        Their :class:`Role`.
    scope
        Unit ids they may see, with their descendants; ``{"*"}`` is the whole city.
    session
        A short, non-secret session reference for the audit trail ("" outside the web).
    """

    user: str
    role: Role
    scope: frozenset[str]
    session: str = ""

    @property
    def everywhere(self) -> bool:
        """True when the scope is the whole city."""
        return EVERYWHERE in self.scope


SYSTEM = Principal("system", ROLES["admin"], frozenset({EVERYWHERE}))
_acting: ContextVar[Principal | None] = ContextVar("yiwang_principal", default=None)


def current() -> Principal:
    """Return the principal of this request (or :data:`SYSTEM` outside the web).

    Raises
    ------
    NotSignedInError
        In a web request that :mod:`dashboard.auth` did not sign in: nothing is served.
    """
    bound = _acting.get()
    if bound is not None:
        return bound
    if has_request_context():
        principal = g.get("yiwang_principal")
        if principal is None:
            raise NotSignedInError("not signed in")
        return principal
    return SYSTEM


def signed_in() -> Principal | None:
    """Return :func:`current`, or ``None`` in a web request nobody signed in to."""
    try:
        return current()
    except NotSignedInError:
        return None


@contextmanager
def acting_as(principal: Principal) -> Iterator[Principal]:
    """Run the block as ``principal`` (tests and batch jobs that act for a user)."""
    token = _acting.set(principal)
    try:
        yield principal
    finally:
        _acting.reset(token)


def sign_in_request(principal: Principal) -> None:
    """Attach ``principal`` to the current web request (called by :mod:`dashboard.auth`)."""
    g.yiwang_principal = principal
