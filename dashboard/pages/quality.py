"""The data-quality page (``/quality``): row accounting, location rules and boundary issues.

Everything comes from the served build's ``quality`` counters and ``boundary_issues``; the
page only arranges them so that an analyst can answer "is anything lost?", "how were the
points placed?" and "what is wrong with the boundary layers?" without opening a notebook.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dash
from dash import dcc, html

from dashboard import access, cockpit, components, data, fmt, ids, routes
from dashboard.i18n import Lang, resolve_lang, t

dash.register_page(__name__, path="/quality", name="Data quality", title="一网统管 · 数据质量")

#: Inputs in pipeline order; anything else in the counters follows alphabetically.
INPUTS = ("requests", "request_events", "categories", "components", "component_alarms")
#: Where the quarantined rows are kept, raw (relative to the data directory).
QUARANTINE_FILE = "02_staged/quarantine.parquet"
BOUNDARY_ITEMS = (
    "rows_in",
    "accepted",
    "quarantined",
    "repaired",
    "overlap_pairs",
    "overlap_ha",
    "gap_ha",
    "coverage_invalid_edges",
    "not_nested",
)


def layout(**kwargs: Any) -> html.Div:
    """Render the quality report of the served build in the URL's language."""
    lang = resolve_lang(kwargs.get("lang"))
    if not access.current().role.can_see_quality:
        # The page shows quarantined input rows and the whole city's counts.
        return components.empty_state(
            t("auth.no_quality.title", lang),
            t("auth.no_quality.body", lang),
            back_href=routes.with_query("/", lang=lang),
            back_text=t("empty.back", lang),
            component_id=ids.QUALITY_TABLE,
        )
    try:
        by_dataset = data.quality_by_dataset()
        issues = data.boundary_issues()
        tops = {lv.hierarchy: lv for lv in data.hierarchies()}
        meta = data.meta()
        samples = data.quarantine_sample()
    except data.WarehouseUnavailableError:
        return cockpit.no_warehouse(lang, component_id=ids.QUALITY_TABLE)
    return html.Div(
        [
            html.H1(t("quality.title", lang), className="yw-title"),
            html.P(t("quality.intro", lang)),
            dcc.Link(t("empty.back", lang), href=routes.with_query("/", lang=lang)),
            html.H2(t("quality.section.accounting", lang)),
            _accounting(by_dataset, lang),
            html.H2(t("quality.section.location", lang)),
            _rules(by_dataset, "request", tops, lang, table_id=ids.QUALITY_TABLE),
            html.H2(t("quality.section.components", lang)),
            _rules(by_dataset, "component", tops, lang),
            html.H2(t("quality.section.boundaries", lang)),
            _boundaries(by_dataset, lang),
            html.H2(t("quality.section.issues", lang)),
            _issues(issues, lang),
            html.H2(t("quality.section.samples", lang)),
            html.P([t("quality.samples_file", lang), html.Code(QUARANTINE_FILE, lang="zxx")]),
            _samples(samples, lang),
            html.H2(t("quality.section.build", lang)),
            html.P(
                t(
                    "quality.build_periods",
                    lang,
                    computed=_period_list(meta.periods_computed, lang),
                    copied=_period_list(meta.periods_copied, lang),
                )
            ),
        ],
        className="yw-quality",
        lang="en" if lang == "en" else "zh-CN",
    )


def _table(
    head: list[str],
    rows: list[list[Any]],
    table_id: str | None = None,
    codes: tuple[int, ...] = (),
) -> html.Table:
    """Return a report table.

    The ``codes`` columns hold identifiers (rule and reason codes, ids, file names), marked
    ``lang="zxx"`` (no linguistic content) as they read the same in every language.
    """
    children = [
        html.Thead(html.Tr([html.Th(h) for h in head])),
        html.Tbody(
            [
                html.Tr(
                    [
                        html.Td(c, lang="zxx") if i in codes else html.Td(c)
                        for i, c in enumerate(row)
                    ]
                )
                for row in rows
            ]
        ),
    ]
    if table_id:
        return html.Table(children, id=table_id, className="yw-table yw-quality-table")
    return html.Table(children, className="yw-table yw-quality-table")


def _period_list(period_ids: Any, lang: Lang) -> str:
    labels = {p.period_id: p.label(lang) for p in data.periods()}
    names = [labels.get(p, p) for p in period_ids]
    return ("、" if lang == "zh" else ", ").join(names) or t("quality.none", lang)


def dataset_label(name: str, lang: Lang) -> str:
    """The reader's name of an input dataset (``boundary_<level>`` by its level's label)."""
    if name.startswith("boundary_"):
        info = data.levels().get(name.removeprefix("boundary_"))
        if info is not None:
            return t("quality.dataset.boundary", lang, level=info.label(lang))
    if name in INPUTS:
        return t(f"quality.dataset.{name}", lang)
    return name


def _listing(items: dict[str, int], prefix: str, lang: Lang) -> str:
    found = {k.removeprefix(prefix): n for k, n in items.items() if k.startswith(prefix) and n}
    if not found:
        return t("quality.none", lang)
    return " · ".join(f"{k} {fmt.fmt_int(n)}" for k, n in sorted(found.items()))


def _accounting(by_dataset: dict[str, dict[str, int]], lang: Lang) -> html.Table:
    names = [d for d in INPUTS if d in by_dataset] + sorted(
        d for d in by_dataset if "rows_in" in by_dataset[d] and d not in INPUTS
    )
    rows = []
    for name in names:
        items = by_dataset[name]
        quarantined = sum(n for k, n in items.items() if k.startswith("quarantined:"))
        if name.startswith("boundary_"):
            quarantined = items.get("rows_in", 0) - items.get("accepted", 0)
        balanced = items.get("rows_in", 0) == items.get("accepted", 0) + quarantined
        rows.append(
            [
                dataset_label(name, lang),
                fmt.fmt_int(items.get("rows_in", 0)),
                fmt.fmt_int(items.get("accepted", 0)),
                fmt.fmt_int(quarantined),
                _listing(items, "quarantined:", lang),
                _listing(items, "flagged:", lang),
                t("quality.balanced" if balanced else "quality.unbalanced", lang),
            ]
        )
    return _table(
        [
            t("quality.dataset", lang),
            t("quality.col.rows_in", lang),
            t("quality.col.accepted", lang),
            t("quality.col.quarantined", lang),
            t("quality.col.reasons", lang),
            t("quality.col.flags", lang),
            t("quality.col.balanced", lang),
        ],
        rows,
        codes=(4, 5),
    )


def _rules(
    by_dataset: dict[str, dict[str, int]],
    kind: str,
    tops: dict[str | None, data.LevelInfo],
    lang: Lang,
    table_id: str | None = None,
) -> html.Table:
    present = {d.partition(":")[2] for d in by_dataset if d.startswith(f"{kind}_place:")}
    # the primary hierarchy first, as the cockpit offers them
    hierarchies = [h for h in tops if h in present] + sorted(present - set(tops))
    totals = {h: sum(by_dataset[f"{kind}_place:{h}"].values()) or 1 for h in hierarchies}
    head = [t("quality.col.rule", lang), t("quality.col.meaning", lang)]
    for h in hierarchies:
        top = tops.get(h)
        head.append(t("hierarchy.by", lang, level=top.label(lang)) if top else h)
    # the rules in the order the pipeline reports them (pipelines/geo.py GEO_STATUSES)
    rules = (
        [
            item.removeprefix("rule:")
            for item in by_dataset.get(f"{kind}_place:{hierarchies[0]}", {})
            if item.startswith("rule:")
        ]
        if hierarchies
        else []
    )
    rows = []
    for rule in rules:
        cells: list[Any] = [rule, t(f"rule.{rule}", lang)]
        for h in hierarchies:
            n = by_dataset[f"{kind}_place:{h}"].get(f"rule:{rule}", 0)
            cells.append(f"{fmt.fmt_int(n)} ({n / totals[h]:.1%})")
        rows.append(cells)
    return _table(head, rows, table_id, codes=(0,))


def _boundaries(by_dataset: dict[str, dict[str, int]], lang: Lang) -> html.Table:
    levels = data.levels()
    rows = []
    for name, info in levels.items():
        items = by_dataset.get(f"boundary_{name}")
        if not items:
            continue
        quarantined = items.get("rows_in", 0) - items.get("accepted", 0)
        values = {**items, "quarantined": quarantined}
        rows.append([info.label(lang)] + [fmt.fmt_int(values.get(k, 0)) for k in BOUNDARY_ITEMS])
    return _table(
        [
            t("quality.col.level", lang),
            t("quality.col.rows_in", lang),
            t("quality.col.accepted", lang),
            t("quality.col.quarantined", lang),
            t("quality.col.repaired", lang),
            t("quality.col.overlaps", lang),
            t("quality.col.overlap_ha", lang),
            t("quality.col.gap_ha", lang),
            t("quality.col.bad_edges", lang),
            t("quality.col.not_nested", lang),
        ],
        rows,
    )


def _samples(samples: Any, lang: Lang) -> html.Table:
    rows = [
        [
            dataset_label(r.dataset, lang),
            r.reason,
            Path(r.source_file).name,
            t("quality.whole_file", lang) if r.source_row < 0 else fmt.fmt_int(r.source_row + 1),
        ]
        for r in samples.itertuples()
    ]
    return _table(
        [
            t("quality.dataset", lang),
            t("quality.col.reason", lang),
            t("quality.col.file", lang),
            t("quality.col.row", lang),
        ],
        rows,
        codes=(1, 2),
    )


def _issues(issues: Any, lang: Lang) -> html.Table:
    levels = data.levels()
    rows = [
        [
            levels[r.level].label(lang) if r.level in levels else r.level,
            t(f"quality.kind.{r.kind}", lang),
            " / ".join(u for u in (r.unit_id, r.other_unit_id) if u) or "—",
            fmt.fmt_int(round(r.area_m2)),
        ]
        for r in issues.itertuples()
    ]
    return _table(
        [
            t("quality.col.level", lang),
            t("quality.col.kind", lang),
            t("quality.col.units", lang),
            t("quality.col.area", lang),
        ],
        rows,
        codes=(2,),
    )
