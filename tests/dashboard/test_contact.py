"""Contacts on screen (issue 7): masked for partial viewers, hidden from analysts, and shown
in full only through the audited, scoped, fail-closed unmask route.

Over the session's small built city: demo descriptions end "联系人<name>，电话<mobile>。"
for about a third of requests, so the grid chief's worklist has contacts to show.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from dash._utils import to_json

from dashboard import access, auth, grid_view
from dashboard.export import export_href
from pipelines.audit import AuditError
from pipelines.settings import Settings
from tests.signin import DISTRICT, GRID

MOBILE = re.compile(r"(?<!\d)1[3-9]\d[\s-]?\d{4}[\s-]?\d{4}(?!\d)")
MASKED_PHONE = re.compile(r"1[3-9]\d\*{4}\d{4}")
# The small city's grids have hardly any open requests: a grid chief's role over a district
# has a worklist with contacts in it.
GRID_CHIEF = access.Principal("grid", access.ROLES["grid_chief"], frozenset({DISTRICT}))
ANALYST = access.Principal("analyst", access.ROLES["analyst"], frozenset({access.EVERYWHERE}))


@pytest.fixture(scope="module")
def contact_request(warehouse: Any) -> tuple[str, str]:
    """A request in the test grid chief's grid whose description gave a contact."""
    row = warehouse.execute(
        """
        SELECT r.request_id, l.unit_id
        FROM fact_request AS r
        JOIN fact_request_place AS p USING (request_id)
        JOIN dim_unit_lineage AS l ON l.hierarchy = p.hierarchy AND l.leaf_id = p.leaf_id
        WHERE l.unit_id = ? AND r.contact_phone_key IS NOT NULL
        ORDER BY r.request_id LIMIT 1
        """,
        [GRID],
    ).fetchone()
    assert row is not None, "the small city's test grid has no request with a contact"
    return str(row[0]), str(row[1])


@pytest.fixture(scope="module")
def outside_unit(warehouse: Any) -> str:
    """A district other than the test users' own."""
    row = warehouse.execute(
        "SELECT unit_id FROM dim_unit WHERE level = 'district' AND unit_id <> ? LIMIT 1",
        [DISTRICT],
    ).fetchone()
    return str(row[0])


def _unmask_records(settings: Settings) -> list[dict[str, Any]]:
    path = settings.security_directory / "audit.jsonl"
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [r for r in map(json.loads, lines) if r.get("event") == "unmask"]


def _reveal(client: Any, request_id: str, unit: str) -> Any:
    return client.post(f"/contact/{request_id}", json={"unit": unit})


def _worklist_json(principal: access.Principal) -> str:
    with access.acting_as(principal):
        return str(to_json(grid_view.chief_view(DISTRICT)))


def test_the_worklist_shows_masked_contacts_and_no_phone_number(city_data, contact_request):
    page = _worklist_json(GRID_CHIEF)
    assert MOBILE.search(page) is None
    assert MASKED_PHONE.search(page) is not None
    assert "[手机号]" in page  # the scrubbed description, as text
    assert "yw-contact-reveal" in page  # grid chiefs may unmask


def test_an_analyst_sees_no_contact_and_no_description(city_data, contact_request):
    page = _worklist_json(ANALYST)
    assert MOBILE.search(page) is None
    assert MASKED_PHONE.search(page) is None
    assert "[手机号]" not in page
    assert "yw-contact-reveal" not in page


@pytest.mark.parametrize(("user", "contact_shown"), [("grid", True), ("analyst", False)])
def test_request_exports_carry_masked_contacts_only_for_masked_roles(
    client_as, city_data, contact_request, user, contact_shown
):
    period = grid_view.export_period()
    url = export_href("requests", "csv", unit_id=GRID, period=period, status="all", lang="zh")
    response = client_as(user).get(url)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    header = body.splitlines()[0]
    assert MOBILE.search(body) is None
    assert "contact_phone_key" not in header
    assert ("contact_phone_masked" in header) is contact_shown
    assert ("description" in header) is contact_shown
    assert (MASKED_PHONE.search(body) is not None) is contact_shown


def test_a_grid_chief_unmasks_a_request_of_their_grid_with_one_audit_record(
    client_as, built_city, contact_request
):
    request_id, unit = contact_request
    before = len(_unmask_records(built_city))
    response = _reveal(client_as("grid"), request_id, unit)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    found = response.get_json()
    assert re.fullmatch(r"1[3-9]\d{9}", found["phone"])
    assert found["name"] and "*" not in found["name"]
    assert found["phone"] in found["description"].replace(" ", "").replace("-", "")
    records = _unmask_records(built_city)
    assert len(records) == before + 1
    assert records[-1]["request_id"] == request_id
    assert records[-1]["actor"] == "grid"


def test_an_analyst_may_not_unmask(client_as, built_city, contact_request):
    request_id, unit = contact_request
    before = len(_unmask_records(built_city))
    response = _reveal(client_as("analyst"), request_id, unit)
    assert response.status_code == 403
    assert MOBILE.search(response.get_data(as_text=True)) is None
    assert len(_unmask_records(built_city)) == before


def test_a_unit_outside_the_scope_is_refused_without_data(
    client_as, built_city, contact_request, outside_unit
):
    request_id, _ = contact_request
    before = len(_unmask_records(built_city))
    response = _reveal(client_as("grid"), request_id, outside_unit)
    assert response.status_code == 403
    body = response.get_data(as_text=True)
    assert MOBILE.search(body) is None
    assert request_id not in body
    assert len(_unmask_records(built_city)) == before


def test_a_request_outside_the_named_unit_is_not_found(client_as, warehouse):
    # the grid chief's own grid, but a request placed elsewhere
    other = warehouse.execute(
        "SELECT request_id FROM fact_request WHERE contact_phone_key IS NOT NULL"
        " AND request_id NOT IN (SELECT p.request_id FROM fact_request_place AS p"
        "  JOIN dim_unit_lineage AS l ON l.hierarchy = p.hierarchy AND l.leaf_id = p.leaf_id"
        "  WHERE l.unit_id = ?) LIMIT 1",
        [GRID],
    ).fetchone()[0]
    response = _reveal(client_as("grid"), other, GRID)
    assert response.status_code == 404
    assert MOBILE.search(response.get_data(as_text=True)) is None


def test_an_unmask_fails_closed_when_the_audit_trail_cannot_be_written(
    client_as, built_city, contact_request, monkeypatch
):
    request_id, unit = contact_request
    client = client_as("grid")

    def broken(*args: Any, **kwargs: Any) -> dict[str, Any]:
        raise AuditError("disk full")

    monkeypatch.setattr(auth._state().audit, "append", broken)
    response = _reveal(client, request_id, unit)
    assert response.status_code == 503
    body = response.get_data(as_text=True)
    assert MOBILE.search(body) is None
    assert "description" not in response.get_json()
