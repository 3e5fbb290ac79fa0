"""Callbacks as plain functions: every action is a new URL that keeps the rest of the state."""

from __future__ import annotations

from dash import no_update

from dashboard.callbacks import lang_href, map_click_href, period_href


def click(*customdata):
    return {"points": [{"curveNumber": 2, "pointNumber": 0, "customdata": list(customdata)}]}


SHOWN = {"period": "last30", "lang": "zh"}


def test_changing_the_period_rewrites_the_url_and_keeps_the_language():
    href = period_href("m2026-09", SHOWN, "/district/440303", "?period=last30&lang=en")
    assert href == "/district/440303?period=m2026-09&lang=en"


def test_a_freshly_inserted_page_does_not_navigate_by_itself():
    # Dash fires the selectors' callbacks when the router inserts a page; on a bare URL the
    # rendered defaults must not be written back (that used to render the page three times).
    assert period_href("last30", SHOWN, "/", "") is no_update
    assert lang_href("zh", SHOWN, "/", "") is no_update


def test_language_toggle_rewrites_the_url_and_keeps_the_period():
    shown = {"period": "last7", "lang": "zh"}
    assert lang_href("en", shown, "/street/440303001", "?period=last7&lang=zh") == (
        "/street/440303001?period=last7&lang=en"
    )
    assert lang_href("fr", shown, "/", "") is no_update


def test_first_toggle_on_a_bare_url_adds_only_the_language():
    assert lang_href("en", SHOWN, "/", "") == "/?lang=en"


def test_hex_click_opens_the_child_page_with_the_same_query():
    data = click(195, 19, 6, "65.4", "罗湖区", "/district/440303")
    assert map_click_href(data, "?period=last7&lang=en") == "/district/440303?period=last7&lang=en"


def test_label_click_opens_the_child_page():
    assert map_click_href(click("罗湖区", "/district/440303"), "") == "/district/440303"


def test_grid_and_unassigned_cells_do_not_navigate():
    assert map_click_href(click(3, 0, 0, "—", "第1网格", ""), "?lang=zh") is no_update


def test_empty_or_malformed_clicks_do_not_navigate():
    assert map_click_href(None, "") is no_update
    assert map_click_href({"points": []}, "") is no_update
    assert map_click_href({"points": [{"lon": 114.0}]}, "") is no_update
    assert map_click_href(click("https://evil.example/"), "") is no_update
