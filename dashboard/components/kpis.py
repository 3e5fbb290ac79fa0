"""The KPI strip: request volume, backlog, speed, satisfaction, dispatch split, worry."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dash import html
from dash.development.base_component import Component

from dashboard import ids
from dashboard.components.panels import attributes
from dashboard.figures import worry_color
from dashboard.fmt import NA, fmt_index, fmt_int, fmt_number, fmt_pct, is_missing
from dashboard.i18n import Lang, t


def _card(
    label: str, value: str | Component, sub: str | Component = "", *, key: str, tone: str = ""
) -> html.Div:
    return html.Div(
        [
            html.Div(label, className="yw-kpi-label"),
            html.Div(value, className="yw-kpi-value"),
            html.Div(sub, className="yw-kpi-sub"),
        ],
        className=f"yw-kpi {tone}".strip(),
        **attributes({"data-kpi": key}),
    )


def _dispatch(k: Mapping[str, Any], lang: Lang) -> html.Div:
    parts = [
        ("dispatch_district_share", "kpi.dispatch_district", "yw-seg-1"),
        ("dispatch_street_share", "kpi.dispatch_street", "yw-seg-2"),
        ("dispatch_community_share", "kpi.dispatch_community", "yw-seg-3"),
    ]
    bar = html.Div(
        [
            html.Div(className=f"yw-seg {cls}", style={"width": f"{(k.get(col) or 0) * 100:.2f}%"})
            for col, _, cls in parts
        ],
        className="yw-segbar",
    )
    legend = html.Div(
        [
            html.Span(
                [
                    html.I(className=f"yw-dot {cls}"),
                    t(key, lang),
                    " ",
                    html.B(fmt_pct(k.get(col), 0)),
                ],
                className="yw-seg-item",
            )
            for col, key, cls in parts
        ],
        className="yw-seg-legend",
    )
    return html.Div(
        [html.Div(t("kpi.dispatch", lang), className="yw-kpi-label"), bar, legend],
        className="yw-kpi yw-kpi-wide",
        **attributes({"data-kpi": "dispatch"}),
    )


def kpi_strip(kpis: Mapping[str, Any] | None, *, lang: Lang) -> html.Div:
    """Return the KPI cards of one unit and period.

    Parameters
    ----------
    kpis
        A ``mart_unit_kpi`` row (NULLs as ``None``); ``None`` when the unit had no requests,
        which renders zeros and dashes rather than an error.
    lang
        Label language.

    Returns
    -------
    dash.html.Div
        ``id = ids.KPIS``; each card carries ``data-kpi`` for tests and styling.
    """
    k: Mapping[str, Any] = kpis or {}
    requests = k.get("requests") or 0
    overdue_share = (k.get("overdue") or 0) / requests if requests else None
    worry = k.get("worry_index")
    worry_value = html.Span(
        fmt_index(worry), style={"color": worry_color(worry)} if not is_missing(worry) else {}
    )
    cards = [
        _card(
            t("kpi.requests", lang),
            fmt_int(requests),
            t("kpi.requests_sub", lang, value=fmt_number(k.get("requests_per_10k_30d"))),
            key="requests",
            tone="yw-kpi-lead",
        ),
        _card(
            t("kpi.open", lang),
            fmt_int(k.get("open") or 0),
            t("kpi.open_sub", lang, value=fmt_int(k.get("overdue_open") or 0)),
            key="open",
        ),
        _card(
            t("kpi.overdue", lang),
            fmt_int(k.get("overdue") or 0),
            t("kpi.overdue_sub", lang, value=fmt_pct(overdue_share)),
            key="overdue",
            tone="yw-kpi-warn",
        ),
        _card(
            t("kpi.completion", lang),
            fmt_pct(k.get("completion_rate")),
            t("kpi.completion_sub", lang, value=fmt_int(k.get("closed") or 0)),
            key="completion",
        ),
        _card(
            t("kpi.closed_1d", lang),
            fmt_pct(k.get("closed_1d_share")),
            t("kpi.closed_sub", lang, value=fmt_int(k.get("closed_1d") or 0)),
            key="closed_1d",
        ),
        _card(
            t("kpi.closed_3d", lang),
            fmt_pct(k.get("closed_3d_share")),
            t("kpi.closed_sub", lang, value=fmt_int(k.get("closed_3d") or 0)),
            key="closed_3d",
        ),
        _card(
            t("kpi.satisfaction", lang),
            fmt_pct(k.get("satisfaction_rate")),
            t("kpi.satisfaction_sub", lang, value=fmt_int(k.get("rated") or 0)),
            key="satisfaction",
        ),
        _dispatch(k, lang),
        _card(
            t("kpi.worry", lang),
            worry_value if not is_missing(worry) else NA,
            t("kpi.worry_sub", lang),
            key="worry",
            tone="yw-kpi-worry",
        ),
    ]
    return html.Div(cards, id=ids.KPIS, className="yw-kpis")
