"""Pipeline stages in order; ``run_all`` runs a prefix of them in one DuckDB session."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import duckdb

from pipelines import db
from pipelines.settings import Settings
from pipelines.sources.spec import load_spec
from pipelines.stages import aggregate, geoindex, ingest, publish

log = logging.getLogger(__name__)

Stage = Callable[[duckdb.DuckDBPyConnection, Settings], dict[str, Any]]
STAGES: tuple[tuple[str, Stage], ...] = (
    ("ingest", ingest.run),
    ("geoindex", geoindex.run),
    ("aggregate", aggregate.run),
    ("publish", publish.run),
)


def inputs_fingerprint(settings: Settings) -> str:
    """Hash of the spec and its data folder (file names, sizes, mtimes) plus the settings.

    The data folder is the spec's ``[source] root`` (LA's spec lives in the project, its
    data in ../shared), so a changed boundary or request file triggers a rebuild either way.
    """
    spec_file = settings.source_spec
    root = load_spec(spec_file).root
    h = hashlib.sha256(spec_file.read_bytes())
    for f in sorted(p for p in root.rglob("*") if p.is_file()):
        st = f.stat()
        h.update(f"{f.relative_to(root)}:{st.st_size}:{st.st_mtime_ns}".encode())
    h.update(
        json.dumps(
            {"point_res": settings.point_res, "map_res": dict(settings.map_res)}, sort_keys=True
        ).encode()
    )
    h.update(db.code_fingerprint().encode())
    return h.hexdigest()[:16]


def run_all(
    settings: Settings, *, until: str | None = None, skip_if_fresh: bool = False
) -> dict[str, Any]:
    """Run the stages in order (up to ``until``) and return a report per stage.

    With ``skip_if_fresh`` nothing runs when the published build was made from the same
    inputs, settings and code.
    """
    names = [n for n, _ in STAGES]
    if until is not None and until not in names:
        raise ValueError(f"unknown stage {until!r}; stages are {names}")
    fingerprint = inputs_fingerprint(settings)
    if skip_if_fresh and publish.current_fingerprint(settings) == fingerprint:
        log.info("warehouse is up to date with its inputs (%s); nothing to do", fingerprint)
        return {"skipped": True, "fingerprint": fingerprint}
    report: dict[str, Any] = {"fingerprint": fingerprint}
    for name, stage in STAGES:
        # A fresh connection per stage: stages share nothing but catalog datasets, so any
        # prefix can be re-run on its own.
        con = db.connect(settings)
        try:
            con.execute("SET VARIABLE build_fingerprint = ?", [fingerprint])
            t0 = time.perf_counter()
            log.info("stage %s ...", name)
            result = stage(con, settings)
            report[name] = {"seconds": round(time.perf_counter() - t0, 2), **(result or {})}
            log.info("stage %s done in %.1f s", name, report[name]["seconds"])
        finally:
            con.close()
        if name == until:
            break
    return report
