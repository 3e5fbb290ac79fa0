"""Dataset names -> paths: the data contract between stages, the app and notebooks.

Stages and the dashboard refer to datasets by *name*; only this module knows where a name
lives on disk (Kedro's ``catalog.yml`` as typed Python). A path is always
``settings.data_dir / layer / relpath``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipelines.settings import Settings


@dataclass(frozen=True)
class Dataset:
    """One named dataset: the layer folder it lives in and its path inside that folder."""

    name: str
    layer: str
    relpath: str
    description: str


_DATASETS = (
    # staged: typed, validated, WGS-84, one per source table
    Dataset("stg_units", "02_staged", "units.parquet", "admin units of every level (GeoParquet)"),
    Dataset("stg_requests", "02_staged", "requests.parquet", "accepted requests, typed"),
    Dataset("stg_request_events", "02_staged", "request_events.parquet", "lifecycle events"),
    Dataset("stg_categories", "02_staged", "categories.parquet", "4-level taxonomy + limits"),
    Dataset("stg_components", "02_staged", "components.parquet", "city components, WGS-84"),
    Dataset("stg_component_alarms", "02_staged", "component_alarms.parquet", "sensor alarms"),
    Dataset("boundary_issues", "02_staged", "boundary_issues.parquet", "overlaps, gaps, bad edges"),
    Dataset("quarantine", "02_staged", "quarantine.parquet", "rejected rows with reason codes"),
    Dataset("transcoded", "02_staged", "transcoded", "UTF-8 copies of non-UTF-8 text sources"),
    Dataset("ingest_manifest", "02_staged", "ingest_manifest.json", "row accounting per input"),
    Dataset("scrub_cache", "02_staged", "scrub_cache.parquet", "keyed digests of scrubbed texts"),
    # intermediate: indexing and lifecycle
    Dataset("int_crosswalk", "03_intermediate", "crosswalk", "interior H3 cell -> leaf unit"),
    Dataset("int_request_geo", "03_intermediate", "request_geo.parquet", "request point + cell"),
    Dataset("int_request_place", "03_intermediate", "request_place.parquet", "leaf per hierarchy"),
    Dataset("int_component_geo", "03_intermediate", "component_geo.parquet", "component cell"),
    Dataset(
        "int_component_place", "03_intermediate", "component_place.parquet", "leaf per hierarchy"
    ),
    Dataset("int_cell_population", "03_intermediate", "cell_population.parquet", "people/cell"),
    Dataset("int_cell_place", "03_intermediate", "cell_place.parquet", "cell leaf/hierarchy"),
    Dataset("geoindex_manifest", "03_intermediate", "geoindex_manifest.json", "assignment stats"),
    # warehouse: what the dashboard and the notebook API read
    Dataset("warehouse_builds", "04_warehouse", "builds", "one DuckDB file per published build"),
    Dataset("warehouse_current", "04_warehouse", "CURRENT", "name of the build being served"),
    # snapshots: published figures and rankings, frozen (outlive every build)
    Dataset("snapshots", "05_snapshots", "", "<period>/<snapshot_id>/ kpi, ranking, meta"),
    # vault: requests' original text and contact, encrypted per row (pipelines.vault)
    Dataset("vault_contacts", "06_vault", "contacts.parquet", "sealed originals of scrubbed text"),
)

DATASETS: dict[str, Dataset] = {ds.name: ds for ds in _DATASETS}


def path(settings: Settings, name: str) -> Path:
    """Return the path of dataset ``name``.

    Parameters
    ----------
    settings
        Resolved settings (supplies ``data_dir``).
    name
        A key of :data:`DATASETS`.

    Returns
    -------
    pathlib.Path
    """
    try:
        ds = DATASETS[name]
    except KeyError:
        raise KeyError(f"unknown dataset {name!r}; known: {sorted(DATASETS)}") from None
    return settings.data_dir / ds.layer / ds.relpath


def raw_dir(settings: Settings) -> Path:
    """Folder of the source being built (the folder holding its spec)."""
    return settings.source_spec.parent
