"""Ingest: raw source files -> typed, validated staged tables, with every row accounted for.

Inputs:  the source spec and its raw files
Outputs: stg_units, stg_categories, stg_requests, stg_request_events, stg_components,
         stg_component_alarms, quarantine, ingest_manifest

Rows that cannot be used go to ``quarantine`` with a reason code and their raw values;
for each input ``rows_in = accepted + quarantined`` is checked before anything is written.

Personal data never reaches the staged files (issue 7): before they are written, request
descriptions lose names, phone and ID numbers (:mod:`pipelines.pii`; the contact's masked
name and phone and the phone's keyed hash become columns, the originals go to the
encrypted :mod:`pipelines.vault`), addresses and component registers lose phone and ID
numbers, and quarantined raw records are scrubbed like descriptions. UTF-8 copies of
non-UTF-8 sources are deleted once read.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import pandas as pd
import pyarrow as pa

from pipelines import catalog, db, keys, pii, vault, workcal
from pipelines.scrub_cache import Entry, ScrubCache
from pipelines.settings import Settings
from pipelines.sources import boundaries
from pipelines.sources.spec import (
    ALARM_COLUMNS,
    COMPONENT_COLUMNS,
    COMPONENT_OPTIONAL,
    EVENT_COLUMNS,
    EVENT_OPTIONAL,
    REQUEST_COLUMNS,
    REQUEST_OPTIONAL,
    SourceSpec,
    SpecError,
    TableSpec,
    load_spec,
)
from pipelines.sources.tables import register_map, register_raw

log = logging.getLogger(__name__)

#: How derived events write their (local) times.
DERIVED_TS_FORMAT = "%Y-%m-%d %H:%M:%S"
QUARANTINE_COLUMNS = "dataset, source_file, source_row, reason, raw"


class ReconciliationError(RuntimeError):
    """Rows in != accepted + quarantined for some input: a bug, never data to publish."""


def _split(
    con: duckdb.DuckDBPyConnection,
    checked: str,
    dataset: str,
    accepted: str,
    drop: str = "source_record, reject_reason",
) -> dict[str, Any]:
    """Move rejected rows of ``checked`` into quarantine and the rest into ``accepted``."""
    con.execute(
        f"INSERT INTO quarantine SELECT ?, source_file, source_row, reject_reason, "
        "to_json(source_record) "
        f"FROM {checked} WHERE reject_reason IS NOT NULL",
        [dataset],
    )
    con.execute(
        f"CREATE OR REPLACE TABLE {accepted} AS SELECT * EXCLUDE ({drop}) "
        f"FROM {checked} WHERE reject_reason IS NULL"
    )
    rows_in = con.execute(f"SELECT count(*) FROM {checked}").fetchall()[0][0]
    ok = con.execute(f"SELECT count(*) FROM {accepted}").fetchall()[0][0]
    reasons = dict(
        con.execute(
            f"SELECT reject_reason, count(*) FROM {checked} WHERE reject_reason IS NOT NULL "
            "GROUP BY ALL ORDER BY ALL"
        ).fetchall()
    )
    if rows_in != ok + sum(reasons.values()):
        raise ReconciliationError(f"{dataset}: {rows_in} in != {ok} + {sum(reasons.values())}")
    return {"rows_in": rows_in, "accepted": ok, "quarantined": reasons}


def _stage_table(
    con: duckdb.DuckDBPyConnection,
    table: TableSpec | tuple[TableSpec, ...],
    root: Path,
    dataset: str,
    *,
    required: tuple[str, ...],
    optional: tuple[str, ...] = (),
    params: dict[str, Any],
    work_dir: Path,
) -> dict[str, Any]:
    """raw_<dataset> view -> staging/checked_<dataset> model -> stg_<dataset> + quarantine.

    Several tables (a component layer per file type) are read alike and stacked.
    """
    tables = table if isinstance(table, tuple) else (table,)
    unreadable: dict[Path, str] = {}
    malformed: list[str] = []
    unmapped: set[str] = set()
    for i, part in enumerate(tables):
        raw = register_raw(
            con,
            f"raw_{dataset}_{i}",
            part,
            root,
            required=required,
            optional=optional,
            work_dir=work_dir,
        )
        unreadable.update(raw.unreadable)
        if raw.malformed:
            malformed.append(raw.malformed)
        unmapped.update(raw.unmapped)
    con.execute(
        f"CREATE OR REPLACE VIEW raw_{dataset} AS "
        + " UNION ALL BY NAME ".join(f"SELECT * FROM raw_{dataset}_{i}" for i in range(len(tables)))
    )
    for file, problem in unreadable.items():
        # A file that does not decode is quarantined whole (source_row -1), never guessed.
        con.execute(
            "INSERT INTO quarantine VALUES (?, ?, -1, 'ENCODING_ERROR', ?)",
            [dataset, str(file), json.dumps({"error": problem}, ensure_ascii=False)],
        )
    db.run_model(
        con,
        f"staging/checked_{dataset}",
        {**params, "ts_format": tables[0].timestamp_format},
        materialize=f"checked_{dataset}",
    )
    result = _split(con, f"checked_{dataset}", dataset, f"stg_{dataset}")
    con.execute(f"DROP TABLE checked_{dataset}")
    _quarantine_malformed(con, dataset, malformed, result)
    # Columns the spec does not map are not read: listed so a renamed column is noticed.
    result["unmapped_columns"] = sorted(unmapped)
    if unreadable:
        result["files_quarantined"] = {str(f): p for f, p in unreadable.items()}
    return result


#: A file with more malformed lines than this share is named in the manifest: a wrong
#: delimiter or encoding, or a broken export, not the odd bad line.
MALFORMED_ALERT_SHARE = 0.01
#: Distinct addresses at one exact point from which it counts as a centroid fallback.
CENTROID_MIN_ADDRESSES = 10


def _count_flags(
    con: duckdb.DuckDBPyConnection, table: str, conditions: dict[str, str]
) -> dict[str, int]:
    """Rows of ``table`` meeting each condition (fixed SQL of this module), by flag name."""
    counts = ", ".join(f"count(*) FILTER (WHERE {c})" for c in conditions.values())
    row = con.execute(f"SELECT {counts} FROM {table}").fetchall()[0]
    return dict(zip(conditions, (int(n) for n in row), strict=True))


def _quarantine_malformed(
    con: duckdb.DuckDBPyConnection, dataset: str, views: list[str], result: dict[str, Any]
) -> None:
    """Quarantine CSV lines that did not parse (``MALFORMED_ROW``) and count them in."""
    if not views:
        return
    union = " UNION ALL ".join(f"SELECT * FROM {v}" for v in views)
    con.execute(
        f"INSERT INTO quarantine SELECT ?, source_file, source_row, 'MALFORMED_ROW', "
        f"json_object('error', error, 'text', text) FROM ({union})",
        [dataset],
    )
    per_file = dict(
        con.execute(f"SELECT source_file, count(*) FROM ({union}) GROUP BY ALL").fetchall()
    )
    n = sum(per_file.values())
    if not n:
        return
    result["rows_in"] += n
    result["quarantined"]["MALFORMED_ROW"] = n
    accepted = dict(
        con.execute(f"SELECT source_file, count(*) FROM stg_{dataset} GROUP BY ALL").fetchall()
    )
    alerts = {
        f: round(k / (k + accepted.get(f, 0)), 4)
        for f, k in per_file.items()
        if k / (k + accepted.get(f, 0)) > MALFORMED_ALERT_SHARE
    }
    if alerts:
        result["malformed_share_alert"] = alerts


def run(con: duckdb.DuckDBPyConnection, settings: Settings) -> dict[str, Any]:
    """Run the stage; returns the manifest (also written as ``ingest_manifest``)."""
    spec = load_spec(settings.source_spec)
    manifest: dict[str, Any] = {
        "source": spec.name,
        "spec": str(settings.source_spec),
        "timezone": spec.timezone,
        "inputs": {},
    }
    con.execute(
        f"CREATE OR REPLACE TABLE quarantine ({QUARANTINE_COLUMNS.replace(',', ' VARCHAR,')}"
        " VARCHAR)"
    )
    con.execute("ALTER TABLE quarantine ALTER source_row TYPE BIGINT")

    b = boundaries.read_boundaries(spec)
    out = catalog.path(settings, "stg_units")
    out.parent.mkdir(parents=True, exist_ok=True)
    b.units.to_parquet(out, schema_version="1.1.0", write_covering_bbox=True)
    b.invalid_edges.to_parquet(catalog.path(settings, "boundary_issues"), index=False)
    if len(b.rejected):
        con.register("rejected_units", b.rejected)
        con.execute(
            "INSERT INTO quarantine SELECT dataset, source_file, source_row, reason, raw "
            "FROM rejected_units"
        )
    manifest["inputs"]["boundaries"] = b.stats
    manifest["coverage_invalid_edges"] = {lvl: st["invalid_edges"] for lvl, st in b.stats.items()}
    manifest["inputs"]["categories"] = _ingest_categories(con, spec)

    # Timestamps after the ingest time (plus 10 minutes of clock skew, in the SQL) or
    # before the source's earliest plausible day are quarantined, not trusted.
    now_local = dt.datetime.now(ZoneInfo(spec.timezone)).replace(tzinfo=None, microsecond=0)
    params: dict[str, Any] = {
        "tz": spec.timezone,
        "utc_offset": workcal.fixed_offset_minutes(
            spec.timezone, dt.datetime.fromisoformat(spec.earliest_timestamp), now_local
        ),
        "now_local": now_local,
        "earliest_local": dt.datetime.fromisoformat(spec.earliest_timestamp),
    }
    work_dir = catalog.path(settings, "transcoded")
    try:
        _ingest_requests(con, spec, params, manifest, work_dir)
        _ingest_components(con, spec, params, manifest, work_dir)
    finally:
        # Copies of the source, personal data and all: never left beside the staged data.
        shutil.rmtree(work_dir, ignore_errors=True)
    manifest["personal_data"] = _protect_personal_data(con, settings)

    for name in (
        "stg_categories",
        "stg_requests",
        "stg_request_events",
        "stg_components",
        "stg_component_alarms",
        "quarantine",
    ):
        db.write_parquet(con, name, catalog.path(settings, name))
    catalog.path(settings, "ingest_manifest").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    return manifest


#: Component register columns that may hold a contact's number ("王师傅 138…").
COMPONENT_TEXT = ("owner", "property_unit", "maintainer")


def _protect_personal_data(con: duckdb.DuckDBPyConnection, settings: Settings) -> dict[str, Any]:
    """Scrub every staged table and the quarantine; seal the originals in the vault.

    Only rows that :data:`pipelines.pii.PREFILTER` matches (RE2 in DuckDB, cheap) go
    through Python, all at once (:func:`pipelines.pii.extract_many`).
    """
    t0 = time.perf_counter()
    report: dict[str, Any] = {}
    workers = settings.threads
    cache = ScrubCache(settings)
    descriptions = _scrub_column(
        con,
        "stg_requests",
        "description",
        pii.KINDS,
        pii.PREFILTER,
        key="request_id",
        workers=workers,
        cache=cache,
        sealed=True,
    )
    report["descriptions_scrubbed"] = descriptions.changed
    addresses = _scrub_column(
        con,
        "stg_requests",
        "address",
        pii.NUMBER_KINDS,
        pii.NUMBER_PREFILTER,
        key="request_id",
        workers=workers,
        cache=cache,
    )
    report["addresses_scrubbed"] = addresses.changed
    report["contacts"] = _contact_columns(con, settings, descriptions)
    for column, scrub in (("description", descriptions), ("address", addresses)):
        for rid, entry in scrub.entries.items():
            cache.add(column, str(scrub.keys[rid]), scrub.digests[rid], entry)
    cache.save()
    reused = {"descriptions": descriptions.reused, "addresses": addresses.reused}
    report["component_fields_scrubbed"] = sum(
        _scrub_column(con, "stg_components", col, pii.NUMBER_KINDS, pii.NUMBER_PREFILTER).changed
        for col in COMPONENT_TEXT
    )
    report["quarantined_records_scrubbed"] = _scrub_quarantine(con)
    # logged, not in the manifest: a re-run must give the same manifest
    log.info(
        "personal data scrubbed in %.2f s: %s; taken from the scrub cache: %s",
        time.perf_counter() - t0,
        report,
        reused,
    )
    return report


@dataclass
class Scrubbed:
    """One column's scrub, by ``rowid`` of every row the prefilter matched."""

    #: Rows scanned in this run and changed: original text, the first pass's result (which
    #: names the first name and mobile number found).
    found: dict[int, tuple[str, pii.Extracted]] = field(default_factory=dict)
    #: The result of every matched row, scanned or from the cache (contacts filled in for
    #: scanned descriptions by :func:`_contact_columns`).
    entries: dict[int, Entry] = field(default_factory=dict)
    #: Each matched row's ``key`` column and keyed digest (for the cache).
    keys: dict[int, Any] = field(default_factory=dict)
    digests: dict[int, bytes] = field(default_factory=dict)
    #: Rows changed (scanned or reused) and rows whose result came from the cache.
    changed: int = 0
    reused: int = 0


def _scrub_column(
    con: duckdb.DuckDBPyConnection,
    table: str,
    column: str,
    kinds: frozenset[str],
    prefilter: str,
    key: str = "rowid",
    workers: int = 1,
    cache: ScrubCache | None = None,
    *,
    sealed: bool = False,
) -> Scrubbed:
    """Scrub ``table.column`` in place (fixed names of this module).

    With a ``cache``, a row whose ``key`` and text the previous ingest already scrubbed
    takes that result without a scan (``sealed``: its vault record is carried over).
    """
    rows = con.execute(
        f"SELECT rowid, {column}, {key} FROM {table} WHERE regexp_matches({column}, ?)",
        [prefilter],
    ).fetchall()
    originals: dict[int, str] = {rid: text for rid, text, _ in rows}
    out = Scrubbed(keys={rid: k for rid, _, k in rows})
    current = dict(originals)
    pending = list(originals)
    if cache is not None:
        out.digests = dict(
            zip(pending, cache.digests([originals[r] for r in pending]), strict=True)
        )
        hits = cache.hits(
            con,
            column,
            [str(out.keys[r]) for r in pending],
            [out.digests[r] for r in pending],
            sealed=sealed,
        )
        for i, entry in hits.items():
            rid = pending[i]
            out.entries[rid] = entry
            if entry.scrubbed is not None:
                current[rid] = entry.scrubbed
        out.reused = len(hits)
        pending = [r for r in pending if r not in out.entries]
    first: dict[int, pii.Extracted] = {}
    # One pass over all, then again over whatever the prefilter still matches (normally
    # nothing): scrubbing is repeated until stable, like pii.scrub.
    for _ in range(5):
        if not pending:
            break
        results = pii.extract_many([current[r] for r in pending], kinds, passes=1, workers=workers)
        for rid, ex in zip(pending, results, strict=True):
            first.setdefault(rid, ex)
            current[rid] = ex.text
        con.register(
            "scrub_pass", pa.table({"rid": pending, "text": [current[r] for r in pending]})
        )
        pending = [
            r
            for (r,) in con.execute(
                "SELECT rid FROM scrub_pass WHERE regexp_matches(text, ?)", [prefilter]
            ).fetchall()
        ]
        con.unregister("scrub_pass")
    for rid in first:
        changed = current[rid] != originals[rid]
        out.entries[rid] = Entry(current[rid] if changed else None)
        if changed:
            out.found[rid] = (originals[rid], first[rid])
    changed_rows = [r for r in originals if current[r] != originals[r]]
    out.changed = len(changed_rows)
    if changed_rows:
        con.register(
            "scrubbed", pa.table({"rid": changed_rows, "text": [current[r] for r in changed_rows]})
        )
        con.execute(
            f"UPDATE {table} SET {column} = scrubbed.text FROM scrubbed "
            f"WHERE {table}.rowid = scrubbed.rid"
        )
        con.unregister("scrubbed")
    return out


def _contact_columns(con: duckdb.DuckDBPyConnection, settings: Settings, scrub: Scrubbed) -> int:
    """Add the contact columns to ``stg_requests`` and write the vault; return contacts.

    ``contact_name_masked`` (张*), ``contact_phone_masked`` (138****5678) and
    ``contact_phone_key`` (HMAC-SHA256 of the mobile number, for repeat callers) come from
    the first name and mobile number of the description; the original description with them
    is sealed in the vault under the request id. Descriptions taken from the scrub cache
    bring their masked columns along and keep their vault records. Fills in the contact of
    every scanned description's cache entry.
    """
    for col in ("contact_name_masked", "contact_phone_masked", "contact_phone_key"):
        con.execute(f"ALTER TABLE stg_requests ADD COLUMN {col} VARCHAR")
    found = scrub.found
    rids = list(found)
    secret = keys.derive(settings, "phone")
    contacts = [found[r][1] for r in rids]
    phones = [pii.digits(c.mobile) if c.mobile else None for c in contacts]
    for rid, c, phone in zip(rids, contacts, phones, strict=True):
        scrub.entries[rid] = Entry(
            scrub.entries[rid].scrubbed,
            pii.mask_name(c.name) if c.name else None,
            pii.mask_phone(phone) if phone else None,
            pii.phone_key(phone, secret) if phone else None,
        )
    changed = [r for r, e in scrub.entries.items() if e.scrubbed is not None]
    con.register(
        "contacts",
        pa.table(
            {
                "rid": changed,
                "name": [scrub.entries[r].name_masked for r in changed],
                "phone": [scrub.entries[r].phone_masked for r in changed],
                "phone_key": [scrub.entries[r].phone_key for r in changed],
            },
            schema=pa.schema(
                [
                    ("rid", pa.int64()),
                    ("name", pa.string()),
                    ("phone", pa.string()),
                    ("phone_key", pa.string()),
                ]
            ),
        ),
    )
    con.execute(
        "UPDATE stg_requests SET contact_name_masked = c.name, contact_phone_masked = c.phone,"
        " contact_phone_key = c.phone_key FROM contacts AS c WHERE stg_requests.rowid = c.rid"
    )
    con.unregister("contacts")
    vault.write(
        settings,
        (
            vault.Contact(str(scrub.keys[r]), c.name, phone, found[r][0])
            for r, c, phone in zip(rids, contacts, phones, strict=True)
        ),
        keep=[str(scrub.keys[r]) for r in changed if r not in found],
    )
    return sum(1 for r in changed if scrub.entries[r].name_masked or scrub.entries[r].phone_masked)


def _scrub_quarantine(con: duckdb.DuckDBPyConnection) -> int:
    """Scrub every string inside the quarantined raw records; return how many changed.

    Raw records are JSON (a row's source values, a malformed line's text): decoded, so a
    number split by an escaped tab is seen as the citizen wrote it, scrubbed value by value
    (every kind: these are whole records), and encoded again. Quarantine is small.
    """
    rows = con.execute("SELECT rowid, raw FROM quarantine WHERE raw IS NOT NULL").fetchall()
    leaves: list[str] = []
    decoded: list[Any] = []
    for _, raw in rows:
        try:
            value = json.loads(raw)
        except ValueError:
            value = raw
        decoded.append(value)
        _collect_strings(value, leaves)
    scrubbed = iter(e.text for e in pii.extract_many(leaves))
    changed_ids: list[int] = []
    changed_raw: list[str] = []
    for (rid, raw), value in zip(rows, decoded, strict=True):
        clean = _replace_strings(value, scrubbed)
        text = (
            clean
            if isinstance(value, str) and raw == value
            else json.dumps(clean, ensure_ascii=False)
        )
        if clean != value:
            changed_ids.append(rid)
            changed_raw.append(text)
    if changed_ids:
        con.register("scrubbed", pa.table({"rid": changed_ids, "raw": changed_raw}))
        con.execute(
            "UPDATE quarantine SET raw = scrubbed.raw FROM scrubbed"
            " WHERE quarantine.rowid = scrubbed.rid"
        )
        con.unregister("scrubbed")
    return len(changed_ids)


def _collect_strings(value: Any, out: list[str]) -> None:
    if isinstance(value, str):
        out.append(value)
    elif isinstance(value, dict):
        for v in value.values():
            _collect_strings(v, out)
    elif isinstance(value, list):
        for v in value:
            _collect_strings(v, out)


def _replace_strings(value: Any, scrubbed: Any) -> Any:
    """``value`` with its strings replaced, in :func:`_collect_strings` order."""
    if isinstance(value, str):
        return next(scrubbed)
    if isinstance(value, dict):
        return {k: _replace_strings(v, scrubbed) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace_strings(v, scrubbed) for v in value]
    return value


def _ingest_categories(con: duckdb.DuckDBPyConnection, spec: SourceSpec) -> dict[str, Any]:
    """The category table, its columns renamed per ``[categories.columns]``.

    Missing names fall back sensibly (a one-level list is its own fourth level; a source
    in one language shows that language in both), so any list of types works.
    """
    wanted = (
        "code",
        "l1_zh",
        "l1_en",
        "l4_zh",
        "l4_en",
        "department_zh",
        "department_en",
        "time_limit_hours",
        "response_limit_hours",
    )
    if spec.categories_file is None:
        cats = pd.DataFrame(columns=list(wanted))
    else:
        raw = pd.read_csv(spec.root / spec.categories_file, dtype=str)
        cats = raw.rename(columns={v: k for k, v in spec.category_columns.items()})
        if "code" not in cats.columns:
            raise SpecError(
                f"{spec.categories_file}: no 'code' column; map one in [categories.columns]"
            )
    fallbacks = {
        "l1_en": "l1_zh",
        "l1_zh": "l1_en",
        "l4_zh": "l1_zh",
        "l4_en": "l1_en",
        "department_en": "department_zh",
        "department_zh": "department_en",
    }
    for col in wanted:
        if col not in cats.columns:
            src = fallbacks.get(col)
            cats[col] = cats[src] if src in cats.columns else None
    if spec.category_names_zh:
        for col in ("l1", "l4", "department"):
            cats[f"{col}_zh"] = (
                cats[f"{col}_en"].map(spec.category_names_zh).fillna(cats[f"{col}_zh"])
            )
    for col in ("time_limit_hours", "response_limit_hours"):
        cats[col] = pd.to_numeric(cats[col], errors="coerce")
    if spec.default_time_limit_hours is not None:
        cats["time_limit_hours"] = cats["time_limit_hours"].fillna(spec.default_time_limit_hours)
    # Missing response limits stay NULL here; the SLA rules' default applies downstream.
    con.register("categories_raw", cats)
    con.execute(
        "CREATE OR REPLACE TABLE stg_categories AS"
        " SELECT * EXCLUDE (time_limit_hours, response_limit_hours),"
        " CAST(time_limit_hours AS INTEGER) AS time_limit_hours,"
        " CAST(response_limit_hours AS DOUBLE) AS response_limit_hours FROM categories_raw"
    )
    return {"rows_in": len(cats), "accepted": len(cats), "quarantined": {}}


def _ingest_requests(
    con: duckdb.DuckDBPyConnection,
    spec: SourceSpec,
    params: dict[str, Any],
    manifest: dict[str, Any],
    work_dir: Path,
) -> None:
    register_map(con, "map_channel", spec.requests.maps.get("channels", {}))
    statuses = spec.requests.maps.get("statuses", {})
    register_map(con, "map_status", statuses)
    register_map(con, "map_event_type", spec.requests.maps.get("event_types", {}))
    requests = _stage_table(
        con,
        spec.requests,
        spec.root,
        "requests",
        required=REQUEST_COLUMNS,
        optional=REQUEST_OPTIONAL,
        params=params,
        work_dir=work_dir,
    )
    # One exact point given for many different addresses is a geocoder's fallback (a
    # street's or district's centre, city hall), not where those requests happened.
    con.execute(
        "CREATE OR REPLACE TABLE stg_requests AS SELECT s.*,"
        " coalesce(c.addresses >= ?, false) AS flag_centroid_fallback"
        " FROM stg_requests AS s LEFT JOIN ("
        "  SELECT lng_src, lat_src, count(DISTINCT address) AS addresses FROM stg_requests"
        "  WHERE lng_src IS NOT NULL AND lat_src IS NOT NULL GROUP BY ALL"
        " ) AS c USING (lng_src, lat_src)",
        [CENTROID_MIN_ADDRESSES],
    )
    requests["flagged"] = _count_flags(
        con,
        "stg_requests",
        {
            "unknown_channel": "flag_unknown_channel",
            "active_content": "flag_active_content",
            "unknown_event_type": "event_type IS NULL OR event_type NOT IN "
            "(SELECT code FROM stg_categories)",
            "dst_nonexistent": "dst_issue = 'nonexistent'",
            "dst_ambiguous": "dst_issue = 'ambiguous'",
            "centroid_fallback": "flag_centroid_fallback",
        },
    )
    manifest["inputs"]["requests"] = requests
    con.execute(
        "CREATE OR REPLACE TABLE accepted_requests AS"
        " SELECT request_id, created_local FROM stg_requests"
    )
    for key, table in (("events", "map_event"), ("levels", "map_level"), ("ratings", "map_rating")):
        register_map(con, table, spec.events.maps.get(key, {}) if spec.events else {})
    events_params = {**params, "derived": spec.events is None}
    if spec.events is None:
        # No event log: one event per request from its status columns (closed -> closed).
        register_map(
            con,
            "map_event",
            {
                raw: ("closed" if value == "closed" else "reported")
                for raw, value in statuses.items()
            },
        )
        db.run_model(
            con,
            "staging/derived_request_events",
            {"ts_format": spec.requests.timestamp_format, "tz": spec.timezone},
            materialize="raw_request_events",
        )
        db.run_model(
            con,
            "staging/checked_request_events",
            {**events_params, "ts_format": DERIVED_TS_FORMAT},
            materialize="checked_request_events",
        )
        result = _split(con, "checked_request_events", "request_events", "stg_request_events")
        con.execute("DROP TABLE checked_request_events")
        result["derived_from"] = "requests.status"
    else:
        result = _stage_table(
            con,
            spec.events,
            spec.root,
            "request_events",
            required=EVENT_COLUMNS,
            optional=EVENT_OPTIONAL,
            params=events_params,
            work_dir=work_dir,
        )
    result["flagged"] = _count_flags(
        con,
        "stg_request_events",
        {
            "time_order": "flag_time_order",
            "unknown_level": "flag_unknown_level",
            "dst_nonexistent": "dst_issue = 'nonexistent'",
            "dst_ambiguous": "dst_issue = 'ambiguous'",
        },
    )
    manifest["inputs"]["request_events"] = result


def _ingest_components(
    con: duckdb.DuckDBPyConnection,
    spec: SourceSpec,
    params: dict[str, Any],
    manifest: dict[str, Any],
    work_dir: Path,
) -> None:
    if not spec.components:
        con.execute(
            "CREATE OR REPLACE TABLE stg_components (component_id VARCHAR, kind VARCHAR,"
            " lng_src DOUBLE, lat_src DOUBLE, owner VARCHAR, property_unit VARCHAR,"
            " maintainer VARCHAR, status VARCHAR, installed_on DATE,"
            " source_file VARCHAR, source_row BIGINT)"
        )
    else:
        manifest["inputs"]["components"] = _stage_table(
            con,
            spec.components,
            spec.root,
            "components",
            required=COMPONENT_COLUMNS,
            optional=COMPONENT_OPTIONAL,
            params=params,
            work_dir=work_dir,
        )
    con.execute(
        "CREATE OR REPLACE TABLE accepted_component_ids AS SELECT component_id FROM stg_components"
    )
    if spec.alarms is None:
        con.execute(
            "CREATE OR REPLACE TABLE stg_component_alarms (component_id VARCHAR,"
            " ts_local TIMESTAMP, alarm_type VARCHAR, ts_utc TIMESTAMP,"
            " source_file VARCHAR, source_row BIGINT)"
        )
        return
    manifest["inputs"]["component_alarms"] = _stage_table(
        con,
        spec.alarms,
        spec.root,
        "component_alarms",
        required=ALARM_COLUMNS,
        params=params,
        work_dir=work_dir,
    )
