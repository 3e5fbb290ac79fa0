"""Hotspots and alerts on the cockpits: the ticker and the worry view's markers equal the API."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from dashboard import data, ids, worry_view
from pipelines import api
from pipelines.settings import Settings


@pytest.fixture
def notebook(city_data: Settings) -> Settings:
    api.connect(city_data.data_dir)
    return city_data


def _ticker_ids(page: Any) -> list[str]:
    return [
        str(getattr(node, "data-alert"))
        for node in page._traverse()
        if getattr(node, "data-alert", None) is not None
    ]


def _expected_alerts(level: str, unit_id: str | None) -> list[str]:
    as_of = pd.Timestamp(data.meta().as_of_local)
    since = (as_of - pd.Timedelta(days=30)).date().isoformat()
    frame = api.alerts(level=level, unit_id=unit_id, since=since, series="unit")
    return list(frame["alert_id"].head(12))


def test_every_cockpit_view_carries_the_alert_ticker(layout_of, units, ids_in):
    for view in ("overview", "worry", "sla", "ranking"):
        page = layout_of("street", unit_id=units["street"].unit_id, view=view, lang="zh")
        assert ids.TICKER in ids_in(page), view


def test_the_ticker_lists_the_apis_recent_alerts_of_the_area(layout_of, units, notebook):
    shown_any = 0
    for level, unit in units.items():
        kwargs = {} if level == "city" else {"unit_id": unit.unit_id}
        page = layout_of(level, lang="en", **kwargs)
        shown = _ticker_ids(page)
        assert shown == _expected_alerts(level, None if level == "city" else unit.unit_id)
        shown_any += len(shown)
    # the demo's last month has alerts somewhere (the generator plants spikes all year)
    all_recent = _expected_alerts("city", None)
    assert shown_any > 0 or not all_recent


def test_a_quiet_area_says_so_instead_of_an_empty_strip(layout_of, units, texts_in):
    page = layout_of("community", unit_id=units["community"].unit_id, lang="en")
    text = texts_in(page)
    assert "Early warnings" in text
    if not _ticker_ids(page):
        assert "No early warning in this area in the last 30 days" in text


def test_the_worry_views_markers_are_the_apis_hotspots_and_alerts_of_the_month(units, notebook):
    checked = {"hotspot": 0, "alert": 0}
    for level, unit in units.items():
        for period in ("m2026-03", "m2026-09", "last30"):
            marks = worry_view.month_marks(unit, period, "zh")
            unit_id = None if level == "city" else unit.unit_id
            clusters = api.hotspots(period, level=level, unit_id=unit_id)
            spots = marks.loc[marks["kind"] != "alert"]
            assert len(spots) == len(clusters)
            assert sorted(spots["lng"].round(6)) == sorted(clusters["lng"].round(6))
            emerging = clusters["emerging"].fillna(False).astype(bool)
            assert int((spots["kind"] == "emerging").sum()) == int(emerging.sum())
            p = data.resolve_period(period)
            raised = api.alerts(
                level=level,
                unit_id=unit_id,
                since=p.start.date().isoformat(),
                until=(p.end - pd.Timedelta(days=1)).date().isoformat(),
            )
            raised = raised.loc[~raised["city_wide"].astype(bool)]
            assert int((marks["kind"] == "alert").sum()) == len(raised)
            checked["hotspot"] += len(spots)
            checked["alert"] += len(raised)
    assert checked["hotspot"] > 0


def test_the_api_refuses_unknown_levels_periods_and_series(notebook):
    with pytest.raises(ValueError):
        api.hotspots("last999")
    with pytest.raises(ValueError):
        api.repeat_places("last30", level="planet")
    with pytest.raises(ValueError, match="series"):
        api.alerts(series="galaxy")


def test_a_units_hotspots_and_alerts_are_within_its_parents(units, notebook):
    street, district = units["street"], units["district"]
    for fetch in (
        lambda lv, uid: api.hotspots("last30", level=lv, unit_id=uid)["cluster_id"],
        lambda lv, uid: api.repeat_places("last30", level=lv, unit_id=uid)["place_key"],
        lambda lv, uid: api.alerts(level=lv, unit_id=uid)["alert_id"],
    ):
        inner = set(fetch("street", street.unit_id))
        outer = set(fetch("district", district.unit_id))
        everything = set(fetch("city", None))
        assert inner <= outer <= everything
