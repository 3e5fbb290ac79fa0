"""Number formatting and URL state helpers."""

from __future__ import annotations

import math

import pytest

from dashboard import routes
from dashboard.fmt import fmt_index, fmt_int, fmt_local_time, fmt_pct, fmt_utc_as_local


@pytest.mark.parametrize(
    ("value", "expected"),
    [(1234, "1,234"), (0, "0"), (1_000_000, "1,000,000"), (None, "—"), (math.nan, "—")],
)
def test_counts_get_thousands_separators_and_missing_is_a_dash(value, expected):
    assert fmt_int(value) == expected


def test_shares_are_percentages_with_one_decimal():
    assert fmt_pct(0.9531) == "95.3%"
    assert fmt_pct(1.0) == "100.0%"
    assert fmt_pct(None) == "—"


def test_worry_index_has_one_decimal_and_null_is_a_dash():
    assert fmt_index(80.63) == "80.6"
    assert fmt_index(math.nan) == "—"


def test_build_time_is_shown_in_the_city_time_zone():
    assert fmt_utc_as_local("2026-11-21T23:50:20+00:00", "Asia/Shanghai") == "2026-11-22 07:50"
    assert fmt_local_time("2026-11-01T00:00:00") == "2026-11-01 00:00"


def test_every_level_has_a_page_path_and_odd_level_names_have_none():
    assert routes.page_path("city") == "/"
    assert routes.page_path("district", "440303") == "/district/440303"
    assert routes.page_path("community", "440303001001") == "/community/440303001001"
    assert routes.page_path("grid", "440303001001001") == "/grid/440303001001001"
    assert routes.page_path("nc", "NC 47/x") == "/nc/NC%2047%2Fx"
    assert routes.page_path("../etc", "1") is None
    assert routes.page_path("district", None) is None


def test_links_keep_period_and_language():
    href = routes.href("street", "440303001", period="m2026-09", lang="en")
    assert href == "/street/440303001?period=m2026-09&lang=en"


def test_updating_the_query_keeps_other_state_and_drops_foreign_keys():
    href = routes.update_search("/district/440303", "?period=last7&lang=en&utm=x", lang="zh")
    assert href == "/district/440303?period=last7&lang=zh"
