"""The app shell over HTTP (Flask test client): layout, callbacks, offline assets."""

from __future__ import annotations

import json
import re

from dashboard import ids


def test_layout_endpoint_serves_the_shell_with_the_url(client):
    response = client.get("/_dash-layout")
    assert response.status_code == 200
    assert f'"id": "{ids.URL}"' in response.get_data(as_text=True).replace('"id":"', '"id": "')


def test_dependencies_wire_period_language_map_and_ranking_controls_to_the_url(client):
    response = client.get("/_dash-dependencies")
    assert response.status_code == 200
    deps = json.loads(response.get_data(as_text=True))
    inputs_to_url = {
        i["id"] for d in deps if d["output"].startswith(f"{ids.URL}.href") for i in d["inputs"]
    }
    assert inputs_to_url == {ids.PERIOD, ids.LANG, ids.MAP, ids.RANK_METRIC, ids.RANK_SNAPSHOT}
    assert all(d["prevent_initial_call"] for d in deps if d["output"].startswith(ids.URL))


def test_index_page_loads_scripts_and_styles_only_from_this_server(client):
    response = client.get("/district/440303?lang=en")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    urls = re.findall(r'(?:src|href)="([^"]*)"', html)
    assert urls and all(u.startswith("/") and not u.startswith("//") for u in urls)
    assert 'lang="zh-CN"' in html


def test_stylesheet_is_served_from_the_package(client):
    response = client.get("/assets/cockpit.css")
    assert response.status_code == 200
    assert b"yw-cockpit" in response.data


def test_responses_are_gzip_compressed(client):
    response = client.get("/_dash-dependencies", headers={"Accept-Encoding": "gzip"})
    assert response.headers.get("Content-Encoding") == "gzip"
