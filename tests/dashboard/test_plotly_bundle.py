"""The cockpit's partial plotly.js bundle: the right version, served gzipped to the signed in."""

from __future__ import annotations

import gzip
import re

import pytest
from flask import Flask
from plotly.offline import get_plotlyjs_version

from dashboard import plotly_bundle


@pytest.fixture(autouse=True)
def _bundle_built() -> None:
    assert plotly_bundle.BUNDLE.is_file(), (
        "no partial plotly.js bundle: `make test` builds it with node and npm "
        "(dashboard/vendor/build-plotly.sh)"
    )


def test_without_the_bundle_the_app_leaves_plotly_js_to_dash(tmp_path, monkeypatch):
    monkeypatch.setattr(plotly_bundle, "BUNDLE", tmp_path / "absent.js")
    server = Flask(__name__)
    plotly_bundle.install(server)
    assert plotly_bundle.ENDPOINT not in server.view_functions


def test_the_bundle_is_the_plotly_js_of_the_python_package():
    # figures are built against the python package's schema: the browser's must match
    head = plotly_bundle.BUNDLE.read_text(encoding="utf-8")[:200]
    found = re.search(r"plotly\.js v(\d+\.\d+\.\d+) partial bundle", head)
    assert found is not None
    assert found.group(1) == get_plotlyjs_version()


def test_graphs_load_the_bundle_gzipped_from_where_dash_looks(client):
    response = client.get(plotly_bundle.URL, headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "gzip"
    assert response.mimetype == "application/javascript"
    assert "no-store" not in response.headers.get("Cache-Control", "")
    body = gzip.decompress(response.get_data())
    assert body == plotly_bundle.BUNDLE.read_bytes()


def test_a_client_without_gzip_gets_the_plain_bundle(client):
    response = client.get(plotly_bundle.URL, headers={"Accept-Encoding": "identity"})
    assert response.status_code == 200
    assert "Content-Encoding" not in response.headers
    assert response.get_data() == plotly_bundle.BUNDLE.read_bytes()


def test_the_bundle_is_behind_the_sign_in_like_every_script(app):
    assert app.server.test_client().get(plotly_bundle.URL).status_code == 401


def test_cockpit_pages_preload_the_bundle(client, units):
    for path in ("/", f"/district/{units['district'].unit_id}", "/grid/x?view=overview", "/wall"):
        page = client.get(path, headers={"Accept": "text/html"}).get_data(as_text=True)
        assert f'<link rel="preload" href="{plotly_bundle.URL}" as="script">' in page, path
        assert plotly_bundle.MARKER not in page


def test_the_grid_chiefs_phone_view_does_not_preload_plotly(client, units):
    page = client.get(f"/grid/{units['community'].unit_id}", headers={"Accept": "text/html"})
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert plotly_bundle.URL not in text
    assert plotly_bundle.MARKER not in text
