"""Dashboard fixtures: the app over the session's small built city, and tree helpers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import dash
import pytest

from dashboard import data
from pipelines.settings import Settings
from tests.signin import sign_in, write_users


@pytest.fixture(scope="session")
def app(built_city: Settings) -> dash.Dash:
    """The cockpit app over the small city (created once: Dash pages are process-global)."""
    from dashboard.app import create_app

    write_users(built_city.security_directory)
    return create_app(built_city)


@pytest.fixture(autouse=True)
def fresh_rate_limits(request: pytest.FixtureRequest) -> None:
    """Each test starts with empty rate-limit counters (the app lives for the session)."""
    if "app" in request.fixturenames:
        server = request.getfixturevalue("app").server
        for limiter in server.extensions.get("limiter", ()):
            limiter.reset()


@pytest.fixture
def client(app: dash.Dash, built_city: Settings) -> Any:
    """A Flask test client signed in as the city-wide admin."""
    return sign_in(app.server.test_client(), built_city, "admin")


@pytest.fixture
def client_as(app: dash.Dash, built_city: Settings) -> Any:
    """``client_as("street")``: a test client signed in as one of tests/signin.py's users."""
    return lambda user: sign_in(app.server.test_client(), built_city, user)


@pytest.fixture
def city_data(app: dash.Dash, built_city: Settings) -> Iterator[Settings]:
    """Point the data layer at the small city (tests may re-point it at fakes)."""
    data.configure(built_city)
    yield built_city
    data.configure(built_city)


@pytest.fixture
def units(city_data: Settings) -> dict[str, data.Unit]:
    """One real unit per level: the city, its busiest district, street and community."""
    city = data.city()
    picked = {"city": city}
    parent = city
    for level in ("district", "street", "community"):
        ranked = data.child_kpis(parent, "last30").sort_values("requests", ascending=False)
        child = data.unit(str(ranked["unit_id"].iloc[0]))
        assert child is not None and child.level == level
        picked[level] = child
        parent = child
    return picked


def _layout_of(module: str, **kwargs: Any) -> Any:
    """Call a registered page's layout the way the Dash router does (path vars + query).

    ``module`` is a page module (``city``, ``quality``) or a level name, which the router
    sends to the one unit page as ``/<level>/<unit_id>``.
    """
    registry = dash.page_registry
    if f"dashboard.pages.{module}" in registry:
        return registry[f"dashboard.pages.{module}"]["layout"](**kwargs)
    return registry["dashboard.pages.unit"]["layout"](level=module, **kwargs)


def _ids_in(component: Any) -> set[str]:
    """Every component id in a rendered tree."""
    found = {component.id} if getattr(component, "id", None) else set()
    for child in component._traverse():
        if getattr(child, "id", None):
            found.add(child.id)
    return found


def _texts_in(component: Any) -> str:
    """All string children of a rendered tree, joined (to assert on visible text)."""
    parts: list[str] = []

    def collect(node: Any) -> None:
        children = getattr(node, "children", None)
        if isinstance(children, str):
            parts.append(children)
        elif isinstance(children, (list, tuple)):
            for c in children:
                if isinstance(c, str):
                    parts.append(c)
                else:
                    collect(c)
        elif children is not None:
            collect(children)

    collect(component)
    return " ".join(parts)


@pytest.fixture
def layout_of(app: dash.Dash) -> Any:
    """``layout_of("district", unit_id=..., period=...)`` → the rendered page."""
    return _layout_of


@pytest.fixture
def ids_in() -> Any:
    """``ids_in(tree)`` → the set of component ids in a rendered tree."""
    return _ids_in


@pytest.fixture
def texts_in() -> Any:
    """``texts_in(tree)`` → the visible strings of a rendered tree, joined."""
    return _texts_in
