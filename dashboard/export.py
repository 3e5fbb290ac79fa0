"""Exports of the current selection (CSV, GeoParquet) and "open as code".

Two parts, both thin over :mod:`pipelines.export` (which owns the selection, the notebook
call, the rows and the bytes):

* the Flask route ``/export/<what>.<fmt>?unit=…&period=…&by=…&status=…&category=…&kind=…
  &lang=…`` (:func:`register`): checks every parameter against the served build (a bad
  one is a 400 with a plain message), runs the selection's notebook call on that build and
  answers with an attachment (an ASCII ``filename`` and an RFC 5987 ``filename*`` with the
  unit's name); ``X-Export-Rows`` says how many rows, ``X-Export-Capped`` that the
  selection had more than :data:`pipelines.export.ROW_CAP`; ``period=any`` (requests
  only) drops the intake-period filter (what is open now, as the SLA lists show it);
* :func:`export_menu`: the cockpit's download links for the view on screen and the "open
  as code" panel with the notebook code returning the same rows.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import dash
import flask
from dash import dcc, html

from dashboard import access, auth, components_view, contact, data, fmt, ids
from dashboard.components.panels import attributes
from dashboard.i18n import Lang, resolve_lang, t
from pipelines import export as core
from pipelines.audit import AuditError

log = logging.getLogger(__name__)

#: What can be exported: request records, heatmap cells or units; and in which format.
WHAT = core.WHAT
FORMATS = core.FORMATS
#: Query keys of an export URL; anything else is a 400 (a typo must not widen a download).
PARAMS = ("unit", "period", "by", "status", "category", "kind", "lang")
#: Request lists offered on every view; the SLA view adds its long-unresolved list.
MENU_STATUSES = ("all", "open", "overdue", "repeat")
#: Lists the SLA view shows as they stand now (not only requests created in the period).
NOW_STATUSES = ("open", "overdue")
#: Variable names of the selections in the "open as code" snippet.
_VARS = {
    "all": "requests",
    "open": "open_requests",
    "overdue": "overdue",
    "repeat": "repeats",
    "long_unresolved": "long_unresolved",
}


def export_href(
    what: str,
    fmt: str,
    *,
    unit_id: str,
    period: str,
    hierarchy: str | None = None,
    **filters: str | None,
) -> str:
    """Return the download URL of an export (``/export/<what>.<fmt>?unit=…&period=…``).

    Parameters
    ----------
    what
        One of :data:`WHAT`.
    fmt
        One of :data:`FORMATS` (``parquet`` is GeoParquet).
    unit_id, period, hierarchy
        The selection: the unit (the city's id for the city), the period id, and the city's
        hierarchy when it is not the primary one.
    **filters
        Further selection keys (``status``, ``category``, ``kind``; ``lang`` names the
        file in that language); ``None`` dropped.
    """
    if what not in WHAT or fmt not in FORMATS:
        raise ValueError(f"unknown export {what}.{fmt}")
    query = {"unit": unit_id, "period": period, "by": hierarchy, **filters}
    return f"/export/{what}.{fmt}?" + urlencode({k: v for k, v in query.items() if v})


class BadExport(ValueError):
    """A request for an export the build cannot answer (sent back as a 400)."""


@dataclass(frozen=True)
class Request:
    """A parsed export URL: the selection, its format and the unit's name for the file."""

    selection: core.Selection
    fmt: str
    unit_name: str


def parse(name: str, args: dict[str, str]) -> Request:
    """Return the export asked for by ``/export/<name>?<args>``, checked against the build.

    Raises
    ------
    BadExport
        For an unknown export, format, parameter, unit, period, hierarchy or status (the
        message names the value and what is allowed).
    """
    what, dot, fmt_ = name.partition(".")
    if what not in WHAT or not dot:
        raise BadExport(f"unknown export {name!r}; use /export/<what>.<fmt>, what: {WHAT}")
    if fmt_ not in FORMATS:
        raise BadExport(f"unknown format {fmt_!r}; one of {FORMATS}")
    unknown = sorted(set(args) - set(PARAMS))
    if unknown:
        raise BadExport(f"unknown parameters {unknown}; allowed: {list(PARAMS)}")
    unit_id = args.get("unit")
    if not unit_id:
        raise BadExport("missing parameter 'unit' (a unit id; the city's id for the city)")
    unit = data.unit(unit_id)
    if unit is None:
        # no echo of the id: a unit outside the asker's scope must not be confirmed to exist
        raise BadExport("unknown unit, or not in your scope")
    periods = [p.period_id for p in data.periods()]
    if what == "requests":
        periods.append(core.ANY_PERIOD)
    period = args.get("period")
    if period not in periods:
        raise BadExport(f"unknown period {period!r} for {what}; one of {periods}")
    by = args.get("by")
    hierarchy = None
    if by:
        known = [h.hierarchy for h in data.hierarchies() if h.hierarchy]
        if unit.level != "city" or by not in known:
            raise BadExport(f"unknown hierarchy {by!r} for {unit_id!r}; the city has {known}")
        hierarchy = by if by != data.meta().primary_hierarchy else None
    lang = args.get("lang")
    if lang is not None and lang not in ("zh", "en"):
        raise BadExport(f"unknown lang {lang!r}; zh or en")
    child = data.child_level(unit, by)
    try:
        selection = core.Selection(
            what,
            unit.level,
            unit.unit_id,
            str(period),
            hierarchy=hierarchy,
            child_level=child.level if child is not None else None,
            status=args.get("status") or "all",
            category=args.get("category") or None,
            kind=args.get("kind") or None,
        )
    except core.ExportError as exc:
        raise BadExport(str(exc)) from None
    return Request(selection, fmt_, unit.name(resolve_lang(lang)))


def content_disposition(plain: str, named: str) -> str:
    """Return an attachment header with an ASCII name and an RFC 5987 UTF-8 name."""
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(named, safe='')}"


def _text(message: str, status: int) -> flask.Response:
    return flask.Response(message + "\n", status=status, mimetype="text/plain")


def _rows_on(con: Any, selection: core.Selection) -> Any:
    """``core.frame`` with the connection first, as :func:`dashboard.data.run` calls."""
    return core.frame(selection, con=con)


def download(name: str) -> flask.Response:
    """The export route: the selection's rows as an attachment, or a 4xx/503 message."""
    if not access.current().role.can_export:
        return _text("your role may not export", 403)
    try:
        asked = parse(name, dict(flask.request.args.items()))
        build, (rows, capped) = data.run(_rows_on, asked.selection)
        rows = contact.shown_columns(rows)
        body = core.encode(rows, asked.fmt)
    except (BadExport, core.ExportError) as exc:
        return _text(str(exc), 400)
    except data.WarehouseUnavailableError:
        return _text("no published warehouse to export from", 503)
    sel = asked.selection
    try:
        # Fail closed: no record of the export, no export.
        auth.audit(
            "export",
            what=sel.what,
            unit=sel.unit_id,
            period=sel.period,
            format=asked.fmt,
            rows=len(rows),
            build=build,
        )
    except AuditError:
        log.exception("export refused: the audit trail cannot be written")
        return _text("the audit trail cannot be written; export refused", 503)
    plain, named = core.filename(asked.selection, asked.fmt, unit_name=asked.unit_name)
    response = flask.Response(body, content_type=core.MEDIA_TYPES[asked.fmt])
    response.headers["Content-Disposition"] = content_disposition(plain, named)
    response.headers["X-Export-Rows"] = str(len(rows))
    response.headers["X-Export-Build"] = build
    if capped:
        response.headers["X-Export-Capped"] = str(core.ROW_CAP)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def register(app: dash.Dash) -> None:
    """Attach the export routes to ``app``'s Flask server."""
    app.server.add_url_rule("/export/<name>", "yiwang_export", download)


# ---------------------------------------------------------------------------------------------
# the menu


@dataclass(frozen=True)
class MenuItem:
    """One exportable selection of the menu: its label, links and notebook variable."""

    key: str
    label: str
    var: str
    selection: core.Selection
    hrefs: dict[str, str]


def menu_items(
    unit: data.Unit,
    period_id: str,
    lang: Lang,
    view: str,
    hierarchy: str | None,
    **filters: Any,
) -> list[MenuItem]:
    """Return the selections the menu offers for the view on screen, in display order.

    The request lists (every view; the SLA view adds long-unresolved), the heatmap cells
    and, above the leaves, the child units. ``filters`` are the view's own (``kind`` on
    the components view, ``category``); unknown or empty ones are dropped.
    """
    by = hierarchy if unit.level == "city" else None
    if by is not None and by == data.meta().primary_hierarchy:
        by = None
    # an unknown ?kind= shows every kind (components_view); the downloads follow suit
    kind = components_view.known_kind(filters.get("kind")) if view == "components" else None
    category = filters.get("category")
    child = data.child_level(unit, hierarchy)
    base = {"level": unit.level, "unit_id": unit.unit_id, "period": period_id}
    statuses = (*MENU_STATUSES, "long_unresolved") if view == "sla" else MENU_STATUSES
    items: list[MenuItem] = []

    def add(key: str, label: str, var: str, sel: core.Selection, **keys: str | None) -> None:
        hrefs = {
            f: export_href(
                sel.what,
                f,
                unit_id=unit.unit_id,
                period=sel.period,
                hierarchy=by,
                lang=lang,
                **keys,
            )
            for f in FORMATS
        }
        items.append(MenuItem(key, label, var, sel, hrefs))

    for status in statuses:
        # the SLA view lists what is open now, whenever it came in: so do its downloads
        now = view == "sla" and status in NOW_STATUSES
        sel = core.Selection(
            "requests",
            unit.level,
            unit.unit_id,
            core.ANY_PERIOD if now else period_id,
            status=status,
            category=str(category) if category else None,
            kind=str(kind) if kind else None,
        )
        add(
            f"requests-{status}",
            t(f"export.requests.{status}{'_now' if now else ''}", lang),
            _VARS[status],
            sel,
            status=None if status == "all" else status,
            category=str(category) if category else None,
            kind=str(kind) if kind else None,
        )
    add("cells", t("export.cells", lang), "cells", core.Selection("cells", **base, hierarchy=by))
    if child is not None:
        add(
            "units",
            t("export.units", lang, level=child.label(lang)),
            "units",
            core.Selection("units", **base, child_level=child.level),
        )
    return items


def export_menu(
    unit: data.Unit,
    period: data.Period | str,
    lang: Lang,
    view: str,
    hierarchy: str | None,
    **filters: Any,
) -> html.Details:
    """Return the export menu of a cockpit: downloads and the "open as code" panel.

    Parameters
    ----------
    unit, period, lang, view, hierarchy
        What the cockpit shows (the city's hierarchy as the page resolved it).
    **filters
        The view's own filters (``kind`` on the components view, ``category``).
    """
    pid = period if isinstance(period, str) else period.period_id
    items = menu_items(unit, pid, lang, view, hierarchy, **filters)
    rows = []
    for item in items:
        links = [
            html.A(
                t(f"export.format.{f}", lang),
                href=href,
                download="",
                className=f"yw-export-link yw-export-{f}",
                title=core.call_text(item.selection, item.var),
                **attributes({"data-export": f"{item.key}.{f}", "data-var": item.var}),
            )
            for f, href in item.hrefs.items()
        ]
        rows.append(
            html.Tr([html.Th(item.label, scope="row"), *[html.Td(a) for a in links]]),
        )
    code = core.snippet(*((item.var, item.selection) for item in items))
    panel = html.Details(
        [
            html.Summary(t("export.code", lang), className="yw-export-code-summary"),
            html.P(t("export.code_hint", lang), className="yw-export-note"),
            html.Div(
                [
                    html.Pre(
                        html.Code(code, lang="zxx"),
                        id=ids.EXPORT_SNIPPET,
                        className="yw-export-pre",
                    ),
                    dcc.Clipboard(
                        id=ids.EXPORT_COPY,
                        content=code,
                        title=t("export.copy", lang),
                        className="yw-export-copy",
                    ),
                ],
                className="yw-export-codebox",
            ),
        ],
        id=ids.EXPORT_CODE,
        className="yw-export-code",
    )
    body = html.Div(
        [
            html.Table(html.Tbody(rows), className="yw-export-table"),
            html.P(
                t("export.cap", lang, n=fmt.fmt_int(core.ROW_CAP)),
                className="yw-export-note",
            ),
            panel,
        ],
        className="yw-export-body",
    )
    return html.Details(
        [html.Summary(t("export.title", lang), className="yw-export-summary"), body],
        id=ids.EXPORT_MENU,
        className="yw-export",
    )
