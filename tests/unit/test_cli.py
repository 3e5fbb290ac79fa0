"""The command line: clear errors, reuse of what is built."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from pipelines.cli import app

runner = CliRunner()


def test_serve_without_a_warehouse_says_to_build_first(tmp_path):
    result = runner.invoke(app, ["serve", "--data-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "yiwang build" in result.output


def test_demo_refuses_an_impossible_size(tmp_path):
    result = runner.invoke(app, ["demo", "--data-dir", str(tmp_path), "--requests", "0"])
    assert result.exit_code != 0
    assert "between 1 and 50,000,000" in str(result.exception)


def test_demo_if_missing_reuses_a_demo_of_the_same_size_and_seed(tmp_path):
    truth = tmp_path / "01_raw" / "demo" / "ground_truth.json"
    truth.parent.mkdir(parents=True)
    truth.write_text(json.dumps({"requests": 500, "seed": 12345, "end_day": "2026-10-31"}))
    result = runner.invoke(
        app, ["demo", "--data-dir", str(tmp_path), "--requests", "500", "--if-missing"]
    )
    assert result.exit_code == 0
    assert "reusing it" in result.output


def test_build_rejects_an_unknown_stage(tmp_path):
    result = runner.invoke(app, ["build", "--data-dir", str(tmp_path), "--until", "deploy"])
    assert result.exit_code != 0
    assert "unknown stage" in str(result.exception)
