"""The KPI strip: one tile per registry metric, its definition on hover.

Tiles, names, units and definitions come from the metric registry
(``pipelines/metrics.toml``), the same one the notebook API and docs/metrics.md use, so a
tile says what its number means and the number equals ``api.metrics`` for the same unit
and period.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dash import html
from dash.development.base_component import Component

from dashboard import ids
from dashboard.components.panels import attributes
from dashboard.figures import worry_color
from dashboard.fmt import fmt_int, fmt_metric, fmt_number, fmt_pct, is_missing
from dashboard.i18n import Lang, t
from pipelines import metrics

#: The strip's metrics in display order (the dispatch split is one wide tile after them).
TILES = (
    "requests",
    "open",
    "overdue",
    "response_rate",
    "resolution_rate",
    "satisfaction_rate",
    "completion_rate",
    "on_time_rate",
    "closed_1d_share",
    "closed_3d_share",
    "handling_hours_p50",
    "repeat_rate",
    "reopen_rate",
    "worry_index",
)
DISPATCH = ("dispatch_district_share", "dispatch_street_share", "dispatch_community_share")
_LEAD = {"requests": "yw-kpi-lead", "overdue": "yw-kpi-warn", "worry_index": "yw-kpi-worry"}


def _sub(metric: metrics.Metric, k: Mapping[str, Any], lang: Lang) -> str:
    """The small line under a value: its sample, or a related figure."""
    if metric.id == "requests":
        return t("kpi.requests_sub", lang, value=fmt_number(k.get("requests_per_10k_30d")))
    if metric.id == "open":
        return t("kpi.open_sub", lang, value=fmt_int(k.get("overdue_open") or 0))
    if metric.id == "overdue":
        return t("kpi.overdue_sub", lang, value=fmt_pct(k.get("overdue_share")))
    if metric.id == "worry_index":
        return t("kpi.worry_sub", lang)
    if metric.id == "handling_hours_p50":
        return t("kpi.p90_sub", lang, value=fmt_metric(k.get("handling_hours_p90"), "hours"))
    if metric.numerator and metric.denominator:
        return t(
            "kpi.ratio_sub",
            lang,
            num=fmt_int(k.get(metric.numerator) or 0),
            den=fmt_int(k.get(metric.denominator) or 0),
        )
    return ""


def _hover(metric: metrics.Metric, lang: Lang) -> str:
    """Tooltip text: the definition, then numerator ÷ denominator when there is one."""
    text = f"{metric.name(lang)}: {metric.definition(lang)}"
    better = t("kpi.higher_better" if metric.higher_is_better else "kpi.lower_better", lang)
    return f"{text}\n{better}" if metric.unit != "count" else text


def _tile(metric: metrics.Metric, k: Mapping[str, Any], lang: Lang) -> html.Div:
    raw = k.get(metric.id)
    text = fmt_metric(raw if metric.unit != "count" else (raw or 0), metric.unit)
    value: Component | str = text
    if metric.id == "worry_index" and not is_missing(raw):
        value = html.Span(text, style={"color": worry_color(raw)})
    return html.Div(
        [
            html.Div(metric.name(lang), className="yw-kpi-label"),
            html.Div(value, className="yw-kpi-value"),
            html.Div(_sub(metric, k, lang), className="yw-kpi-sub"),
        ],
        className=f"yw-kpi {_LEAD.get(metric.id, '')}".strip(),
        title=_hover(metric, lang),
        **attributes({"data-kpi": metric.id, "data-value": text}),
    )


def _dispatch(k: Mapping[str, Any], lang: Lang) -> html.Div:
    classes = ("yw-seg-1", "yw-seg-2", "yw-seg-3")
    parts = [(metrics.metric(mid), cls) for mid, cls in zip(DISPATCH, classes, strict=True)]
    bar = html.Div(
        [
            html.Div(className=f"yw-seg {cls}", style={"width": f"{(k.get(m.id) or 0) * 100:.2f}%"})
            for m, cls in parts
        ],
        className="yw-segbar",
    )
    legend = html.Div(
        [
            html.Span(
                [
                    html.I(className=f"yw-dot {cls}"),
                    m.name(lang),
                    " ",
                    html.B(fmt_pct(k.get(m.id), 1), **attributes({"data-kpi": m.id})),
                ],
                className="yw-seg-item",
                title=f"{m.name(lang)}: {m.definition(lang)}",
            )
            for m, cls in parts
        ],
        className="yw-seg-legend",
    )
    return html.Div(
        [html.Div(t("kpi.dispatch", lang), className="yw-kpi-label"), bar, legend],
        className="yw-kpi yw-kpi-wide",
        **attributes({"data-kpi": "dispatch"}),
    )


def kpi_strip(kpis: Mapping[str, Any] | None, *, lang: Lang) -> html.Div:
    """Return the KPI tiles of one unit and period.

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
        ``id = ids.KPIS``; each tile carries ``data-kpi`` (the metric id) and
        ``data-value`` (the text shown) for tests and styling, and its definition as the
        hover title.
    """
    k: Mapping[str, Any] = kpis or {}
    tiles: list[Component] = [_tile(metrics.metric(mid), k, lang) for mid in TILES]
    tiles.insert(len(TILES) - 1, _dispatch(k, lang))
    return html.Div(tiles, id=ids.KPIS, className="yw-kpis")
