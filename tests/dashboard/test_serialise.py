"""Dash's answers are encoded by dashboard/serialise.py: the same bytes as plotly's encoder."""

from __future__ import annotations

import datetime as dt
import decimal

import dash._callback
import numpy as np
import pandas as pd
from plotly.io.json import to_json_plotly

from dashboard import serialise


def test_pages_encode_to_the_bytes_plotly_writes(app, units, layout_of):
    pages = [
        layout_of("city", period="last30"),
        layout_of("district", unit_id=units["district"].unit_id, view="sla"),
        layout_of("street", unit_id=units["street"].unit_id, view="worry", lang="en"),
        layout_of("community", unit_id=units["community"].unit_id, view="backlog"),
    ]
    for page in pages:
        assert serialise.to_json(page) == to_json_plotly(page, engine="orjson")


def test_values_orjson_does_not_know_are_cleaned_as_plotly_cleans_them():
    value = {
        "ints": np.arange(5),
        "floats": np.array([1.5, np.nan]),
        "objects": np.array(["a", None], dtype=object),
        "series": pd.Series([1, 2]),
        "when": pd.Timestamp("2026-10-31 12:00"),
        "day": dt.date(2026, 10, 31),
        "missing": [pd.NA, pd.NaT, float("nan")],
        "money": decimal.Decimal("1.25"),
        "unsafe": "</script><b>\u2028",
        "keys": {1: "one", 2.5: "two"},
    }
    assert serialise.to_json(value) == to_json_plotly(value, engine="orjson")


def test_dash_answers_go_through_the_fast_encoder(app):
    assert dash._callback.to_json is serialise.to_json
