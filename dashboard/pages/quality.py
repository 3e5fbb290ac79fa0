"""The data-quality page (``/quality``): the build's row accounting and location statuses."""

from __future__ import annotations

from typing import Any

import dash
from dash import dcc, html

from dashboard import components, data, fmt, ids, routes
from dashboard.i18n import resolve_lang, t

dash.register_page(__name__, path="/quality", name="Data quality", title="一网统管 · 数据质量")


def layout(**kwargs: Any) -> html.Div:
    """Render the counters of the served build, one table row per dataset and item."""
    lang = resolve_lang(kwargs.get("lang"))
    try:
        counts = data.quality_counts()
    except data.WarehouseUnavailableError:
        return components.empty_state(
            t("empty.no_warehouse.title", lang),
            t("empty.no_warehouse.body", lang),
            back_href=routes.with_query("/", lang=lang),
            back_text=t("empty.back", lang),
            component_id=ids.QUALITY_TABLE,
        )
    rows = []
    for key in sorted(counts):
        dataset, _, item = key.partition(":")
        rows.append(html.Tr([html.Td(dataset), html.Td(item), html.Td(fmt.fmt_int(counts[key]))]))
    table = html.Table(
        [
            html.Thead(
                html.Tr(
                    [
                        html.Th(t("quality.dataset", lang)),
                        html.Th(t("quality.item", lang)),
                        html.Th(t("quality.count", lang)),
                    ]
                )
            ),
            html.Tbody(rows),
        ],
        id=ids.QUALITY_TABLE,
        className="yw-table yw-quality-table",
    )
    return html.Div(
        [
            html.H1(t("quality.title", lang), className="yw-title"),
            html.P(t("quality.intro", lang)),
            dcc.Link(t("empty.back", lang), href=routes.with_query("/", lang=lang)),
            table,
        ],
        className="yw-quality",
    )
