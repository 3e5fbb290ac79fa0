"""City components in the small built city: request links, component health, spec rules.

The link is checked against a brute-force nearest neighbour in numpy (every request of a
component matter against every component of its kinds); the health marts are recomputed
with pandas from the request facts, the alarms and the register, not from the marts.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipelines import catalog, component_rules
from pipelines.component_rules import ComponentRules
from pipelines.settings import Settings
from pipelines.sources.spec import SpecError, load_spec

PROJECT = Path(__file__).resolve().parents[2]
EARTH_M = 6371008.8


def haversine_m(lng1, lat1, lng2, lat2):
    """Great-circle metres on the mean Earth sphere."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    a = (
        np.sin((p2 - p1) / 2) ** 2
        + np.cos(p1) * np.cos(p2) * np.sin(np.radians(lng2 - lng1) / 2) ** 2
    )
    return 2 * EARTH_M * np.arcsin(np.sqrt(a))


@pytest.fixture(scope="module")
def facts(warehouse) -> pd.DataFrame:
    return warehouse.execute(
        "SELECT request_id, event_type, created_local, lng, lat, component_id,"
        " linked_component_id, link_method, link_distance_m FROM fact_request"
    ).df()


@pytest.fixture(scope="module")
def register(warehouse) -> pd.DataFrame:
    return warehouse.execute("SELECT * FROM mart_component").df()


@pytest.fixture(scope="module")
def links(built_city: Settings) -> pd.DataFrame:
    """The demo spec's category -> kinds table (the configuration, not the geometry)."""
    categories = pd.read_parquet(catalog.path(built_city, "stg_categories"))
    rules = load_spec(built_city.source_spec).component_rules
    return component_rules.link_table(categories, rules)


def test_every_request_keeps_exactly_one_link_row(warehouse, built_city, facts):
    staged = pd.read_parquet(catalog.path(built_city, "stg_requests"), columns=["request_id"])
    assert facts["request_id"].is_unique
    assert set(facts["request_id"]) == set(staged["request_id"])
    assert set(facts["link_method"]) <= set(component_rules.LINK_METHODS)
    assert facts["link_method"].notna().all()
    linked = facts["link_method"].isin(["sensor", "nearest"])
    assert facts.loc[linked, "linked_component_id"].notna().all()
    assert facts.loc[~linked, "linked_component_id"].isna().all()


def test_sensor_requests_keep_the_component_the_source_named(facts, register):
    named = facts[facts["component_id"].notna()]
    assert len(named) > 0  # the demo's sensor work orders
    assert (named["link_method"] == "sensor").all()
    assert (named["linked_component_id"] == named["component_id"]).all()
    assert set(named["component_id"]) <= set(register["component_id"])
    # a work order sits on its sensor (both points geocoded from the same coordinates)
    assert named["link_distance_m"].dropna().max() < 1.0


def test_nearest_link_equals_brute_force_nearest_within_the_limit(facts, register, links):
    assert not links.empty
    located = register[register["lng"].notna() & register["lat"].notna()]
    wanted = facts[
        facts["component_id"].isna() & facts["event_type"].isin(set(links["code"]))
    ].reset_index(drop=True)
    assert len(wanted) > 100
    by_kind = dict(list(located.groupby("kind")))
    rules = dict(list(links.groupby("code")))
    kind_of = located.set_index("component_id")["kind"]
    checked = 0
    for row in wanted.itertuples(index=False):
        best, best_id = np.inf, None
        has_point = np.isfinite(row.lng) and np.isfinite(row.lat)
        for rule in rules[row.event_type].itertuples(index=False):
            comps = by_kind.get(rule.kind)
            if comps is None or not has_point:
                continue
            d = haversine_m(row.lng, row.lat, comps["lng"].to_numpy(), comps["lat"].to_numpy())
            ok = d <= rule.max_distance_m
            if ok.any():
                i = int(np.argmin(np.where(ok, d, np.inf)))
                if d[i] < best:
                    best, best_id = float(d[i]), comps["component_id"].iloc[i]
        if best_id is None:
            assert row.link_method == "unmatched", row
            continue
        assert row.link_method == "nearest", row
        # the same component, or another at the same distance (a tie)
        assert row.link_distance_m == pytest.approx(best, abs=1e-6), (row, best_id)
        assert kind_of[row.linked_component_id] in set(rules[row.event_type]["kind"])
        checked += 1
    assert checked > 20  # enough links to mean something


def test_links_are_never_beyond_their_kinds_limit_nor_to_other_kinds(facts, register, links):
    near = facts[facts["link_method"] == "nearest"].merge(
        register[["component_id", "kind", "lng", "lat"]],
        left_on="linked_component_id",
        right_on="component_id",
        suffixes=("", "_c"),
    )
    assert len(near) == (facts["link_method"] == "nearest").sum()
    allowed = near.merge(links, left_on=["event_type", "kind"], right_on=["code", "kind"])
    assert len(allowed) == len(near)  # every link is to a kind its category names
    assert (allowed["link_distance_m"] <= allowed["max_distance_m"]).all()
    recomputed = haversine_m(allowed["lng"], allowed["lat"], allowed["lng_c"], allowed["lat_c"])
    np.testing.assert_allclose(allowed["link_distance_m"], recomputed, atol=1e-6)


def test_requests_of_other_categories_are_not_linked(facts, links):
    other = facts[facts["component_id"].isna() & ~facts["event_type"].isin(set(links["code"]))]
    assert len(other) > 0
    assert (other["link_method"] == "none").all()


# --- health, recomputed independently ------------------------------------------------------


@pytest.fixture(scope="module")
def failures(warehouse, facts) -> pd.DataFrame:
    """Complaints linked by distance and alarms, with the repeat flag computed in pandas."""
    complaints = facts.loc[facts["link_method"] == "nearest", ["linked_component_id"]].assign(
        ts=facts["created_local"], source="complaint"
    )
    complaints = complaints.rename(columns={"linked_component_id": "component_id"})
    alarms = warehouse.execute(
        "SELECT component_id, ts_local AS ts, alarm_type FROM fact_component_alarm"
    ).df()
    out = pd.concat([complaints, alarms.assign(source="alarm")], ignore_index=True)
    out = out.sort_values(["component_id", "ts"]).reset_index(drop=True)
    gap = out.groupby("component_id")["ts"].diff()
    out["repeat"] = gap.notna() & (gap <= pd.Timedelta(days=30))
    return out


def _members(warehouse, unit_id: str, level: str) -> set[str]:
    if level == "city":
        return set(
            warehouse.execute("SELECT component_id FROM mart_component").df()["component_id"]
        )
    return set(
        warehouse.execute(
            "SELECT p.component_id FROM fact_component_place AS p JOIN dim_unit_lineage AS l"
            " ON l.hierarchy = p.hierarchy AND l.leaf_id = p.leaf_id WHERE l.unit_id = $u",
            {"u": unit_id},
        ).df()["component_id"]
    )


def _sample_units(warehouse) -> list[tuple[str, str]]:
    rows = warehouse.execute(
        "SELECT unit_id, level FROM dim_unit WHERE level IN ('city', 'district', 'street')"
        " ORDER BY level = 'city' DESC, level, unit_id"
    ).fetchall()
    district = next(r for r in rows if r[1] == "district")
    street = next(r for r in rows if r[1] == "street")
    return [rows[0], district, street]


@pytest.mark.parametrize("period_id", ["last30", "last365"])
def test_health_counts_match_a_recount_from_facts_and_alarms(
    warehouse, register, failures, period_id
):
    period = warehouse.execute(
        "SELECT start_local, least(end_local, as_of) AS end_local FROM dim_period"
        " WHERE period_id = $p",
        {"p": period_id},
    ).fetchone()
    start, end = pd.Timestamp(period[0]), pd.Timestamp(period[1])
    in_period = failures[(failures["ts"] >= start) & (failures["ts"] < end)]
    recent_alarm = failures[
        (failures["source"] == "alarm")
        & (failures["ts"] >= end - pd.Timedelta(days=7))
        & (failures["ts"] < end)
    ]
    for unit_id, level in _sample_units(warehouse):
        members = _members(warehouse, unit_id, level)
        mart = warehouse.execute(
            "SELECT * FROM mart_component_health WHERE unit_id = $u AND period_id = $p",
            {"u": unit_id, "p": period_id},
        ).df()
        comps = register[register["component_id"].isin(members)]
        events = in_period[in_period["component_id"].isin(members)].merge(
            comps[["component_id", "kind"]], on="component_id"
        )
        for kind, want in comps.groupby("kind"):
            got = mart[mart["kind"] == kind].iloc[0]
            ev = events[events["kind"] == kind]
            assert got["components"] == len(want)
            assert got["abnormal"] == want["status_class"].isin(component_rules.ABNORMAL).sum()
            assert got["complaints"] == (ev["source"] == "complaint").sum()
            assert got["alarms"] == (ev["source"] == "alarm").sum()
            assert got["failures"] == len(ev)
            assert got["failed_components"] == ev["component_id"].nunique()
            assert got["repeat_components"] == ev.loc[ev["repeat"], "component_id"].nunique()
            alarming = recent_alarm["component_id"].isin(set(want["component_id"]))
            assert got["alarming"] == recent_alarm.loc[alarming, "component_id"].nunique()
        assert len(mart) == comps["kind"].nunique()
    city = warehouse.execute(
        "SELECT sum(alarms), sum(repeat_components) FROM mart_component_health"
        " WHERE level = 'city' AND period_id = $p",
        {"p": period_id},
    ).fetchone()
    assert city[0] > 0 and city[1] > 0  # the demo's chattering sensors repeat


def test_alarms_by_type_add_up_to_the_health_alarms(warehouse):
    diff = warehouse.execute("""
        SELECT h.unit_id, h.period_id, h.kind, h.alarms, coalesce(t.alarms, 0) AS by_type
        FROM mart_component_health AS h
        LEFT JOIN (
            SELECT unit_id, period_id, kind, sum(alarms) AS alarms
            FROM mart_component_alarm_type GROUP BY ALL
        ) AS t USING (unit_id, period_id, kind)
        WHERE h.alarms <> coalesce(t.alarms, 0)
        LIMIT 5
    """).fetchall()
    assert diff == []


def test_component_table_recounts_the_last_30_days_and_last_alarm(warehouse, register, failures):
    as_of = pd.Timestamp(warehouse.execute("SELECT max(as_of) FROM dim_period").fetchone()[0])
    recent = failures[(failures["ts"] >= as_of - pd.Timedelta(days=30)) & (failures["ts"] < as_of)]
    counts = recent.groupby("component_id").size()
    got = register.set_index("component_id")["failures_30d"]
    np.testing.assert_array_equal(got.to_numpy(), counts.reindex(got.index).fillna(0).to_numpy())
    alarms = failures[(failures["source"] == "alarm") & (failures["ts"] < as_of)]
    last = alarms.groupby("component_id")["ts"].max()
    shown = register.set_index("component_id")["last_alarm_at"].dropna()
    assert set(shown.index) == set(last.index)
    assert (shown == last.reindex(shown.index)).all()
    alarming = register.set_index("component_id")["alarming"]
    assert set(alarming[alarming].index) == set(last[last >= as_of - pd.Timedelta(days=7)].index)
    assert set(register["status_class"]) <= set(component_rules.STATUS_CLASSES)


# --- the spec's rules -----------------------------------------------------------------------


def test_most_specific_link_key_wins_and_codes_match():
    categories = pd.DataFrame(
        {
            "code": ["A1", "A2", "B1"],
            "l1_zh": ["市政", "市政", "其他"],
            "l2_zh": ["路灯", "路灯", "其他"],
            "l3_zh": ["灯不亮", "灯杆倾斜", "其他"],
        }
    )
    rules = ComponentRules.from_doc(
        {
            "max_distance_m": 40,
            "link": {
                "路灯": "lamp",
                "灯杆倾斜": {"kinds": ["pole", "lamp"], "max_distance_m": 20},
                "B1": ["bin"],
            },
        }
    )
    table = component_rules.link_table(categories, rules)
    got = {(r.code, r.kind): r.max_distance_m for r in table.itertuples()}
    assert got == {
        ("A1", "lamp"): 40.0,
        ("A2", "pole"): 20.0,
        ("A2", "lamp"): 20.0,
        ("B1", "bin"): 40.0,
    }


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ("[component_rules]\nmax_m = 3\n", "unknown keys"),
        ("[component_rules.statuses]\n'正常' = 'fine'\n", "statuses"),
        ("[component_rules.link]\n'路灯' = {kinds = ['路灯'], max_distance_m = 5000}\n", "max_"),
        ("[component_rules.link]\n'路灯' = []\n", "names no component kind"),
    ],
)
def test_bad_component_rules_fail_with_the_section_named(tmp_path, section, message):
    spec = (PROJECT / "sources" / "la-311" / "source.toml").read_text(encoding="utf-8")
    spec = spec.replace('root = "../../../shared/data/la-311"', f'root = "{tmp_path}"')
    (tmp_path / "source.toml").write_text(spec + "\n" + section, encoding="utf-8")
    with pytest.raises(SpecError, match=r"\[component_rules\].*" + message):
        load_spec(tmp_path / "source.toml")


def test_la_links_no_request_type_to_its_meter_and_count_registers():
    spec = load_spec(PROJECT / "sources" / "la-311" / "source.toml")
    assert spec.component_rules.link == {}
    assert spec.component_rules.kind_names_en["停车咪表传感器"] == "Parking-meter sensor"
