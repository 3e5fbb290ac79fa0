"""A request's contact on screen: masked for partial viewers, in full only by an unmask.

What each role sees of the person behind a request (issue 7, ``Role.contact``):

* ``"masked"`` roles see the scrubbed description and the masked name and phone
  (张*, 138****5678) in the grid chief's worklist and in request exports;
* ``"hidden"`` roles (analysts) see neither, anywhere: :func:`shown_columns` drops the
  columns from exported rows, :func:`masked_contacts` returns nothing;
* nobody sees the phone key (a pseudonym for repeat-caller figures computed in the
  warehouse).

Roles with ``can_unmask`` get a "show contact" button on worklist rows. It POSTs to
``/contact/<request_id>`` (view :func:`contact_reveal`, endpoint ``contact_reveal``,
rate-limited by :mod:`dashboard.hardening`) with the unit being looked at, which must be in
the principal's scope and hold the request. The audit record is written **first**: if it
cannot be, the answer is 503 with no data (fail closed). Only then is the vault opened.
Answers are JSON, never cached (``Cache-Control: no-store``), and the page puts them in
as text (``assets/contact.js`` sets ``textContent``), never as HTML.
"""

from __future__ import annotations

import logging
from typing import Any

import dash
import flask
import pandas as pd
from dash import html
from dash.development.base_component import Component

from dashboard import access, auth, components, data
from dashboard.components.panels import attributes
from dashboard.i18n import Lang, t
from pipelines import contact_queries, vault
from pipelines.audit import AuditError

log = logging.getLogger(__name__)

ENDPOINT = "contact_reveal"
#: Contact columns of request rows (``fact_request``), and those every role loses.
CONTACT_COLUMNS = ("description", "contact_name_masked", "contact_phone_masked")
NEVER_SHOWN = ("contact_phone_key",)
#: Longest request id accepted in a reveal URL (real ones are ~20 characters).
MAX_ID_LENGTH = 64


def shown_columns(rows: pd.DataFrame) -> pd.DataFrame:
    """Return request ``rows`` without the contact columns the principal may not see."""
    drop: tuple[str, ...] = NEVER_SHOWN
    if access.current().role.contact == "hidden":
        drop = NEVER_SHOWN + CONTACT_COLUMNS
    present = [c for c in drop if c in rows.columns]
    return rows.drop(columns=present) if present else rows


def masked_contacts(unit_id: str, request_ids: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """Masked contact and scrubbed description of requests in the unit, by request id.

    Empty for roles whose contact view is ``"hidden"`` (nothing is even read).
    """
    if access.current().role.contact == "hidden" or not request_ids:
        return {}
    rows = data.read(contact_queries.contacts, unit_id=unit_id, request_ids=request_ids)
    return {str(r["request_id"]): r for r in rows.to_dict("records")}


def worklist_lines(
    request_id: str, unit_id: str, shown: dict[str, dict[str, Any]], lang: Lang
) -> list[Component]:
    """The lines a worklist row gets: what the citizen said, the masked contact, a button.

    Citizen text goes in as Dash children strings (rendered as text, never HTML).
    """
    row = shown.get(request_id)
    if row is None:
        return []
    lines: list[Component] = []
    said = row.get("description")
    if isinstance(said, str) and said:
        lines.append(html.Div(components.as_recorded(said), className="yw-contact-said"))
    name, phone = row.get("contact_name_masked"), row.get("contact_phone_masked")
    # the name as recorded (its script's language), the masked number a code (lang zxx)
    parts: list[Any] = []
    if isinstance(name, str) and name:
        parts.append(components.as_recorded(name))
    if isinstance(phone, str) and phone:
        parts += [" · "] if parts else []
        parts.append(html.Span(phone, lang="zxx"))
    if not parts:
        return lines
    contact: list[Any] = [f"{t('contact.label', lang)} ", *parts]
    if access.current().role.can_unmask:
        contact += [
            " ",
            html.Button(
                t("contact.show", lang),
                type="button",
                className="yw-contact-reveal",
                **attributes(
                    {
                        "data-contact-request": request_id,
                        "data-unit-id": unit_id,
                        "data-error": t("contact.error", lang),
                    }
                ),
            ),
            html.Span(className="yw-contact-full", **attributes({"aria-live": "polite"})),
        ]
    lines.append(html.Div(contact, className="yw-contact"))
    return lines


def _json(body: dict[str, Any], status: int) -> flask.Response:
    response = flask.jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def contact_reveal(request_id: str) -> flask.Response:
    """``POST /contact/<request_id>`` with ``{"unit": <unit id>}``: the contact in full.

    Refused (403) for roles that may not unmask and for units outside the principal's
    scope; 404 when the request does not lie in the unit; 503 when the audit record cannot
    be written (nothing is revealed without one) or the vault cannot be read.
    """
    principal = access.current()
    if not principal.role.can_unmask:
        return _json({"error": "your role may not see contact details"}, 403)
    body = flask.request.get_json(silent=True)
    unit_id = body.get("unit") if isinstance(body, dict) else None
    if not isinstance(unit_id, str) or not unit_id or len(request_id) > MAX_ID_LENGTH:
        return _json({"error": "name the unit the request lies in"}, 400)
    try:
        rows = data.read(contact_queries.contacts, unit_id=unit_id, request_ids=(request_id,))
    except access.OutOfScopeError:
        return _json({"error": "outside your scope"}, 403)
    except data.WarehouseUnavailableError:
        return _json({"error": "no published warehouse"}, 503)
    if rows.empty:
        return _json({"error": "no such request in this unit"}, 404)
    try:
        # Fail closed: no record of the unmask, no unmask.
        auth.audit("unmask", request_id=request_id, unit=unit_id)
    except AuditError:
        log.exception("unmask refused: the audit trail cannot be written")
        return _json({"error": "the audit trail cannot be written; refused"}, 503)
    try:
        found = vault.reveal(data.settings(), request_id)
    except vault.VaultError:
        log.exception("unmask failed: the contact vault cannot be read")
        return _json({"error": "the contact vault cannot be read"}, 503)
    if found is None:
        return _json({"request_id": request_id, "name": None, "phone": None}, 200)
    return _json(
        {
            "request_id": request_id,
            "name": found.name,
            "phone": found.phone,
            "description": found.description,
        },
        200,
    )


def register(app: dash.Dash) -> None:
    """Attach the reveal route to ``app``'s Flask server (endpoint ``contact_reveal``)."""
    app.server.add_url_rule(
        "/contact/<request_id>",
        endpoint=ENDPOINT,
        view_func=contact_reveal,
        methods=["POST"],
    )
