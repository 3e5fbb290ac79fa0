"""Bad inputs: one committed fixture per class, and every row gets exactly its outcome.

The fixtures (``tests/fixtures/bad_inputs/``, written by the seeded
``scripts/make_bad_input_fixtures.py``) are seven tiny sources. Each is built through ingest
and geoindex once per module. For every row the tests know the outcome: accepted (where it
was located, which flags it carries) or quarantined (with which reason). For every input,
the rows counted straight from the files equal accepted + quarantined, in the manifest and
in the staged tables, and every (file, row) is accounted for exactly once. A source without
an event log derives one event per accepted request; building a source again, or with a
requests file sent twice, changes no staged record.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import shutil
import tomllib
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from pipelines import catalog
from pipelines.geo import M_PER_DEG
from pipelines.settings import Settings
from pipelines.stages import run_all

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "bad_inputs"
SCRIPT = ROOT / "scripts" / "make_bad_input_fixtures.py"
SOURCES = (
    "rows",
    "boundaries",
    "gbk_gcj02",
    "utf16",
    "status_la",
    "overlaps",
    "nested",
    "repairs",
)
#: staged dataset -> (spec section, staged table)
TABLES = {
    "requests": ("requests", "stg_requests"),
    "request_events": ("events", "stg_request_events"),
    "components": ("components", "stg_components"),
    "component_alarms": ("alarms", "stg_component_alarms"),
}
LEVELS = ("district", "street", "community", "grid")
#: Label of the quarantine row standing for a whole file that did not decode.
WHOLE_FILE = "<whole file>"
#: Codecs the fixtures' declared encodings are decoded with here, independently of the
#: pipeline (utf-8-sig drops a BOM; GBK files are read as GB18030, its superset).
CODECS = {"utf-8": "utf-8-sig", "gbk": "gb18030", "utf-16": "utf-16"}
GCJ_POINTS = "requests/gbk_gcj02_points.csv"
#: Key prefix of the lifecycle events a source without an event log derives from a requests
#: file (one per accepted request, carrying that request's file and row).
DERIVED = "events derived from "
#: ``overlaps`` source: D1S1C1G1 is drawn over the bottom of D1S1C1G2 (this rectangle), and
#: D1S2C2G1 is drawn short of D1S2C2G2, leaving the gap rectangle (see the script).
OVERLAP_RECT = (114.02, 22.53, 114.04, 22.532)
OVERLAP_WINNER = "D1S1C1G2"  # the smaller of the two overlapping grids
GAP_RECT = (114.04, 22.545, 114.06, 22.55)
#: ``nested`` source: D2S1C1G1 is drawn over its whole community, around its sibling
#: D2S1C1G2 (this rectangle).
NESTED_INNER_RECT = (114.06, 22.53, 114.08, 22.54)
#: ``repairs`` source: D2S2C1G2 as the city draws it; the file extends it 0.004° north.
STRAYING_RECT = (114.06, 22.55, 114.08, 22.56)

CITY_UNITS = {
    "district": ["D1", "D2"],
    "street": [f"D{d}S{s}" for d in (1, 2) for s in (1, 2)],
    "community": [f"D{d}S{s}C{c}" for d in (1, 2) for s in (1, 2) for c in (1, 2)],
    "grid": [
        f"D{d}S{s}C{c}G{g}"
        for d in (1, 2)
        for s in (1, 2)
        for c in (1, 2)
        for g in (1, 2)
        if f"D{d}S{s}C{c}G{g}" != "D2S2C2G2"  # D2S2C2 is drawn with one grid
    ],
}


# ---------------------------------------------------------------------------- outcomes


class Outcome(NamedTuple):
    """What happened to one input row."""

    kind: str  # "accepted" | "quarantined"
    detail: str | None  # accepted: grid id or unassigned geo status; quarantined: reason
    flags: tuple[str, ...] = ()


def kept(where: str | None = None, *flags: str) -> Outcome:
    return Outcome("accepted", where, tuple(sorted(flags)))


def quarantined(reason: str) -> Outcome:
    return Outcome("quarantined", reason)


Rows = list[tuple[str, Outcome]]


class Case(NamedTuple):
    """Expected outcomes, in file order, of (some labelled) rows of files of one source."""

    source: str
    files: dict[str, Rows]


G = "D1S1C1G1"  # where the fixtures' default point lies
SNAPPED_EAST = "D2S1C2G2"  # the grid on the city's east edge
CITY_KEPT = {
    f"../common/{level}.geojson": [(code, kept()) for code in CITY_UNITS[level]] for level in LEVELS
}

CASES = [
    pytest.param(
        Case(
            "rows",
            {
                "requests/clean.csv": [
                    ("clean-1", kept(G)),
                    ("clean-2", kept("D2S2C2G1")),
                    ("clean-3", kept("D1S2C2G2")),
                ],
                "events/clean.csv": [
                    (label, kept())
                    for label in (
                        "event-reported",
                        "event-dispatched",
                        "event-accepted",
                        "event-closed",
                        "event-rated",
                    )
                ],
                "components/clean.csv": [
                    ("comp-ok-1", kept("D1S2C1G1")),
                    ("comp-no-location-1", kept("no_location")),
                ],
                "alarms/clean.csv": [("alarm-ok-1", kept())],
                **CITY_KEPT,
            },
        ),
        id="clean_rows_and_the_fixture_city_are_accepted_and_located",
    ),
    pytest.param(
        Case(
            "rows",
            {
                "requests/bad_timestamp.csv": [
                    ("bad-timestamp-month-13", quarantined("BAD_TIMESTAMP")),
                    ("bad-timestamp-words", quarantined("BAD_TIMESTAMP")),
                    ("bad-timestamp-empty", quarantined("MISSING_TIMESTAMP")),
                    ("bad-timestamp-iso-t", quarantined("BAD_TIMESTAMP")),
                    ("bad-timestamp-slashes", quarantined("BAD_TIMESTAMP")),
                    ("bad-timestamp-date-only", quarantined("BAD_TIMESTAMP")),
                    ("bad-timestamp-feb-30", quarantined("BAD_TIMESTAMP")),
                    ("padded-timestamp-accepted", kept(G)),
                ],
                "events/bad_timestamp.csv": [
                    ("event-bad-timestamp-1", quarantined("BAD_TIMESTAMP")),
                ],
                "alarms/bad_timestamp.csv": [
                    ("alarm-bad-timestamp-1", quarantined("BAD_TIMESTAMP")),
                ],
            },
        ),
        id="timestamps_not_in_the_declared_format_are_quarantined_BAD_TIMESTAMP",
    ),
    pytest.param(
        Case(
            "rows",
            {
                "requests/missing_id.csv": [
                    ("missing-id-empty", quarantined("MISSING_ID")),
                    ("missing-id-blank", quarantined("MISSING_ID")),
                    ("missing-id-and-bad-timestamp", quarantined("MISSING_ID")),
                ],
                "events/missing_id.csv": [("event-missing-id-1", quarantined("MISSING_ID"))],
                "components/missing_id.csv": [("comp-missing-id-1", quarantined("MISSING_ID"))],
                "alarms/missing_id.csv": [("alarm-missing-id-1", quarantined("MISSING_ID"))],
            },
        ),
        id="rows_without_an_id_are_quarantined_MISSING_ID_before_any_other_check",
    ),
    pytest.param(
        Case(
            "rows",
            {
                "requests/null_island.csv": [
                    ("null-island-zeros", kept("null_island")),
                    ("null-island-decimals", kept("null_island")),
                    ("null-island-negative-zero", kept("null_island")),
                    ("near-null-island-is-outside", kept("out_of_area")),
                ]
            },
        ),
        id="null_island_is_kept_unlocated_with_status_null_island",
    ),
    pytest.param(
        Case(
            "rows",
            {
                "requests/missing_coordinates.csv": [
                    (label, kept("no_location"))
                    for label in (
                        "no-coords-empty",
                        "no-coords-wu",
                        "no-coords-dash",
                        "no-coords-null-text",
                        "no-coords-lat-only",
                        "no-coords-nan",
                        "no-coords-infinite",
                        "no-coords-fullwidth-digits",
                        "no-coords-degree-sign",
                    )
                ]
            },
        ),
        id="missing_or_non_numeric_coordinates_are_kept_with_status_no_location",
    ),
    pytest.param(
        Case(
            "rows",
            {
                "requests/out_of_range.csv": [
                    ("out-of-range-lat-91", kept("out_of_range")),
                    ("out-of-range-lng-200", kept("out_of_range")),
                    ("out-of-range-lat-minus-91", kept("out_of_range")),
                    ("out-of-range-1e308", kept("out_of_range")),
                ]
            },
        ),
        id="lat_91_or_lng_200_are_kept_with_status_out_of_range_never_wrapped",
    ),
    pytest.param(
        Case(
            "rows",
            {
                "requests/outside_every_grid.csv": [
                    ("outside-near-city", kept("out_of_area")),
                    ("outside-beijing", kept("out_of_area")),
                    ("outside-sea-south", kept("out_of_area")),
                    # GPS noise just outside the edge: given to the nearest grid (snap_m 200)
                    ("outside-5m-east-of-city", kept(SNAPPED_EAST, "snapped")),
                ]
            },
        ),
        id="points_beyond_the_city_are_kept_out_of_area_and_points_at_its_edge_are_snapped",
    ),
    pytest.param(
        Case(
            "rows",
            {
                "requests/swapped_axes.csv": [
                    ("swapped-axes-in-grid", kept("D1S1C2G2", "axis_swapped")),
                    ("swapped-axes-outside", kept("out_of_area", "axis_swapped")),
                ]
            },
        ),
        id="swapped_lat_lng_are_swapped_back_located_and_flagged_axis_swapped",
    ),
    pytest.param(
        Case(
            "rows",
            {
                "requests/low_precision.csv": [
                    ("low-precision-3-decimals", kept(G, "low_precision")),
                    # on the edge between D1S2C1G1 and D1S2C1G2: the smaller id wins
                    ("low-precision-on-shared-edge", kept("D1S2C1G1", "low_precision")),
                    ("precise-lat-not-low-precision", kept(G)),
                ]
            },
        ),
        id="three_decimal_points_are_located_and_flagged_low_precision",
    ),
    pytest.param(
        Case(
            "rows",
            {
                "requests/future_timestamp.csv": [
                    ("future-2099", quarantined("FUTURE_TIMESTAMP")),
                    ("future-2050", quarantined("FUTURE_TIMESTAMP")),
                ],
                "events/future_timestamp.csv": [
                    ("event-future-2099", quarantined("FUTURE_TIMESTAMP")),
                ],
            },
        ),
        id="future_timestamps_are_quarantined_FUTURE_TIMESTAMP",
    ),
    pytest.param(
        Case(
            "rows",
            {
                "requests/sentinel_timestamp.csv": [
                    ("sentinel-epoch", quarantined("SENTINEL_TIMESTAMP")),
                    ("sentinel-1900", quarantined("SENTINEL_TIMESTAMP")),
                    ("sentinel-last-second-of-1999", quarantined("SENTINEL_TIMESTAMP")),
                    ("earliest-day-accepted", kept(G)),
                ],
                "events/sentinel_timestamp.csv": [
                    ("event-sentinel-epoch", quarantined("SENTINEL_TIMESTAMP")),
                ],
            },
        ),
        id="epoch_and_pre_2000_timestamps_are_quarantined_SENTINEL_TIMESTAMP",
    ),
    pytest.param(
        Case(
            "rows",
            {
                "requests/duplicate_ids.csv": [
                    ("duplicate-exact-1", kept(G)),
                    # the same record again: a no-op, kept in quarantine as DUPLICATE_ROW
                    ("duplicate-exact-1", quarantined("DUPLICATE_ROW")),
                    ("duplicate-changed-1", kept(G)),
                    ("duplicate-changed-1", quarantined("DUPLICATE_ID")),
                    ("duplicate-first-bad-timestamp-1", quarantined("BAD_TIMESTAMP")),
                    ("duplicate-first-bad-timestamp-1", kept(G)),
                ],
                "requests/duplicate_ids_across_files_a.csv": [
                    ("duplicate-across-files-1", kept(G))
                ],
                "requests/duplicate_ids_across_files_b.csv": [
                    # the same record in a second export: DUPLICATE_ROW, a no-op
                    ("duplicate-across-files-1", quarantined("DUPLICATE_ROW")),
                ],
                "components/duplicate_ids.csv": [
                    ("comp-duplicate-1", kept("D1S2C1G1")),
                    ("comp-duplicate-1", quarantined("DUPLICATE_ID")),
                ],
            },
        ),
        id="repeated_rows_are_DUPLICATE_ROW_and_conflicting_copies_DUPLICATE_ID_first_usable_wins",
    ),
    pytest.param(
        Case(
            "rows",
            {
                "requests/duplicate_first_copy_unusable.csv": [
                    ("duplicate-first-sentinel-1", quarantined("SENTINEL_TIMESTAMP")),
                    ("duplicate-first-sentinel-1", kept(G)),
                    ("duplicate-first-future-1", quarantined("FUTURE_TIMESTAMP")),
                    ("duplicate-first-future-1", kept(G)),
                ],
            },
        ),
        id="a_request_whose_first_copy_has_a_sentinel_or_future_time_keeps_the_second_copy",
    ),
    pytest.param(
        Case(
            "rows",
            {
                "components/duplicate_first_copy_unusable.csv": [
                    ("comp-duplicate-first-no-kind-1", quarantined("MISSING_KIND")),
                    ("comp-duplicate-first-no-kind-1", kept("D1S2C1G1")),
                ],
            },
        ),
        id="a_component_whose_first_copy_has_no_kind_keeps_the_second_copy",
    ),
    pytest.param(
        Case(
            "rows",
            {
                "requests/unknown_channel.csv": [
                    ("unknown-channel-douyin", kept(G, "unknown_channel")),
                    ("unknown-channel-empty", kept(G, "unknown_channel")),
                    ("known-channel-padded", kept(G)),
                ]
            },
        ),
        id="unknown_channels_are_kept_as_other_and_flagged_unknown_channel",
    ),
    pytest.param(
        Case(
            "rows",
            {
                "requests/unknown_event_type.csv": [
                    ("unknown-event-type-1", kept(G, "unknown_event_type")),
                    ("unknown-event-type-empty", kept(G, "unknown_event_type")),
                    ("known-event-type-padded", kept(G)),
                ]
            },
        ),
        id="event_types_not_in_the_categories_are_kept_and_counted_unknown_event_type",
    ),
    pytest.param(
        Case(
            "rows",
            {
                "requests/active_content.csv": [
                    *[
                        (label, kept(G, "active_content"))
                        for label in (
                            "active-content-hyperlink",
                            "active-content-plus-dde",
                            "active-content-minus",
                            "active-content-at",
                            "active-content-leading-space",
                            "active-content-script",
                            "active-content-img",
                            "active-content-iframe-uppercase",
                            "active-content-javascript-url",
                        )
                    ],
                    ("plain-text-dash-inside", kept(G)),
                    ("plain-text-email", kept(G)),
                    ("plain-text-less-than", kept(G)),
                ]
            },
        ),
        id="formula_and_script_payloads_are_kept_and_flagged_active_content",
    ),
    pytest.param(
        Case(
            "rows",
            {
                "requests/multiline_text.csv": [
                    ("multiline-text-1", kept(G)),
                    ("multiline-text-2", kept(G)),
                ]
            },
        ),
        id="a_quoted_newline_in_text_is_one_row_not_two",
    ),
    pytest.param(
        Case(
            "rows",
            {
                "requests/utf8_bom.csv": [
                    ("utf8-bom-1", kept(G)),
                    ("utf8-bom-2", kept("D2S1C2G1")),
                ]
            },
        ),
        id="utf8_with_a_byte_order_mark_is_read_with_its_first_column_intact",
    ),
    pytest.param(
        Case(
            "rows",
            {
                "requests/malformed_lines.csv": [
                    ("malformed-ok-1", kept(G)),
                    ("malformed-too-few", quarantined("MALFORMED_ROW")),
                    ("malformed-ok-2", kept(G)),
                    ("malformed-too-many", quarantined("MALFORMED_ROW")),
                    ("malformed-ok-3", kept(G)),
                    # a header repeated mid-file parses: it is a row with a bad timestamp
                    ("工单编号", quarantined("BAD_TIMESTAMP")),
                    # an unterminated quote runs to the end of the file: one malformed row
                    ("malformed-unterminated", quarantined("MALFORMED_ROW")),
                ]
            },
        ),
        id="lines_that_do_not_parse_are_quarantined_MALFORMED_ROW_and_the_rest_is_read",
    ),
    pytest.param(
        Case(
            "rows",
            {"requests/gbk_declared_utf8.csv": [(WHOLE_FILE, quarantined("ENCODING_ERROR"))]},
        ),
        id="a_gbk_file_declared_utf8_is_quarantined_whole_ENCODING_ERROR",
    ),
    pytest.param(
        Case(
            "gbk_gcj02",
            {"requests/not_gbk.csv": [(WHOLE_FILE, quarantined("ENCODING_ERROR"))]},
        ),
        id="a_file_with_bytes_invalid_in_gb18030_is_quarantined_whole_ENCODING_ERROR",
    ),
    pytest.param(
        Case(
            "gbk_gcj02",
            {
                "requests/gb18030_rare_characters.csv": [
                    ("gb18030-rare-1", kept(G)),
                    ("gb18030-rare-2", kept("D2S1C1G1")),
                ],
                "events/clean.csv": [("事件-受理", kept())],
            },
        ),
        id="gb18030_only_characters_in_a_file_declared_gbk_are_read",
    ),
    pytest.param(
        Case(
            "utf16",
            {
                "requests/excel_unicode_text.txt": [
                    ("utf16-1", kept(G)),
                    ("utf16-2", kept("D2S2C1G2")),
                    ("utf16-undeclared-timestamp-format", quarantined("BAD_TIMESTAMP")),
                ],
                "events/clean.csv": [("event-ok-1", kept())],
            },
        ),
        id="excel_unicode_text_utf16_tab_separated_is_read_with_its_declared_format",
    ),
    pytest.param(
        Case("utf16", {"requests/truncated.txt": [(WHOLE_FILE, quarantined("ENCODING_ERROR"))]}),
        id="a_truncated_utf16_file_is_quarantined_whole_ENCODING_ERROR",
    ),
    pytest.param(
        Case(
            "rows",
            {
                "events/unknown_event.csv": [
                    ("unknown-event-1", quarantined("UNKNOWN_EVENT")),
                    ("unknown-event-empty", quarantined("UNKNOWN_EVENT")),
                    ("known-event-padded", kept()),
                ]
            },
        ),
        id="unknown_lifecycle_events_are_quarantined_UNKNOWN_EVENT",
    ),
    pytest.param(
        Case(
            "rows",
            {
                "events/orphan_event.csv": [
                    ("orphan-event-no-such-request", quarantined("ORPHAN_EVENT")),
                    ("orphan-event-of-quarantined-request", quarantined("ORPHAN_EVENT")),
                ]
            },
        ),
        id="events_of_absent_or_quarantined_requests_are_quarantined_ORPHAN_EVENT",
    ),
    pytest.param(
        Case(
            "rows",
            {
                "events/unknown_rating.csv": [
                    ("unknown-rating-1", quarantined("UNKNOWN_RATING")),
                    ("unknown-rating-empty", quarantined("UNKNOWN_RATING")),
                    ("rating-on-close-ignored", kept()),
                ]
            },
        ),
        id="rated_events_without_a_known_rating_are_quarantined_UNKNOWN_RATING",
    ),
    pytest.param(
        Case(
            "rows",
            {
                "events/unknown_level.csv": [
                    ("unknown-level-1", kept(None, "unknown_level")),
                    ("no-level-not-flagged", kept()),
                ]
            },
        ),
        id="unknown_dispatch_levels_are_kept_and_flagged_unknown_level",
    ),
    pytest.param(
        Case(
            "rows",
            {"components/missing_kind.csv": [("comp-missing-kind-1", quarantined("MISSING_KIND"))]},
        ),
        id="components_without_a_kind_are_quarantined_MISSING_KIND",
    ),
    pytest.param(
        Case(
            "rows",
            {
                "alarms/orphan_alarm.csv": [
                    ("orphan-alarm-no-such-component", quarantined("ORPHAN_ALARM")),
                    ("orphan-alarm-of-quarantined-component", quarantined("ORPHAN_ALARM")),
                ]
            },
        ),
        id="alarms_of_absent_or_quarantined_components_are_quarantined_ORPHAN_ALARM",
    ),
    pytest.param(
        Case(
            "boundaries",
            {
                "boundaries/district.geojson": [(c, kept()) for c in CITY_UNITS["district"]],
                "boundaries/street.geojson": [(c, kept()) for c in CITY_UNITS["street"]],
                "boundaries/community.geojson": [(c, kept()) for c in CITY_UNITS["community"]],
                "boundaries/grid.geojson": [
                    (c, kept()) for c in CITY_UNITS["grid"] if c != "D1S1C1G1"
                ],
                "events/clean.csv": [("event-ok-1", kept())],
            },
        ),
        id="boundary_units_with_valid_or_repairable_geometry_are_accepted",
    ),
    pytest.param(
        Case(
            "boundaries",
            {
                "boundaries/grid.geojson": [
                    ("empty-geometry-null-1", quarantined("EMPTY_GEOMETRY")),
                    ("empty-geometry-polygon-1", quarantined("EMPTY_GEOMETRY")),
                ]
            },
        ),
        id="null_and_empty_boundary_geometries_are_quarantined_EMPTY_GEOMETRY",
    ),
    pytest.param(
        Case(
            "boundaries",
            {
                "boundaries/district.geojson": [
                    ("other-city-district-1", quarantined("UNKNOWN_PARENT")),
                ],
                "boundaries/street.geojson": [("orphan-street-1", quarantined("UNKNOWN_PARENT"))],
                "boundaries/grid.geojson": [
                    ("unknown-parent-grid-1", quarantined("UNKNOWN_PARENT")),
                ],
            },
        ),
        id="boundaries_whose_parent_is_unknown_are_quarantined_UNKNOWN_PARENT",
    ),
    pytest.param(
        Case(
            "boundaries",
            {
                "boundaries/community.geojson": [
                    ("orphan-community-1", quarantined("UNKNOWN_PARENT")),
                ],
                "boundaries/grid.geojson": [
                    ("orphan-grid-of-orphan-community-1", quarantined("UNKNOWN_PARENT")),
                ],
            },
        ),
        id="units_under_a_quarantined_parent_are_quarantined_UNKNOWN_PARENT_too",
    ),
    pytest.param(
        Case(
            "boundaries",
            {
                "boundaries/grid.geojson": [
                    ("D1S1C1G1", kept()),
                    ("missing-id-grid-1", quarantined("MISSING_ID")),
                    ("D1S1C1G1", quarantined("DUPLICATE_ID")),
                ]
            },
        ),
        id="boundaries_without_an_id_or_with_a_repeated_id_are_quarantined",
    ),
    pytest.param(
        Case(
            "boundaries",
            {
                "requests/points.csv": [
                    ("bowtie-left-triangle", kept("D2S1C1G2")),
                    ("bowtie-right-triangle", kept("D2S1C1G2")),
                    ("bowtie-top-triangle-is-outside", kept("outside")),
                    ("unknown-parent-grid-area-is-outside", kept("out_of_area")),
                    ("duplicate-grid-area-goes-to-first-copy", kept(G)),
                ]
            },
        ),
        id="points_land_only_in_accepted_and_repaired_boundaries",
    ),
    pytest.param(
        Case(
            "status_la",
            {
                "requests/updates.csv": [
                    ("update-repeated-1", kept(G)),
                    # the same record again: a no-op
                    ("update-repeated-1", quarantined("DUPLICATE_ROW")),
                    # an older version, in either file order: kept in quarantine as history
                    ("update-newer-last-1", quarantined("SUPERSEDED")),
                    ("update-newer-last-1", kept(G)),
                    ("update-newer-first-1", kept(G)),
                    ("update-newer-first-1", quarantined("SUPERSEDED")),
                    # different content and no update time (or the same one) to order them
                    ("update-no-update-time-1", kept(G)),
                    ("update-no-update-time-1", quarantined("DUPLICATE_ID")),
                    ("update-same-update-time-1", kept(G)),
                    ("update-same-update-time-1", quarantined("DUPLICATE_ID")),
                ],
                "requests/updates_across_files_a.csv": [
                    ("update-stale-copy-in-later-file-1", kept(G)),
                    ("update-newer-in-later-file-1", quarantined("SUPERSEDED")),
                ],
                "requests/updates_across_files_b.csv": [
                    ("update-stale-copy-in-later-file-1", quarantined("SUPERSEDED")),
                    ("update-newer-in-later-file-1", kept(G)),
                ],
                # one derived event per request, from the version that won
                DERIVED + "requests/updates.csv": [
                    ("update-repeated-1", kept()),
                    ("update-newer-last-1", kept()),
                    ("update-newer-first-1", kept()),
                    ("update-no-update-time-1", kept()),
                    ("update-same-update-time-1", kept()),
                ],
                DERIVED + "requests/updates_across_files_a.csv": [
                    ("update-stale-copy-in-later-file-1", kept()),
                ],
                DERIVED + "requests/updates_across_files_b.csv": [
                    ("update-newer-in-later-file-1", kept()),
                ],
            },
        ),
        id="the_newer_updated_at_wins_in_any_file_order_older_versions_SUPERSEDED",
    ),
    pytest.param(
        Case(
            "status_la",
            {
                "requests/status_lifecycle.csv": [
                    (rid, kept(G))
                    for rid in (
                        "status-closed-1",
                        "status-cancelled-1",
                        "status-open-1",
                        "status-pending-1",
                        "status-open-with-close-time-1",
                        "status-padded-1",
                        "status-unknown-1",
                        "status-empty-1",
                        "status-closed-without-time-1",
                        "status-closed-bad-time-1",
                        "status-closed-before-created-1",
                    )
                ],
                DERIVED + "requests/status_lifecycle.csv": [
                    ("status-closed-1", kept()),
                    ("status-cancelled-1", kept()),
                    ("status-open-1", kept()),
                    ("status-pending-1", kept()),
                    ("status-open-with-close-time-1", kept()),
                    ("status-padded-1", kept()),
                    ("status-unknown-1", quarantined("UNKNOWN_STATUS")),
                    ("status-empty-1", quarantined("UNKNOWN_STATUS")),
                    ("status-closed-without-time-1", quarantined("MISSING_TIMESTAMP")),
                    ("status-closed-bad-time-1", quarantined("BAD_TIMESTAMP")),
                    # kept at the creation time (see the test below)
                    ("status-closed-before-created-1", kept(None, "time_order")),
                ],
            },
        ),
        id="status_columns_give_one_event_per_request_unknown_status_and_bad_close_quarantined",
    ),
    pytest.param(
        Case(
            "status_la",
            {
                "requests/dst.csv": [
                    ("dst-winter-noon", kept(G)),
                    ("dst-spring-last-second-before-gap", kept(G)),
                    ("dst-spring-gap-start", kept(G, "dst_nonexistent")),
                    ("dst-spring-nonexistent", kept(G, "dst_nonexistent")),
                    ("dst-spring-after-gap", kept(G)),
                    ("dst-summer-noon", kept(G)),
                    ("dst-fall-last-second-before-repeat", kept(G)),
                    ("dst-fall-ambiguous-start", kept(G, "dst_ambiguous")),
                    ("dst-fall-ambiguous", kept(G, "dst_ambiguous")),
                    ("dst-fall-ambiguous-last-second", kept(G, "dst_ambiguous")),
                    ("dst-fall-after-repeat", kept(G)),
                    ("dst-closed-in-repeated-hour", kept(G)),
                ],
                DERIVED + "requests/dst.csv": [
                    ("dst-winter-noon", kept()),
                    ("dst-spring-last-second-before-gap", kept()),
                    ("dst-spring-gap-start", kept(None, "dst_nonexistent")),
                    ("dst-spring-nonexistent", kept(None, "dst_nonexistent")),
                    ("dst-spring-after-gap", kept()),
                    ("dst-summer-noon", kept()),
                    ("dst-fall-last-second-before-repeat", kept()),
                    ("dst-fall-ambiguous-start", kept(None, "dst_ambiguous")),
                    ("dst-fall-ambiguous", kept(None, "dst_ambiguous")),
                    ("dst-fall-ambiguous-last-second", kept(None, "dst_ambiguous")),
                    ("dst-fall-after-repeat", kept()),
                    # closed at 01:15 on the fall-back night: the event is ambiguous
                    ("dst-closed-in-repeated-hour", kept(None, "dst_ambiguous")),
                ],
            },
        ),
        id="nonexistent_and_ambiguous_local_times_are_kept_and_flagged",
    ),
    pytest.param(
        Case(
            "overlaps",
            {
                "boundaries/grid.geojson": [(c, kept()) for c in CITY_UNITS["grid"]],
                "requests/points.csv": [
                    # in both D1S1C1G1 and D1S1C1G2: the smaller by area wins (larger id)
                    ("overlap-goes-to-smaller-grid-1", kept(OVERLAP_WINNER, "overlap")),
                    ("overlap-goes-to-smaller-grid-2", kept(OVERLAP_WINNER, "overlap")),
                    ("below-overlap-is-larger-grid", kept("D1S1C1G1")),
                    ("above-overlap-is-smaller-grid", kept(OVERLAP_WINNER)),
                    # in the gap, farther than snap_m from every grid, inside the outline
                    ("gap-middle-is-outside", kept("outside")),
                    ("gap-west-part-is-outside", kept("outside")),
                    # in the gap within snap_m of one grid: given to the nearest
                    ("gap-near-lower-grid-is-snapped", kept("D1S2C2G1", "snapped")),
                    ("gap-near-upper-grid-is-snapped", kept("D1S2C2G2", "snapped")),
                    ("gap-near-west-neighbour-is-snapped", kept("D1S2C1G1", "snapped")),
                    ("south-of-the-city-is-out-of-area", kept("out_of_area")),
                ],
                "events/clean.csv": [("event-ok-1", kept())],
            },
        ),
        id="overlap_points_go_to_the_smaller_unit_gap_points_are_outside_or_snapped",
    ),
    pytest.param(
        Case(
            "nested",
            {
                "boundaries/grid.geojson": [(c, kept()) for c in CITY_UNITS["grid"]],
                "requests/points.csv": [
                    ("inside-the-inner-grid-is-overlap", kept("D2S1C1G2", "overlap")),
                    ("outer-grid-only", kept("D2S1C1G1")),
                ],
                "events/clean.csv": [("event-ok-1", kept())],
            },
        ),
        id="a_point_in_a_unit_drawn_inside_another_goes_to_the_inner_unit",
    ),
    pytest.param(
        Case(
            "repairs",
            {
                "boundaries/grid.geojson": [
                    (c, quarantined("REPAIR_CHANGED_AREA") if c == "D1S1C1G1" else kept())
                    for c in CITY_UNITS["grid"]
                ],
                "requests/points.csv": [
                    # its grid is quarantined and nothing is snapped here: a visible gap
                    ("in-the-ambiguous-grid-is-outside", kept("outside")),
                    # a unit straying out of its parent keeps what the file gives it
                    ("north-of-the-city-in-the-straying-grid", kept("D2S2C1G2")),
                    ("clean-grid", kept("D1S2C1G1")),
                ],
                "events/clean.csv": [("event-ok-1", kept())],
            },
        ),
        id="an_invalid_polygon_without_a_safe_repair_is_quarantined_REPAIR_CHANGED_AREA",
    ),
    pytest.param(
        Case(
            "rows",
            {
                "requests/centroid_fallback.csv": [
                    *(
                        (f"centroid-fallback-{i}", kept("D2S1C1G1", "centroid_fallback"))
                        for i in range(10)
                    ),
                    *((f"same-point-few-addresses-{i}", kept("D2S1C2G1")) for i in range(9)),
                ],
                "requests/address_payload.csv": [
                    ("address-formula", kept(G, "active_content")),
                    ("address-script", kept(G, "active_content")),
                    ("address-plain", kept(G)),
                ],
            },
        ),
        id="one_point_for_ten_addresses_is_flagged_centroid_fallback_and_address_payloads_too",
    ),
]


# ------------------------------------------------------------------------------- builds


class Build:
    """One fixture source built through ingest and geoindex into its own data folder."""

    def __init__(self, name: str, data_dir: Path, fixtures: Path = FIXTURES) -> None:
        self.name = name
        self.root = fixtures / name
        self.spec: dict[str, Any] = tomllib.loads(
            (self.root / "source.toml").read_text(encoding="utf-8")
        )
        self.settings = Settings.from_env(
            environ={},
            data_dir=data_dir,
            source=self.root / "source.toml",
            memory_limit="1GB",
        )
        self.report = run_all(self.settings, until="geoindex")
        self.manifest: dict[str, Any] = json.loads(
            catalog.path(self.settings, "ingest_manifest").read_text(encoding="utf-8")
        )
        self._tables: dict[str, pd.DataFrame] = {}
        self._outcomes: dict[str, list[tuple[int, str, Outcome]]] | None = None

    def table(self, name: str) -> pd.DataFrame:
        """A staged or intermediate dataset (read once).

        ``int_request_geo`` comes with ``grid_id``: the request's leaf (a grid) in the
        source's one hierarchy, from ``int_request_place``.
        """
        if name not in self._tables:
            frame = pd.read_parquet(catalog.path(self.settings, name))
            if name == "int_request_geo":
                place = pd.read_parquet(catalog.path(self.settings, "int_request_place"))
                leaf = place.loc[place["hierarchy"] == "main", ["request_id", "leaf_id"]]
                frame = frame.merge(leaf.rename(columns={"leaf_id": "grid_id"}), on="request_id")
            self._tables[name] = frame
        return self._tables[name]

    def quarantine(self, dataset: str) -> pd.DataFrame:
        q = self.table("quarantine")
        return q.loc[q["dataset"] == dataset]

    def datasets(self) -> list[str]:
        return [d for d, (section, _) in TABLES.items() if section in self.spec]

    @property
    def derives_events(self) -> bool:
        """No event log: one lifecycle event per accepted request, from its status columns."""
        return "events" not in self.spec

    def files(self, dataset: str) -> list[Path]:
        section = TABLES[dataset][0]
        pattern = self.spec[section].get("files") or self.spec[section]["file"]
        return sorted(self.root.glob(pattern))

    def encoding(self, dataset: str) -> str:
        return str(self.spec[TABLES[dataset][0]].get("encoding", "utf-8"))

    def key(self, source_file: str) -> str:
        """Path of a file relative to the source folder (as the cases name it)."""
        return Path(source_file).relative_to(self.root).as_posix()

    def outcomes(self) -> dict[str, list[tuple[int, str, Outcome]]]:
        """(row, label, outcome) per file, for every row the pipeline reported."""
        if self._outcomes is None:
            out: dict[str, list[tuple[int, str, Outcome]]] = {}
            for dataset in self.datasets():
                for file, row, lbl, outcome in self._table_outcomes(dataset):
                    out.setdefault(self.key(file), []).append((row, lbl, outcome))
            if self.derives_events:
                for file, row, lbl, outcome in self._table_outcomes("request_events", True):
                    out.setdefault(DERIVED + self.key(file), []).append((row, lbl, outcome))
            for level in LEVELS:
                file = self.spec["boundaries"]["files"][level]
                out[file] = self._boundary_outcomes(level, file)
            self._outcomes = {k: sorted(v) for k, v in out.items()}
        return self._outcomes

    def _table_outcomes(
        self, dataset: str, derived: bool = False
    ) -> list[tuple[str, int, str, Outcome]]:
        """Outcome of each row of a dataset; ``derived`` events are labelled by request id."""
        rows: list[tuple[str, int, str, Outcome]] = []
        for q in records(self.quarantine(dataset)):
            if q["source_row"] < 0:
                rows.append((q["source_file"], -1, WHOLE_FILE, quarantined(q["reason"])))
            else:
                lbl = label(dataset, json.loads(q["raw"]), derived)
                rows.append((q["source_file"], q["source_row"], lbl, quarantined(q["reason"])))
        staged = self.table(TABLES[dataset][1])
        if dataset == "requests":
            staged = staged.merge(self.table("int_request_geo"), on="request_id", how="left")
            codes = set(self.table("stg_categories")["code"])
            staged["flag_unknown_event_type"] = ~staged["event_type"].isin(codes)
        elif dataset == "components":
            geo = self.table("int_component_geo")
            place = self.table("int_component_place")
            geo = geo.merge(
                place.loc[place["hierarchy"] == "main", ["component_id", "leaf_id"]].rename(
                    columns={"leaf_id": "grid_id"}
                ),
                on="component_id",
            )
            staged = staged.merge(geo, on="component_id", how="left")
        for r in records(staged):
            flags = [
                name
                for name, column in (
                    ("unknown_channel", "flag_unknown_channel"),
                    ("active_content", "flag_active_content"),
                    ("centroid_fallback", "flag_centroid_fallback"),
                    ("unknown_event_type", "flag_unknown_event_type"),
                    ("unknown_level", "flag_unknown_level"),
                    ("time_order", "flag_time_order"),
                    ("axis_swapped", "axis_swapped"),
                    ("low_precision", "low_precision"),
                )
                if r.get(column) is True
            ]
            if r.get("dst_issue"):
                flags.append(f"dst_{r['dst_issue']}")  # a nonexistent or ambiguous local time
            if r.get("geo_status") in ("snapped", "overlap"):
                flags.append(str(r["geo_status"]))  # assigned, by the rule that decided it
            where = r.get("grid_id") or r.get("geo_status")
            lbl = label(dataset, r, derived)
            rows.append((r["source_file"], r["source_row"], lbl, kept(where, *flags)))
        return rows

    def _boundary_outcomes(self, level: str, file: str) -> list[tuple[int, str, Outcome]]:
        """Outcome of each feature of a boundary file (source_row = feature index)."""
        features = read_features(self.root / file)
        q = self.quarantine(f"boundary_{level}")
        reasons = dict(zip(q["source_row"], q["reason"], strict=True))
        units = self.table("stg_units")
        staged = set(units.loc[units["level"] == level, "unit_id"])
        out = []
        for i, f in enumerate(features):
            props = f["properties"]
            name = props.get("code") or props.get("name")
            if i in reasons:
                outcome = quarantined(reasons[i])
            elif props.get("code") in staged:
                outcome = kept()
            else:
                outcome = Outcome("unaccounted", None)
            out.append((i, str(name), outcome))
        return out


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts of Python values (NaN and NA become None, numpy bools bool)."""
    clean = frame.astype(object).where(frame.notna(), None)
    return [{str(k): v for k, v in row.items()} for row in clean.to_dict("records")]


def label(dataset: str, row: dict[str, Any], derived: bool = False) -> str:
    """The row's label: its id, or the column standing in for it (README.md).

    A ``derived`` event (from a request's status columns) is labelled by its request's id.
    """
    if derived:
        return str(row.get("request_id"))
    if set(row) == {"error", "text"}:  # a malformed line: its first field stands for it
        return str(row["text"]).split(",", 1)[0]
    fallback = {
        "requests": "description",
        "request_events": "department",
        "components": "owner",
        "component_alarms": "alarm_type",
    }[dataset]
    own = {"requests": "request_id", "components": "component_id"}.get(dataset)
    value = row.get(own) if own else None
    if isinstance(value, str) and value.strip():
        return value
    return str(row.get(fallback))


def read_features(path: Path) -> list[dict[str, Any]]:
    features: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))["features"]
    return features


def count_rows(path: Path, encoding: str) -> int | None:
    """Data rows of a text table counted with Python's csv module; None if it does not decode."""
    try:
        text = path.read_bytes().decode(CODECS[encoding])
    except UnicodeDecodeError:
        return None
    delimiter = "\t" if path.suffix == ".txt" else ","
    return len(list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))) - 1


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Build]:
    """Build a fixture source on first use; later calls return the same build."""
    cache: dict[str, Build] = {}

    def get(name: str) -> Build:
        if name not in cache:
            cache[name] = Build(name, tmp_path_factory.mktemp(name))
        return cache[name]

    return get


# -------------------------------------------------------------------------------- tests


@pytest.mark.parametrize("case", CASES)
def test_each_bad_input_class_has_exactly_its_expected_outcome(build, case: Case):
    b = build(case.source)
    outcomes = b.outcomes()
    for file, expected in case.files.items():
        assert file in outcomes, f"{case.source}/{file}: no row of it reached staging"
        wanted = {lbl for lbl, _ in expected}
        got = [(lbl, out) for _, lbl, out in outcomes[file] if lbl in wanted]
        assert got == expected, f"{case.source}/{file}"


def test_every_fixture_row_is_claimed_by_exactly_one_case(build):
    claimed: Counter[tuple[str, str, str]] = Counter()
    for param in CASES:
        case = param.values[0]
        assert isinstance(case, Case)
        for file, rows in case.files.items():
            for lbl in {lbl for lbl, _ in rows}:
                claimed[(case.source, file, lbl)] += 1
    assert [k for k, n in claimed.items() if n > 1] == []
    unclaimed = []
    for source in SOURCES:
        b = build(source)
        for file, rows in b.outcomes().items():
            if source == "gbk_gcj02" and file == GCJ_POINTS:
                continue  # every row checked by the GCJ-02 acceptance test below
            if source != "rows" and file.startswith("../common/"):
                continue  # the same clean city as in "rows"
            unclaimed += [
                (source, file, lbl) for _, lbl, _ in rows if (source, file, lbl) not in claimed
            ]
    assert unclaimed == []


@pytest.mark.parametrize("source", SOURCES)
def test_every_input_row_is_accepted_or_quarantined_exactly_once(build, source):
    b = build(source)
    for dataset in b.datasets():
        files = b.files(dataset)
        counted = {f: count_rows(f, b.encoding(dataset)) for f in files}
        readable = {str(f): n for f, n in counted.items() if n is not None}
        undecodable = sorted(str(f) for f, n in counted.items() if n is None)
        m = b.manifest["inputs"][dataset]
        staged = b.table(TABLES[dataset][1])
        q = b.quarantine(dataset)
        per_row = q.loc[q["source_row"] >= 0]
        whole = q.loc[q["source_row"] < 0]
        # counted from the files == the manifest == the staged tables
        assert m["rows_in"] == sum(readable.values()), dataset
        assert m["rows_in"] == m["accepted"] + sum(m["quarantined"].values()), dataset
        assert len(staged) == m["accepted"], dataset
        assert dict(Counter(per_row["reason"])) == m["quarantined"], dataset
        # every (file, row) of a readable file exactly once, in staging or in quarantine
        seen = Counter(zip(staged["source_file"], staged["source_row"], strict=True))
        seen.update(zip(per_row["source_file"], per_row["source_row"], strict=True))
        want = Counter((f, i) for f, n in readable.items() for i in range(n))
        assert seen == want, dataset
        # a file that does not decode: one whole-file quarantine row, named in the manifest
        assert sorted(whole["source_file"]) == undecodable, dataset
        assert set(whole["reason"]) <= {"ENCODING_ERROR"}, dataset
        assert sorted(m.get("files_quarantined", {})) == undecodable, dataset
    for level in LEVELS:
        n = len(read_features(b.root / b.spec["boundaries"]["files"][level]))
        stats = b.manifest["inputs"]["boundaries"][level]
        units = b.table("stg_units")
        assert stats["rows_in"] == n == stats["accepted"] + stats["quarantined"], level
        assert (units["level"] == level).sum() == stats["accepted"], level
        assert len(b.quarantine(f"boundary_{level}")) == stats["quarantined"], level


@pytest.mark.parametrize("source", SOURCES)
def test_every_accepted_request_gets_exactly_one_location_row(build, source):
    b = build(source)
    staged = b.table("stg_requests")["request_id"]
    located = b.table("int_request_geo")
    assert staged.is_unique
    assert sorted(located["request_id"]) == sorted(staged)
    counts = b.report["geoindex"]["int_request_geo"]
    assert sum(counts.values()) == len(staged)
    unassigned = located["grid_id"].isna()
    unlocated = ["outside", "out_of_area", "no_location", "null_island", "out_of_range"]
    assert located.loc[unassigned, "geo_status"].isin(unlocated).all()
    assert (
        located.loc[~unassigned, "geo_status"].isin(["interior", "exact", "overlap", "snapped"])
    ).all()


def test_quarantined_rows_keep_their_raw_text_and_where_they_came_from(build):
    b = build("rows")
    q = b.quarantine("requests")
    row = q.loc[q["raw"].str.contains("bad-timestamp-month-13")].iloc[0]
    assert row["reason"] == "BAD_TIMESTAMP"
    assert b.key(row["source_file"]) == "requests/bad_timestamp.csv"
    assert row["source_row"] == 0
    assert json.loads(row["raw"])["created_at"] == "2026-13-45 25:61:00"


def test_unknown_channels_become_other_and_keep_the_source_value(build):
    r = build("rows").table("stg_requests").set_index("request_id")
    assert r.loc["unknown-channel-douyin", ["channel", "channel_raw"]].tolist() == ["other", "抖音"]
    assert r.loc["unknown-channel-empty", "channel"] == "other"
    assert r.loc["known-channel-padded", "channel"] == "hotline"
    flagged = build("rows").manifest["inputs"]["requests"]["flagged"]
    assert flagged == {
        "unknown_channel": 2,
        "active_content": 11,
        "unknown_event_type": 2,
        "dst_nonexistent": 0,
        "dst_ambiguous": 0,
        "centroid_fallback": 10,
    }


def test_swapped_coordinates_are_stored_in_the_right_order(build):
    b = build("rows")
    geo_rows = b.table("int_request_geo").set_index("request_id")
    src = b.table("stg_requests").set_index("request_id")
    lng, lat = geo_rows.loc["swapped-axes-in-grid", ["lng", "lat"]]
    assert (lng, lat) == (
        src.loc["swapped-axes-in-grid", "lat_src"],
        src.loc["swapped-axes-in-grid", "lng_src"],
    )
    assert 114 < lng < 115 and 22 < lat < 23


def test_a_point_on_a_shared_edge_goes_to_the_smaller_grid_id_by_exact_test(build):
    g = build("rows").table("int_request_geo").set_index("request_id")
    assert g.loc["low-precision-on-shared-edge", ["grid_id", "geo_status"]].tolist() == [
        "D1S2C1G1",
        "exact",
    ]


@pytest.mark.parametrize(
    ("source", "request_id"),
    [
        ("rows", "multiline-text-1"),
        ("rows", "active-content-hyperlink"),
        ("rows", "utf8-bom-1"),
        ("gbk_gcj02", "gb18030-rare-1"),
        ("gbk_gcj02", "gb18030-rare-2"),
        ("gbk_gcj02", "gbk-gcj02-001"),
        ("utf16", "utf16-2"),
    ],
)
def test_text_arrives_exactly_as_written_in_any_declared_encoding(build, source, request_id):
    b = build(source)
    r = b.table("stg_requests").set_index("request_id").loc[request_id]
    file = b.root / b.key(r["source_file"])
    text = file.read_bytes().decode(CODECS[b.encoding("requests")])
    delimiter = "\t" if file.suffix == ".txt" else ","
    rows = list(csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter))
    want = rows[r["source_row"]]
    assert want["工单编号"] == request_id
    assert r["description"] == want["诉求内容"]
    assert r["address"] == want["诉求地址"]


@pytest.mark.parametrize(
    ("source", "file", "problem"),
    [
        ("rows", "requests/gbk_declared_utf8.csv", "not valid utf-8 at byte "),
        ("gbk_gcj02", "requests/not_gbk.csv", "not valid gb18030 at byte "),
        ("utf16", "requests/truncated.txt", "truncated utf-16 sequence at the end"),
    ],
)
def test_an_undecodable_file_is_quarantined_whole_saying_where_it_broke(
    build, source, file, problem
):
    b = build(source)
    path = str(b.root / file)
    whole = b.quarantine("requests").set_index("source_file").loc[path]
    assert whole["source_row"] == -1
    assert problem in json.loads(whole["raw"])["error"]
    assert problem in b.manifest["inputs"]["requests"]["files_quarantined"][path]
    # the other files of the same table were still read
    assert b.manifest["inputs"]["requests"]["accepted"] > 0


def test_the_bow_tie_grid_is_repaired_into_its_two_triangles_and_counted(build):
    b = build("boundaries")
    stats = b.manifest["inputs"]["boundaries"]["grid"]
    assert stats["repaired"] == 1
    units = gpd.read_parquet(catalog.path(b.settings, "stg_units")).set_index("unit_id")
    bowtie = units.loc["D2S1C1G2", "geometry"]
    assert bowtie.is_valid and bowtie.geom_type == "MultiPolygon" and len(bowtie.geoms) == 2
    rect = shapely.box(114.06, 22.53, 114.08, 22.54)
    assert bowtie.area == pytest.approx(rect.area / 2, rel=1e-9)
    assert bowtie.within(rect.buffer(1e-9))
    assert build("rows").manifest["inputs"]["boundaries"]["grid"]["repaired"] == 0


def test_a_t_junction_between_grids_is_counted_and_cleaned(build):
    # boundaries/grid.geojson draws rectangles without the neighbours' corners: D2S2C2G1's west
    # edge lacks the vertex its two neighbours share, so those three grids have invalid edges.
    bad = build("boundaries").manifest["inputs"]["boundaries"]["grid"]
    clean = build("rows").manifest["inputs"]["boundaries"]["grid"]
    assert (bad["invalid_edges_in_source"], bad["invalid_edges"]) == (3, 0)
    assert (clean["invalid_edges_in_source"], clean["invalid_edges"]) == (0, 0)


def test_each_quarantined_boundary_unit_keeps_its_own_raw_values(build):
    b = build("boundaries")
    q = b.quarantine("boundary_grid")
    features = read_features(b.root / "boundaries/grid.geojson")
    for row in q.itertuples():
        raw = json.loads(row.raw)
        assert isinstance(raw, dict)
        assert raw["code"] == features[row.source_row]["properties"]["code"]


def test_gbk_csv_with_gcj02_points_lands_every_point_in_its_community(build):
    b = build("gbk_gcj02")
    expected = pd.read_csv(b.root / GCJ_POINTS, encoding="gb18030", dtype=str)
    assert len(expected) == 200
    units = b.table("stg_units")
    parent = dict(zip(units["unit_id"], units["parent_id"], strict=True))
    located = b.table("int_request_geo").set_index("request_id")
    got = located.loc[expected["工单编号"]]
    assert got["grid_id"].notna().all(), got.loc[got["grid_id"].isna()]
    community = got["grid_id"].map(parent).to_numpy()
    wrong = expected.loc[community != expected["预期社区编码"].to_numpy(), "工单编号"]
    assert wrong.tolist() == []
    assert b.manifest["inputs"]["requests"]["quarantined"] == {}


def test_the_gcj02_points_would_miss_their_community_without_the_datum_conversion(build):
    # The acceptance test above has teeth: read as WGS-84 (no conversion), many points
    # land ~600 m away: 45 % of them in another community or none.
    b = build("gbk_gcj02")
    expected = pd.read_csv(b.root / GCJ_POINTS, encoding="gb18030", dtype=str)
    units = gpd.read_parquet(catalog.path(b.settings, "stg_units"))
    comms = units.loc[units["level"] == "community"].reset_index(drop=True)
    pts = shapely.points(expected["经度"].astype(float), expected["纬度"].astype(float))
    hit = np.full(len(pts), None, dtype=object)
    i_pt, i_comm = shapely.STRtree(comms.geometry.values).query(pts, predicate="within")
    hit[i_pt] = comms["unit_id"].to_numpy()[i_comm]
    wrong = (hit != expected["预期社区编码"].to_numpy()).mean()
    assert wrong > 0.2


#: The four versions of ``status_la`` records updated between two exports (newer: closed,
#: with new text; older: open, the first text), in both file orders, in one file and across two.
UPDATED = (
    "update-newer-last-1",
    "update-newer-first-1",
    "update-stale-copy-in-later-file-1",
    "update-newer-in-later-file-1",
)


def test_a_genuine_update_replaces_the_record_and_the_older_version_is_kept_as_history(build):
    b = build("status_la")
    r = b.table("stg_requests").set_index("request_id")
    for rid in UPDATED:
        got = r.loc[rid, ["description", "status_raw", "closed_at_raw", "updated_local"]]
        want = [
            "路灯不亮（已修复）",
            "Closed",
            "2026-03-02 10:00:00",
            pd.Timestamp("2026-03-02 10:00"),
        ]
        assert got.tolist() == want, rid
    # no update time, or the same one, to order two versions: the first copy wins
    for rid in ("update-no-update-time-1", "update-same-update-time-1"):
        assert r.loc[rid, ["description", "status_raw"]].tolist() == ["路灯不亮", "Open"], rid
    q = b.quarantine("requests")
    older = [json.loads(raw) for raw in q.loc[q["reason"] == "SUPERSEDED", "raw"]]
    assert sorted(
        (o["request_id"], o["description"], o["status"], o["updated_at"]) for o in older
    ) == (sorted((rid, "路灯不亮", "Open", "2026-03-01 09:00:00") for rid in UPDATED))
    # the lifecycle follows the version that won: closed at its close time
    e = b.table("stg_request_events").set_index("request_id")
    for rid in UPDATED:
        assert e.loc[rid, ["event", "ts_local"]].tolist() == [
            "closed",
            pd.Timestamp("2026-03-02 10:00"),
        ], rid


def test_a_source_without_an_event_log_derives_exactly_one_event_per_accepted_request(build):
    b = build("status_la")
    m = b.manifest["inputs"]
    derived = m["request_events"]
    requests = b.table("stg_requests")
    events = b.table("stg_request_events")
    q = b.quarantine("request_events")
    assert derived["derived_from"] == "requests.status"
    assert derived["rows_in"] == m["requests"]["accepted"] == len(requests)
    assert derived["rows_in"] == derived["accepted"] + sum(derived["quarantined"].values())
    assert len(events) == derived["accepted"]
    assert dict(Counter(q["reason"])) == derived["quarantined"]
    # every accepted request once, in staging or in quarantine, with its own file and row
    seen = Counter(
        zip(events["request_id"], events["source_file"], events["source_row"], strict=True)
    )
    seen.update(
        (json.loads(raw)["request_id"], file, row)
        for raw, file, row in zip(q["raw"], q["source_file"], q["source_row"], strict=True)
    )
    assert seen == Counter(
        zip(requests["request_id"], requests["source_file"], requests["source_row"], strict=True)
    )
    assert derived["flagged"] == {
        "time_order": 1,
        "unknown_level": 0,
        "dst_nonexistent": 2,
        "dst_ambiguous": 4,
    }


def test_each_status_gives_its_event_at_the_close_or_creation_time(build):
    b = build("status_la")
    e = b.table("stg_request_events").set_index("request_id")
    created, closed = pd.Timestamp("2026-03-01 08:00"), pd.Timestamp("2026-03-02 10:00")
    want = {
        "status-closed-1": ("closed", closed, closed),
        "status-cancelled-1": ("closed", pd.Timestamp("2026-03-01 12:00"), None),
        "status-open-1": ("reported", created, None),
        "status-pending-1": ("reported", created, None),
        "status-open-with-close-time-1": ("reported", created, None),
        "status-padded-1": ("closed", closed, None),
        # stamped before its request was created: kept at the creation time, flagged
        "status-closed-before-created-1": ("closed", created, pd.Timestamp("2026-03-01 00:00")),
    }
    for rid, (event, ts_local, ts_src) in want.items():
        row = e.loc[rid]
        assert (row["event"], row["ts_local"]) == (event, ts_local), rid
        assert row["ts_src"] == (ts_src if ts_src is not None else ts_local), rid
        assert bool(row["flag_time_order"]) == (rid == "status-closed-before-created-1"), rid
    r = b.table("stg_requests").set_index("request_id")
    late = "status-closed-before-created-1"
    assert e.loc[late, "ts_utc"] == r.loc[late, "created_utc"] == pd.Timestamp("2026-03-01 16:00")
    # an unknown status keeps its request: only the event is quarantined
    assert {"status-unknown-1", "status-empty-1"} <= set(r.index) - set(e.index)


#: created_utc of the status_la DST rows (America/Los_Angeles: PST = UTC-8, PDT = UTC-7) and
#: what is odd about the local time.
DST_UTC = {
    "dst-winter-noon": ("2026-01-15 20:00:00", None),
    "dst-spring-last-second-before-gap": ("2026-03-08 09:59:59", None),
    # 02:00-02:59 does not exist on 8 March: moved forward by the gap (02:30 is 03:30 PDT)
    "dst-spring-gap-start": ("2026-03-08 10:00:00", "nonexistent"),
    "dst-spring-nonexistent": ("2026-03-08 10:30:00", "nonexistent"),
    "dst-spring-after-gap": ("2026-03-08 10:00:00", None),
    "dst-summer-noon": ("2026-07-15 19:00:00", None),
    "dst-fall-last-second-before-repeat": ("2026-11-01 07:59:59", None),
    # 01:00-01:59 happens twice on 1 November: the earlier (daylight, PDT) instant
    "dst-fall-ambiguous-start": ("2026-11-01 08:00:00", "ambiguous"),
    "dst-fall-ambiguous": ("2026-11-01 08:30:00", "ambiguous"),
    "dst-fall-ambiguous-last-second": ("2026-11-01 08:59:59", "ambiguous"),
    "dst-fall-after-repeat": ("2026-11-01 10:00:00", None),
    "dst-closed-in-repeated-hour": ("2026-11-01 07:30:00", None),
}


def test_local_times_convert_to_utc_with_the_offset_in_force_on_both_sides_of_each_change(build):
    b = build("status_la")
    r = b.table("stg_requests").set_index("request_id").loc[list(DST_UTC)]
    got = {
        rid: (str(row["created_utc"]), None if pd.isna(row["dst_issue"]) else row["dst_issue"])
        for rid, row in r.iterrows()
    }
    assert got == DST_UTC
    assert b.manifest["inputs"]["requests"]["flagged"] == {
        "unknown_channel": 0,
        "active_content": 0,
        "unknown_event_type": 0,
        "dst_nonexistent": 2,
        "dst_ambiguous": 3,
        "centroid_fallback": 0,
    }
    # derived events convert alike: "reported" at the creation time, "closed" at the close
    e = b.table("stg_request_events").set_index("request_id")
    for rid, (utc, _) in DST_UTC.items():
        if rid != "dst-closed-in-repeated-hour":
            assert str(e.loc[rid, "ts_utc"]) == utc, rid
    closed = e.loc["dst-closed-in-repeated-hour"]
    assert (str(closed["ts_utc"]), closed["dst_issue"]) == ("2026-11-01 08:15:00", "ambiguous")


def equal_area_km2(geom: shapely.Geometry) -> float:
    """Area of a WGS-84 geometry in km², in an equal-area projection."""
    return float(gpd.GeoSeries([geom], crs="EPSG:4326").to_crs("EPSG:6933").area.iloc[0] / 1e6)


def test_an_overlap_and_a_gap_between_grids_are_measured_and_reported_with_their_units(build):
    b = build("overlaps")
    stats = b.manifest["inputs"]["boundaries"]
    overlap, gap = shapely.box(*OVERLAP_RECT), shapely.box(*GAP_RECT)
    grid = stats["grid"]
    assert grid["overlap_pairs"] == 1
    # km² from degrees² at the level's mean latitude: within 2 % of the true area
    assert grid["overlap_km2"] == pytest.approx(equal_area_km2(overlap), rel=0.02)
    assert grid["gap_km2"] > 0
    assert grid["gap_km2"] == pytest.approx(equal_area_km2(gap), rel=0.02)
    for level in LEVELS[:-1]:
        st = stats[level]
        assert (st["overlap_pairs"], st["overlap_km2"], st["gap_km2"]) == (0, 0.0, 0.0), level
    issues = pd.read_parquet(catalog.path(b.settings, "boundary_issues"))
    assert set(issues["level"]) == {"grid"}
    found = issues.loc[issues["kind"] == "overlap"]
    assert len(found) == 1
    row = found.iloc[0]
    assert {row["unit_id"], row["other_unit_id"]} == {"D1S1C1G1", OVERLAP_WINNER}
    piece = shapely.from_wkt(row["wkt"])
    assert piece.area == pytest.approx(overlap.area, rel=0.01)
    assert piece.symmetric_difference(overlap).area < 0.01 * overlap.area  # and in its place
    holes = issues.loc[issues["kind"] == "gap", "wkt"].map(shapely.from_wkt).tolist()
    assert len(holes) == 1
    assert holes[0].symmetric_difference(gap).area < 0.01 * gap.area
    # a real overlap (1 % of the level) is kept as drawn, not cleaned away
    units = gpd.read_parquet(catalog.path(b.settings, "stg_units")).set_index("unit_id")
    both = units.loc["D1S1C1G1", "geometry"].intersection(units.loc[OVERLAP_WINNER, "geometry"])
    assert both.area == pytest.approx(overlap.area, rel=1e-9)
    assert units.loc["D1S1C1G1", "area_km2"] > units.loc[OVERLAP_WINNER, "area_km2"]


def test_the_gap_points_lie_as_far_from_the_grids_as_their_outcome_says(build):
    # The overlaps case has teeth only if its gap points are where their labels say.
    b = build("overlaps")
    units = gpd.read_parquet(catalog.path(b.settings, "stg_units"))
    grids = units.loc[units["level"] == "grid"].reset_index(drop=True)
    r = b.table("stg_requests").set_index("request_id")
    snap_deg = b.spec["boundaries"]["snap_m"] / M_PER_DEG
    for rid in r.index[r.index.str.startswith("gap-")]:
        point = shapely.Point(r.loc[rid, "lng_src"], r.loc[rid, "lat_src"])
        assert shapely.within(point, shapely.box(*GAP_RECT)), rid
        dist = shapely.distance(point, np.asarray(grids.geometry.values))
        nearest = grids.loc[int(np.argmin(dist)), "unit_id"]
        if rid.endswith("-is-snapped"):
            assert dist.min() < snap_deg and (dist < snap_deg).sum() == 1, rid
            assert b.table("int_request_geo").set_index("request_id").loc[rid, "grid_id"] == (
                nearest
            ), rid
        else:
            assert dist.min() > snap_deg, rid


def test_a_unit_drawn_wholly_inside_another_is_reported_as_an_overlap_and_kept(tmp_path):
    settings = Settings.from_env(
        environ={},
        data_dir=tmp_path,
        source=FIXTURES / "nested" / "source.toml",
        memory_limit="1GB",
    )
    run_all(settings, until="ingest")
    manifest = json.loads(catalog.path(settings, "ingest_manifest").read_text(encoding="utf-8"))
    inner = shapely.box(*NESTED_INNER_RECT)
    units = gpd.read_parquet(catalog.path(settings, "stg_units")).set_index("unit_id")
    issues = pd.read_parquet(catalog.path(settings, "boundary_issues"))
    found = issues.loc[issues["kind"] == "overlap"]
    got = {
        "overlap_pairs": manifest["inputs"]["boundaries"]["grid"]["overlap_pairs"],
        "overlap_ids": [{r.unit_id, r.other_unit_id} for r in found.itertuples()],
        "inner_area": units.loc["D2S1C1G2", "geometry"].area,
    }
    assert got == {
        "overlap_pairs": 1,
        "overlap_ids": [{"D2S1C1G1", "D2S1C1G2"}],
        "inner_area": pytest.approx(inner.area, rel=1e-9),
    }
    assert shapely.from_wkt(found.iloc[0]["wkt"]).symmetric_difference(inner).area < (
        0.01 * inner.area
    )
    assert manifest["inputs"]["boundaries"]["grid"]["overlap_km2"] == pytest.approx(
        equal_area_km2(inner), rel=0.02
    )


def sorted_frame(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    return frame.sort_values(keys).reset_index(drop=True)


#: Staged tables compared between builds, and the columns that identify a row.
RESTAGED = {
    "stg_requests": ["source_file", "source_row"],
    "stg_request_events": ["source_file", "source_row", "request_id"],
    "quarantine": ["dataset", "source_file", "source_row", "reason"],
}


@pytest.mark.parametrize("source", SOURCES)
def test_ingesting_the_same_batch_again_gives_identical_staged_tables(build, tmp_path, source):
    first = build(source)
    again = Build(source, tmp_path / "again")
    for name, keys in RESTAGED.items():
        pd.testing.assert_frame_equal(
            sorted_frame(first.table(name), keys), sorted_frame(again.table(name), keys), obj=name
        )
    assert again.manifest == first.manifest


@pytest.mark.parametrize(
    ("source", "file", "copy"),
    [
        pytest.param(
            "rows", "requests/clean.csv", "requests/clean_resent.csv", id="copy_read_after"
        ),
        pytest.param(
            "rows", "requests/clean.csv", "requests/0_resent_clean.csv", id="copy_read_before"
        ),
        pytest.param(
            "status_la",
            "requests/status_lifecycle.csv",
            "requests/status_lifecycle_resent.csv",
            id="status_lifecycle_copy_read_after",
        ),
    ],
)
def test_a_requests_file_sent_again_under_another_name_changes_no_staged_record(
    build, tmp_path, source, file, copy
):
    fixtures = tmp_path / "bad_inputs"
    shutil.copytree(FIXTURES, fixtures)
    shutil.copyfile(fixtures / source / file, fixtures / source / copy)
    first, again = build(source), Build(source, tmp_path / "data", fixtures)
    n = count_rows(FIXTURES / source / file, "utf-8")
    assert n
    later = max(file, copy)  # the copy read second (files in path order) is the no-op
    provenance = [] if later == copy else ["source_file", "source_row"]
    for name in ("stg_requests", "stg_request_events"):
        before, after = first.table(name).copy(), again.table(name).copy()
        for frame, b in ((before, first), (after, again)):
            frame["source_file"] = frame["source_file"].map(b.key)
        keys = ["request_id", *RESTAGED[name]]
        pd.testing.assert_frame_equal(
            sorted_frame(before, keys).drop(columns=provenance),
            sorted_frame(after, keys).drop(columns=provenance),
            obj=name,
        )
    # the only new quarantine rows: every row of the file read second, DUPLICATE_ROW
    q_before, q_after = first.table("quarantine"), again.table("quarantine")
    rows_before = Counter(
        (d, first.key(f), r, reason)
        for d, f, r, reason in q_before[RESTAGED["quarantine"]].itertuples(index=False)
    )
    rows_after = Counter(
        (d, again.key(f), r, reason)
        for d, f, r, reason in q_after[RESTAGED["quarantine"]].itertuples(index=False)
    )
    assert rows_after - rows_before == Counter(
        ("requests", later, i, "DUPLICATE_ROW") for i in range(n)
    )
    assert rows_before - rows_after == Counter()
    m_before, m_after = first.manifest["inputs"]["requests"], again.manifest["inputs"]["requests"]
    assert m_after["rows_in"] == m_before["rows_in"] + n
    assert m_after["accepted"] == m_before["accepted"]


def test_the_committed_fixtures_are_what_the_seeded_script_writes(tmp_path):
    spec = importlib.util.spec_from_file_location("make_bad_input_fixtures", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    written = module.write_fixtures(tmp_path / "bad_inputs")
    fresh = {p.relative_to(tmp_path / "bad_inputs").as_posix(): p.read_bytes() for p in written}
    committed = {
        p.relative_to(FIXTURES).as_posix(): p.read_bytes()
        for p in sorted(FIXTURES.rglob("*"))
        if p.is_file()
    }
    assert sorted(fresh) == sorted(committed)
    assert [k for k in fresh if fresh[k] != committed[k]] == []
    assert sum(len(v) for v in committed.values()) < 200_000  # tiny, as fixtures should be


def test_a_unit_reaching_out_of_its_parent_is_kept_and_reported_outside_parent(build):
    b = build("repairs")
    grid = b.manifest["inputs"]["boundaries"]["grid"]
    assert grid["not_nested"] == 1
    assert grid["quarantined_reasons"] == {"REPAIR_CHANGED_AREA": 1}
    issues = b.table("boundary_issues")
    out = issues.loc[issues["kind"] == "outside_parent"]
    assert out[["unit_id", "other_unit_id"]].values.tolist() == [["D2S2C1G2", "D2S2C1"]]
    x0, _, x1, y1 = STRAYING_RECT
    drawn = shapely.box(x0, y1, x1, y1 + 0.004)
    assert shapely.from_wkt(out.iloc[0]["wkt"]).symmetric_difference(drawn).area < (
        0.01 * drawn.area
    )
