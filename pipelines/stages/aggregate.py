"""Aggregate: intermediate models and the marts the cockpit reads with lookups only.

Inputs:  stg_units, stg_requests, stg_request_events, stg_categories, stg_components,
         int_request_geo, int_component_geo, int_cell_population, ingest_manifest,
         geoindex_manifest
Outputs: a new warehouse build (DuckDB file, not yet served; ``publish`` serves it) with
         meta, dim_unit, unit_shape, dim_period, mart_unit_kpi, mart_hex, hex_shape,
         mart_unit_daily, mart_unit_category, mart_unit_event_type, dim_component, quality,
         fact_request, backlog_reopen_gap (closed spells, for the backlog playback), and
         the city-component marts (mart_component, mart_component_health, ...)
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import uuid
from typing import Any

import duckdb
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from pipelines import catalog, component_rules, db, h3index, reuse, signal_marts, workcal, worry
from pipelines.levels import level_res, level_table, unit_lineage
from pipelines.settings import Settings
from pipelines.sources.spec import SourceSpec, load_spec

log = logging.getLogger(__name__)

DEFAULT_LIMIT_HOURS = 120  # unknown categories get five days
#: Category and department breakdowns stop at this depth (city 0, district 1, street 2):
#: a community's handful of requests per category gives rates that mean nothing.
BREAKDOWN_MAX_DEPTH = 2
#: Outline simplification (degrees) by depth below the city: coarse levels are drawn small.
SIMPLIFY_DEG = (2e-4, 2e-4, 1e-4, 5e-5, 2e-5)

INPUTS = (
    "stg_requests",
    "stg_request_events",
    "stg_categories",
    "stg_components",
    "stg_component_alarms",
    "int_request_geo",
    "int_request_place",
    "int_component_geo",
    "int_component_place",
    "int_cell_population",
    "int_cell_place",
)


def pending_path(settings: Settings) -> Any:
    """File naming the build that ``aggregate`` made and ``publish`` should serve."""
    return catalog.path(settings, "warehouse_builds").parent / "PENDING"


def run(con: duckdb.DuckDBPyConnection, settings: Settings) -> dict[str, Any]:
    """Build all marts into a new warehouse file; returns row counts per table."""
    spec = load_spec(settings.source_spec)
    db.bind_inputs(con, settings, INPUTS)
    units = gpd.read_parquet(catalog.path(settings, "stg_units"))
    resolutions = level_res(settings, spec)
    levels = level_table(spec, resolutions)
    con.register("levels_frame", levels)
    con.execute("CREATE OR REPLACE TABLE levels AS SELECT * FROM levels_frame")
    con.register("lineage_frame", unit_lineage(units, spec))
    con.execute("CREATE OR REPLACE TABLE int_unit_lineage AS SELECT * FROM lineage_frame")
    params: dict[str, Any] = {
        "city_id": spec.city_id,
        "default_limit_hours": DEFAULT_LIMIT_HOURS,
        "primary_hierarchy": spec.primary_hierarchy,
        "city_peer_level": spec.hierarchies[spec.primary_hierarchy][0].name,
        "res_city": resolutions["city"],
        "default_response_hours": spec.sla.default_response_hours,
        "repeat_window_days": spec.sla.repeat_window_days,
        "breakdown_max_depth": BREAKDOWN_MAX_DEPTH,
        "population_floor": spec.worry.population_floor,
    }
    db.run_model(con, "intermediate/int_unit_population", params, materialize="unit_population")
    con.register("units_frame", pd.DataFrame(units.drop(columns="geometry")))
    # A unit keeps the population its source gives; others read it off the cell surface.
    con.execute(
        "CREATE OR REPLACE TABLE units AS SELECT f.* REPLACE ("
        " round(coalesce(f.population, p.population, 0))::BIGINT AS population)"
        " FROM units_frame AS f LEFT JOIN unit_population AS p USING (unit_id)"
    )
    units["population"] = (
        units[["unit_id"]]
        .merge(con.table("units").select("unit_id", "population").df(), on="unit_id", how="left")[
            "population"
        ]
        .to_numpy()
    )

    _work_calendar(con, spec)
    categories = con.table("stg_categories").df()
    con.register("category_severity_frame", worry.severity_table(categories, spec.worry))
    con.execute(
        "CREATE OR REPLACE TABLE category_severity AS SELECT * FROM category_severity_frame"
    )
    db.run_model(
        con,
        "intermediate/int_request_due",
        {
            **params,
            "tz": spec.timezone,
            "utc_offset": workcal.fixed_offset_minutes(
                spec.timezone, dt.datetime.fromisoformat(spec.earliest_timestamp), dt.datetime.now()
            ),
        },
        materialize="int_request_due",
    )
    db.run_model(con, "intermediate/int_request_lifecycle", materialize="int_request_lifecycle")
    db.run_model(con, "intermediate/int_requests", params, materialize="int_requests")
    max_created = con.execute("SELECT max(created_local) FROM int_requests").fetchall()[0][0]
    if max_created is None:
        raise ValueError("no accepted requests: nothing to aggregate")
    as_of = dt.datetime.combine(max_created.date() + dt.timedelta(days=1), dt.time())
    first, months = _data_months(con)
    periods = make_periods(as_of, months, first)
    con.register("periods_frame", periods)
    con.execute("CREATE OR REPLACE TABLE dim_period AS SELECT * FROM periods_frame")
    db.run_model(con, "intermediate/int_request_periods", materialize="int_request_periods")
    # Late or corrected data: only periods whose inputs changed are computed; the others'
    # rows are copied from the served build (pipelines/reuse.py).
    db.run_model(con, "intermediate/int_period_fingerprint", materialize="period_fingerprint")
    db.run_model(con, "intermediate/int_leaf_units", params, materialize="int_leaf_units")
    static = reuse.static_fingerprint(con, settings, rules=_rules(spec))
    todo = reuse.plan(con, settings, static)
    con.execute("CREATE OR REPLACE TABLE periods_to_compute (period_id VARCHAR)")
    if todo.compute:  # empty when nothing changed: every period is copied
        con.executemany("INSERT INTO periods_to_compute VALUES (?)", [[p] for p in todo.compute])
    con.execute("ALTER TABLE int_request_periods RENAME TO int_request_periods_all")
    con.execute(
        "CREATE OR REPLACE VIEW int_request_periods AS SELECT * FROM int_request_periods_all"
        " WHERE period_id IN (SELECT period_id FROM periods_to_compute)"
    )
    log.info("periods computed: %s; copied: %s", todo.compute, todo.copy)
    db.run_model(con, "intermediate/int_worry_windows", materialize="int_worry_windows")
    db.run_model(con, "intermediate/int_request_previous", materialize="int_request_previous")

    builds = catalog.path(settings, "warehouse_builds")
    builds.mkdir(parents=True, exist_ok=True)
    fingerprint = con.execute("SELECT getvariable('build_fingerprint')").fetchall()[0][0] or "dev"
    build_id = f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{fingerprint}-{uuid.uuid4().hex[:6]}"
    partial = builds / f"{build_id}.duckdb.partial"
    con.execute(f"ATTACH '{partial}' AS wh")

    areas = _areas_km2(units)
    city_area = float(areas.get(spec.city_id, np.nan))
    city_people = float(units.loc[units["unit_id"] == spec.city_id, "population"].sum())
    # Where nobody lives, intensity is per area: a place holds at least this density.
    density = spec.worry.area_density_share * city_people / city_area if city_area > 0 else 0.0
    with db.timed("unit marts"):
        _unit_marts(con, params, spec.worry, areas * density)
    with db.timed("hex marts"):
        _hex_marts(con, params, spec.worry, density)
    for model in ("mart_unit_daily", "mart_unit_category", "mart_unit_event_type"):
        db.run_model(con, f"marts/{model}", params, materialize=f"wh.{model}")
    with db.timed("copy periods"):
        reuse.copy_periods(con, todo)
    _component_link(con, spec)
    with db.timed("request facts"):
        _request_facts(con, spec, as_of)
    with db.timed("signal marts"):
        signal_marts.build(con, spec, settings, as_of)
    with db.timed("hex shapes"):
        _hex_shapes(con)
    with db.timed("dimensions"):
        _dimensions(con, units, periods, spec, settings, as_of, build_id, fingerprint)
    with db.timed("component marts"):
        _component_marts(con, spec, as_of)
    con.execute("CREATE TABLE wh.period_fingerprint AS SELECT * FROM period_fingerprint")
    con.executemany(
        "INSERT INTO wh.meta VALUES (?, ?)",
        [
            ["static_fingerprint", static],
            ["periods_computed", json.dumps(todo.compute)],
            ["periods_copied", json.dumps(todo.copy)],
        ],
    )
    con.execute("CREATE TABLE wh.dim_level AS SELECT * FROM levels ORDER BY sort_order")
    tables = con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = 'wh' ORDER BY 1"
    ).fetchall()
    counts = {t: con.table(f"wh.{t}").aggregate("count(*)").fetchall()[0][0] for (t,) in tables}
    with db.timed("checkpoint"):
        con.execute("CHECKPOINT wh")
    con.execute("DETACH wh")
    pending_path(settings).write_text(build_id)
    return {
        "build_id": build_id,
        "as_of": as_of.isoformat(),
        "periods_computed": todo.compute,
        "periods_copied": todo.copy,
        "tables": counts,
    }


def _request_facts(con: duckdb.DuckDBPyConnection, spec: SourceSpec, as_of: dt.datetime) -> None:
    """Request-level rows at the as-of time (SLA lamps, escalation) and where they lie."""
    as_of_utc = workcal.local_to_utc(as_of, spec.timezone)
    db.run_model(
        con,
        "marts/fact_request",
        {
            "as_of_local": as_of,
            "as_of_utc": as_of_utc,
            "yellow_at": spec.sla.yellow_at,
            "long_open_hours": spec.sla.long_open_working_days * 24.0,
            "long_reopens": spec.sla.long_reopens,
            "primary_hierarchy": spec.primary_hierarchy,
        },
        materialize="wh.fact_request",
    )
    # The closed spells between a close and a reopen: with fact_request.closed_at (the last
    # close) they give the exact open intervals the backlog playback counts.
    db.run_model(con, "marts/backlog_reopen_gap", materialize="wh.backlog_reopen_gap")
    db.run_model(con, "marts/fact_request_place", materialize="wh.fact_request_place")
    db.run_model(con, "marts/dim_unit_rows", materialize="wh.dim_unit_rows")
    con.execute(
        "CREATE TABLE wh.dim_unit_lineage AS SELECT * FROM int_unit_lineage"
        " ORDER BY hierarchy, unit_id, leaf_id"
    )


def _component_link(con: duckdb.DuckDBPyConnection, spec: SourceSpec) -> None:
    """Link every request to the city component it is about (``int_request_component``)."""
    rules = spec.component_rules
    links = component_rules.link_table(con.table("stg_categories").df(), rules)
    con.register("component_link_rule_frame", links)
    con.execute(
        "CREATE OR REPLACE TABLE component_link_rule AS SELECT * FROM component_link_rule_frame"
    )
    kinds = [k for (k,) in con.execute("SELECT DISTINCT kind FROM stg_components").fetchall()]
    missing = sorted({str(k) for r in rules.link.values() for k in r.kinds} - set(kinds))
    if missing:  # a typo in the spec would silently link nothing
        log.warning("[component_rules.link] names kinds the register lacks: %s", missing)
    con.register("component_kind_frame", component_rules.kind_table(kinds, rules))
    con.execute("CREATE OR REPLACE TABLE component_kind AS SELECT * FROM component_kind_frame")
    con.register("component_status_frame", component_rules.status_table(rules))
    con.execute("CREATE OR REPLACE TABLE component_status AS SELECT * FROM component_status_frame")
    db.run_model(con, "intermediate/int_request_component", materialize="int_request_component")
    db.run_model(
        con,
        "intermediate/int_component_failure",
        {"repeat_window_days": rules.repeat_window_days},
        materialize="int_component_failure",
    )


def _component_marts(con: duckdb.DuckDBPyConnection, spec: SourceSpec, as_of: dt.datetime) -> None:
    """The component layer's table, component health by unit and period, alarms, places.

    Built whole every time (no period is copied): the register and its alarms are not part
    of the periods' fingerprints, and the marts are small.
    """
    rules = spec.component_rules
    params = {
        "as_of_local": as_of,
        "alarming_days": rules.alarming_days,
        "primary_hierarchy": spec.primary_hierarchy,
        "city_id": spec.city_id,
    }
    db.run_model(con, "intermediate/int_component_units", params, materialize="int_component_units")
    for model in ("mart_component", "mart_component_health", "mart_component_alarm_type"):
        db.run_model(con, f"marts/{model}", params, materialize=f"wh.{model}")
    con.execute(
        "CREATE TABLE wh.fact_component_place AS SELECT component_id, hierarchy, leaf_id"
        " FROM int_component_place WHERE leaf_id IS NOT NULL ORDER BY hierarchy, leaf_id,"
        " component_id"
    )
    con.execute(
        "CREATE TABLE wh.fact_component_alarm AS SELECT component_id, ts_local, alarm_type"
        " FROM int_component_failure WHERE source = 'alarm' ORDER BY ts_local, component_id"
    )
    types = [
        t
        for (t,) in con.execute(
            "SELECT DISTINCT alarm_type FROM wh.fact_component_alarm WHERE alarm_type IS NOT NULL"
        ).fetchall()
    ]
    con.register("alarm_type_frame", component_rules.alarm_type_table(types, rules))
    con.execute("CREATE TABLE wh.dim_component_alarm_type AS SELECT * FROM alarm_type_frame")
    con.execute(
        "INSERT INTO wh.meta VALUES ('component_rules', ?)",
        [json.dumps(rules.as_dict(), ensure_ascii=False)],
    )


def _work_calendar(con: duckdb.DuckDBPyConnection, spec: SourceSpec) -> None:
    """The city's working-day table, from the first request's day to 400 days past the last."""
    first, last = con.execute(
        "SELECT min(created_local)::DATE, max(created_local)::DATE FROM stg_requests"
    ).fetchall()[0]
    if first is None:
        raise ValueError("no accepted requests: nothing to aggregate")
    calendar = workcal.calendar_for(spec.timezone, spec.country)
    table = calendar.day_table(first - dt.timedelta(days=1), last + dt.timedelta(days=400))
    con.register("work_calendar_frame", table)
    con.execute("CREATE OR REPLACE TABLE work_calendar AS SELECT * FROM work_calendar_frame")


#: Calendar months offered as periods (the newest months that have requests).
MAX_MONTHS = 24


def _data_months(con: duckdb.DuckDBPyConnection) -> tuple[dt.datetime, list[dt.date]]:
    first, months = con.execute(
        "SELECT min(created_local), list(DISTINCT date_trunc('month', created_local)::DATE)"
        " FROM int_requests"
    ).fetchall()[0]
    return first, list(months)


def make_periods(
    as_of: dt.datetime,
    months: list[dt.date] | None = None,
    first: dt.datetime | None = None,
) -> pd.DataFrame:
    """Reporting periods: last 7 / 30 / 365 days, all data, and calendar months.

    Parameters
    ----------
    as_of
        The end of the data (midnight after the last request's day).
    months
        First days of the months that have requests; the newest 24 become periods. Without
        it, the 12 months before ``as_of``.
    first
        The first request's time: when it lies before the last 365 days (LA's extracts
        span three years), an "all data" period covers everything.
    """
    rows = [
        ("last7", "rolling", as_of - dt.timedelta(days=7), as_of, "近7天", "Last 7 days", 0),
        ("last30", "rolling", as_of - dt.timedelta(days=30), as_of, "近30天", "Last 30 days", 1),
        (
            "last365",
            "rolling",
            as_of - dt.timedelta(days=365),
            as_of,
            "近12个月",
            "Last 12 months",
            2,
        ),
    ]
    if first is not None and first < as_of - dt.timedelta(days=365):
        start = dt.datetime.combine(first.date(), dt.time())
        rows.append(("all", "rolling", start, as_of, "全部数据", "All data", 3))
    if months is None:
        months = []
        month = dt.datetime(as_of.year, as_of.month, 1)
        if month == as_of:
            month = (month - dt.timedelta(days=1)).replace(day=1)
        for _ in range(12):
            months.append(month.date())
            month = (month - dt.timedelta(days=1)).replace(day=1)
    for i, day in enumerate(sorted(months, reverse=True)[:MAX_MONTHS]):
        start = dt.datetime.combine(day, dt.time())
        end = (start + dt.timedelta(days=32)).replace(day=1)
        rows.append(
            (
                f"m{start:%Y-%m}",
                "month",
                start,
                end,
                f"{start.year}年{start.month}月",
                f"{start:%b %Y}",
                10 + i,
            )
        )
    frame = pd.DataFrame(
        rows,
        columns=[
            "period_id",
            "kind",
            "start_local",
            "end_local",
            "label_zh",
            "label_en",
            "sort_order",
        ],
    )
    frame["as_of"] = as_of
    frame["period_days"] = [
        max((min(e, as_of) - s).total_seconds() / 86400, 0.0)
        for s, e in zip(frame["start_local"], frame["end_local"], strict=True)
    ]
    return frame


def _areas_km2(units: gpd.GeoDataFrame) -> pd.Series:
    """Area of every unit in km² (equal-area projection), indexed by unit id."""
    projected = units.to_crs("EPSG:6933")  # WGS 84 / NSIDC EASE-Grid 2.0 Global, equal area
    return pd.Series(projected.area.to_numpy() / 1e6, index=units["unit_id"].to_numpy())


def _unit_marts(
    con: duckdb.DuckDBPyConnection,
    params: dict[str, Any],
    config: worry.WorryConfig,
    min_residents: pd.Series,
) -> None:
    _kpi_quantiles(con, params)
    db.run_model(con, "marts/kpi_counts", params, materialize="kpi_counts")
    db.run_model(con, "marts/kpi_rates", materialize="kpi_rates")
    db.run_model(con, "marts/mart_unit_breakdown", params, materialize="wh.mart_unit_breakdown")
    db.run_model(con, "marts/unit_worry_input", params, materialize="worry_input")
    # Units are shrunk top down, each toward its parent's estimate (the city is its own).
    units = con.table("worry_input").df()
    units["min_residents"] = units["unit_id"].map(min_residents).fillna(0.0).to_numpy()
    placed = units["unit_id"] != "__unassigned__"
    primed = worry.unit_priors(units.loc[placed], config)
    with db.timed("score units"):
        _store_scores(con, units, primed, config, "kpi_scored")
    posterior = primed[
        ["unit_id", "period_id", *(c for c in map(str, primed.columns) if c.startswith("post_"))]
    ]
    con.from_df(posterior).create("unit_posterior")
    db.run_model(con, "marts/mart_unit_kpi", materialize="wh.mart_unit_kpi")


def _kpi_quantiles(con: duckdb.DuckDBPyConnection, params: dict[str, Any]) -> None:
    """Handling-time quantiles, one level and slice at a time (``kpi_quantiles``).

    A quantile holds every value of its group in memory and cannot spill: all levels and
    slices in one query held a 10 M city's handled requests ten times over and ran out of
    the build's memory limit; one at a time, at most once.
    """
    db.run_model(con, "intermediate/int_handled", materialize="int_handled")
    con.execute(
        "CREATE OR REPLACE TABLE kpi_quantiles (period_id VARCHAR, level VARCHAR,"
        " unit_id VARCHAR, dim VARCHAR, key VARCHAR, handling_hours_p50 DOUBLE,"
        " handling_hours_p90 DOUBLE)"
    )
    for level, depth in con.execute("SELECT level, depth FROM levels ORDER BY depth").fetchall():
        for dim in ("all", "category", "department"):
            if dim == "all" or depth <= params["breakdown_max_depth"]:
                db.run_model(
                    con,
                    "marts/kpi_quantiles",
                    {**params, "level": level, "dim": dim},
                    insert_into="kpi_quantiles",
                )
    con.execute("DROP TABLE int_handled")


def _hex_marts(
    con: duckdb.DuckDBPyConnection,
    params: dict[str, Any],
    config: worry.WorryConfig,
    density: float,
) -> None:
    db.run_model(con, "marts/hex_base", params, materialize="hex_base")
    db.run_model(con, "marts/hex_population", params, materialize="hex_population")
    db.run_model(con, "marts/hex_worry_input", params, materialize="worry_input")
    posterior = con.table("unit_posterior").df()
    periods = [
        p
        for (p,) in con.execute("SELECT DISTINCT period_id FROM worry_input ORDER BY 1").fetchall()
    ]
    with db.timed("score cells"):
        # One period at a time (scores are row by row): at 10 M requests the cells of every
        # period at once, 4.5 M rows through pandas and scipy, added 2.2 GB to the peak.
        parts: list[str] = []
        for period in periods or [None]:
            cells = con.execute(
                "SELECT * FROM worry_input WHERE period_id = ? OR ? IS NULL", [period, period]
            ).df()
            area = {
                r: h3index.average_cell_area_km2(int(r)) for r in cells["res"].dropna().unique()
            }
            cells["min_residents"] = cells["res"].map(area).fillna(0.0).to_numpy() * density
            # A cell is shrunk toward the estimate of the unit whose heatmap it is on.
            primed = worry.cell_priors(cells, posterior)
            parts.append(f"hex_scored_{len(parts)}")
            _store_scores(con, cells, primed, config, parts[-1])
            del cells, primed
        # BY NAME: a column all NULL in one period's frame may come out with another type
        union = " UNION ALL BY NAME ".join(f"SELECT * FROM {t}" for t in parts)  # noqa: S608 (our names)
        con.execute(f"CREATE OR REPLACE TABLE hex_scored AS {union}")
        for table in parts:
            con.execute(f"DROP TABLE {table}")
    db.run_model(con, "marts/mart_hex", materialize="wh.mart_hex")


def _store_scores(
    con: duckdb.DuckDBPyConnection,
    frame: pd.DataFrame,
    primed: pd.DataFrame,
    config: worry.WorryConfig,
    target: str,
) -> None:
    """``frame`` with the priors and scores of its ``primed`` rows, as table ``target``.

    Rows left out of ``primed`` (the unassigned bucket: requests outside every unit of a
    level, where nobody lives) get a NULL index and components.
    """
    priors = primed[list(worry.PRIOR_COLUMNS)]
    out = frame.join(priors).join(worry.score(primed, config))
    if out.empty:  # every period copied: keep the text columns typed (DuckDB reads NULL)
        out = out.astype({c: "string" for c in out.columns if out[c].dtype == object})
    con.from_df(out).create(target)


def _rules(spec: SourceSpec) -> str:
    """The spec's rules the marts depend on (SLA, worry), as one stable string."""
    return json.dumps(
        {"sla": dataclasses.asdict(spec.sla), "worry": spec.worry.as_dict()}, sort_keys=True
    )


def _hex_shapes(con: duckdb.DuckDBPyConnection) -> None:
    """Cell rings of every cell on any heatmap (computed and copied periods alike)."""
    cells = con.execute("SELECT DISTINCT res, cell FROM wh.mart_hex ORDER BY res, cell").df()
    shapes = pd.DataFrame(
        {
            "res": cells["res"].to_numpy(),
            "cell": cells["cell"].to_numpy(),
            "cell_id": h3index.cells_to_str(cells["cell"].to_numpy()),
            "ring": h3index.cells_to_boundary_json(cells["cell"].to_numpy()),
        }
    )
    con.register("hex_shape_frame", shapes)
    con.execute("CREATE TABLE wh.hex_shape AS SELECT * FROM hex_shape_frame")


def _dimensions(
    con: duckdb.DuckDBPyConnection,
    units: gpd.GeoDataFrame,
    periods: pd.DataFrame,
    spec: SourceSpec,
    settings: Settings,
    as_of: dt.datetime,
    build_id: str,
    fingerprint: str,
) -> None:
    dim = pd.DataFrame(units.drop(columns="geometry"))
    centroid = units.geometry.representative_point()
    bounds = units.geometry.bounds
    dim["center_lng"], dim["center_lat"] = centroid.x.to_numpy(), centroid.y.to_numpy()
    for col in ("minx", "miny", "maxx", "maxy"):
        dim[col] = bounds[col].to_numpy()
    dim["population"] = dim["population"].astype("int64")
    con.register("dim_unit_frame", dim)
    con.execute("CREATE TABLE wh.dim_unit AS SELECT * FROM dim_unit_frame ORDER BY unit_id")

    shapes: list[pd.DataFrame] = []
    for lvl, depth in zip(units["level"], units["depth"], strict=True):
        if any(frame["level"].iloc[0] == lvl for frame in shapes):
            continue
        tol = SIMPLIFY_DEG[min(int(depth), len(SIMPLIFY_DEG) - 1)]
        sub = units.loc[units["level"] == lvl]
        geoms = np.asarray(sub.geometry.values, dtype=object)
        # Simplify a level as one coverage so neighbours keep sharing their edges.
        simple = shapely.coverage_simplify(geoms, tol) if len(geoms) > 1 else geoms
        simple = shapely.set_precision(simple, 1e-5)
        shapes.append(
            pd.DataFrame(
                {
                    "unit_id": sub["unit_id"].to_numpy(),
                    "level": lvl,
                    "parent_id": sub["parent_id"].to_numpy(),
                    "geojson": shapely.to_geojson(simple),
                }
            )
        )
    con.register("unit_shape_frame", pd.concat(shapes, ignore_index=True))
    con.execute("CREATE TABLE wh.unit_shape AS SELECT * FROM unit_shape_frame")
    con.register("period_frame", periods)
    con.execute("CREATE TABLE wh.dim_period AS SELECT * FROM period_frame ORDER BY sort_order")

    db.run_model(
        con,
        "marts/dim_component",
        {"primary_hierarchy": spec.primary_hierarchy},
        materialize="wh.dim_component",
    )
    ingest = json.loads(catalog.path(settings, "ingest_manifest").read_text(encoding="utf-8"))
    geo = json.loads(catalog.path(settings, "geoindex_manifest").read_text(encoding="utf-8"))
    quality = _quality_rows(ingest, geo)
    con.register("quality_frame", quality)
    con.execute("CREATE TABLE wh.quality AS SELECT * FROM quality_frame")
    con.execute(
        "CREATE TABLE wh.boundary_issues AS SELECT * FROM read_parquet(?)",
        [str(catalog.path(settings, "boundary_issues"))],
    )
    # Where each quarantined row came from and why; the raw values (which may hold
    # personal data) stay in 02_staged/quarantine.parquet.
    con.execute(
        "CREATE TABLE wh.quarantine AS SELECT dataset, reason, source_file, source_row"
        " FROM read_parquet(?) ORDER BY dataset, reason, source_file, source_row",
        [str(catalog.path(settings, "quarantine"))],
    )
    meta = {
        "build_id": build_id,
        "fingerprint": fingerprint,
        "built_at_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "as_of_local": as_of.isoformat(),
        "source_name": spec.name,
        "city_id": spec.city_id,
        "timezone": spec.timezone,
        "point_res": str(settings.point_res),
        "map_res": json.dumps(level_res(settings, spec)),
        "primary_hierarchy": spec.primary_hierarchy,
        "sla_rules": json.dumps(dataclasses.asdict(spec.sla)),
        "worry_config": json.dumps(spec.worry.as_dict(), ensure_ascii=False),
    }
    con.register("meta_frame", pd.DataFrame(list(meta.items()), columns=["key", "value"]))
    con.execute("CREATE TABLE wh.meta AS SELECT * FROM meta_frame")


def _quality_rows(ingest: dict[str, Any], geo: dict[str, Any]) -> pd.DataFrame:
    rows = []
    for dataset, info in ingest["inputs"].items():
        if dataset == "boundaries":
            for lvl, s in info.items():
                rows.append(("ingest", f"boundary_{lvl}", "rows_in", s["rows_in"]))
                rows.append(("ingest", f"boundary_{lvl}", "accepted", s["accepted"]))
                rows.append(("ingest", f"boundary_{lvl}", "repaired", s["repaired"]))
                for reason, n in s.get("quarantined_reasons", {}).items():
                    rows.append(("ingest", f"boundary_{lvl}", f"quarantined:{reason}", n))
                for item in ("invalid_edges_in_source", "overlap_pairs", "not_nested"):
                    rows.append(("ingest", f"boundary_{lvl}", item, s.get(item, 0)))
                # areas in hectares, so the count column stays an integer
                for item in ("overlap_km2", "gap_km2"):
                    ha = round(100 * float(s.get(item, 0.0)))
                    rows.append(("ingest", f"boundary_{lvl}", item.replace("km2", "ha"), ha))
            continue
        rows.append(("ingest", dataset, "rows_in", info["rows_in"]))
        rows.append(("ingest", dataset, "accepted", info["accepted"]))
        for reason, n in info.get("quarantined", {}).items():
            rows.append(("ingest", dataset, f"quarantined:{reason}", n))
        for flag, n in info.get("flagged", {}).items():
            rows.append(("ingest", dataset, f"flagged:{flag}", n))
    for dataset in ("int_request_geo", "int_component_geo"):
        for status, n in geo.get(dataset, {}).items():
            rows.append(("geoindex", dataset, f"geo_status:{status}", n))
        for flag, n in geo.get(f"{dataset}_flags", {}).items():
            rows.append(("geoindex", dataset, f"flag:{flag}", n))
    for kind in ("request", "component"):
        for hierarchy, statuses in geo.get(f"{kind}_place", {}).items():
            for status, n in statuses.items():
                rows.append(("geoindex", f"{kind}_place:{hierarchy}", f"rule:{status}", n))
    for lvl, n in ingest.get("coverage_invalid_edges", {}).items():
        rows.append(("ingest", f"boundary_{lvl}", "coverage_invalid_edges", n))
    frame = pd.DataFrame(rows, columns=["stage", "dataset", "item", "count"])
    frame["seq"] = range(len(frame))  # the order the pipeline states them in (rules, reasons)
    return frame
