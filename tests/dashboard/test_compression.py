"""Answers are gzipped at the app's level (fast), and decompress to the same JSON."""

from __future__ import annotations

import gzip
import json

from dashboard import app as app_module


def test_answers_are_gzipped_at_the_apps_level(app, client):
    assert app.server.config["COMPRESS_LEVEL"] == app_module.COMPRESS_LEVEL
    response = client.get("/_dash-dependencies", headers={"Accept-Encoding": "gzip"})
    assert response.headers.get("Content-Encoding") == "gzip"
    plain = client.get("/_dash-dependencies", headers={"Accept-Encoding": "identity"})
    assert json.loads(gzip.decompress(response.get_data())) == plain.get_json()
