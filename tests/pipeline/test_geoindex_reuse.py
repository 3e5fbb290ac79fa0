"""Geoindex keeps the previous run's results for unchanged points and locates the rest."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from pipelines import catalog, db
from pipelines.settings import Settings
from pipelines.stages import geoindex


def _located(settings: Settings) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    geo = pd.read_parquet(catalog.path(settings, "int_request_geo"))
    place = pd.read_parquet(catalog.path(settings, "int_request_place"))
    manifest = json.loads(catalog.path(settings, "geoindex_manifest").read_text())
    return (
        geo.sort_values("request_id").reset_index(drop=True),
        place.sort_values(["request_id", "hierarchy"]).reset_index(drop=True),
        manifest,
    )


def _run_geoindex(settings: Settings) -> None:
    con = db.connect(settings)
    try:
        geoindex.run(con, settings)
    finally:
        con.close()


@pytest.fixture
def moved_point(built_city: Settings, tmp_path) -> tuple[Settings, str, str]:
    """A copy of the built city whose staged request ``moved`` now has ``other``'s point."""
    shutil.copytree(built_city.data_dir, tmp_path / "data", ignore=shutil.ignore_patterns("tmp"))
    settings = Settings.from_env(environ={}, data_dir=tmp_path / "data", memory_limit="1GB")
    staged = catalog.path(settings, "stg_requests")
    requests = pd.read_parquet(staged)
    geo, place, _ = _located(settings)
    leaves = place.pivot(index="request_id", columns="hierarchy", values="leaf_id")
    interior = geo.loc[geo["geo_status"] == "interior", "request_id"]
    moved = str(interior.iloc[0])
    # a point in another leaf of every hierarchy, so the move shows in every place row
    differs = (leaves.loc[interior] != leaves.loc[moved]).all(axis=1)
    other = str(differs[differs].index[0])
    at = requests["request_id"] == other
    requests.loc[requests["request_id"] == moved, ["lng_src", "lat_src"]] = requests.loc[
        at, ["lng_src", "lat_src"]
    ].to_numpy()
    requests.to_parquet(staged, index=False)
    return settings, moved, other


def test_a_moved_point_is_located_again_and_every_other_point_keeps_its_row(moved_point):
    settings, moved, other = moved_point
    geo_before, place_before, _ = _located(settings)
    _run_geoindex(settings)
    geo, place, manifest = _located(settings)

    columns = ["lng", "lat", "cell", "geo_status"]
    at_moved, at_other = geo["request_id"] == moved, geo["request_id"] == other
    assert geo.loc[at_moved, columns].to_numpy().tolist() == (
        geo.loc[at_other, columns].to_numpy().tolist()
    )
    assert (
        place.loc[place["request_id"] == moved, ["hierarchy", "leaf_id"]].to_numpy().tolist()
        == place.loc[place["request_id"] == other, ["hierarchy", "leaf_id"]].to_numpy().tolist()
    )
    assert geo_before.loc[geo_before["request_id"] == moved, "cell"].item() != (
        geo.loc[at_moved, "cell"].item()
    )
    kept = geo["request_id"] != moved
    pd.testing.assert_frame_equal(
        geo.loc[kept].reset_index(drop=True),
        geo_before.loc[geo_before["request_id"] != moved].reset_index(drop=True),
    )
    assert len(place) == len(place_before)
    assert set(manifest["locate_keys"]) == {"request", "component"}


def test_reusing_points_gives_what_locating_every_point_gives(moved_point):
    settings, _, _ = moved_point
    _run_geoindex(settings)  # keeps every unchanged point's row
    reused = _located(settings)
    catalog.path(settings, "geoindex_manifest").unlink()  # no previous run: locate all
    _run_geoindex(settings)
    scratch = _located(settings)
    pd.testing.assert_frame_equal(reused[0], scratch[0])
    pd.testing.assert_frame_equal(reused[1], scratch[1])
    assert reused[2] == scratch[2]  # counts per rule and flag included
