"""Settings: declared once, read from YIWANG_* variables, every one documented."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import pytest

from pipelines.settings import SETTINGS, Settings

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_setting_is_a_field_and_every_field_a_setting():
    assert [s.name for s in SETTINGS] == [f.name for f in fields(Settings)]


def test_declared_defaults_are_the_dataclass_defaults():
    assert Settings.from_env(environ={}) == Settings()


def test_environment_variables_override_defaults_and_are_typed(tmp_path):
    env = {
        "YIWANG_DATA_DIR": str(tmp_path),
        "YIWANG_POINT_RES": "10",
        "YIWANG_MAP_RES": "city=6,district=7,street=8,community=9",
        "YIWANG_PORT": "9000",
    }
    s = Settings.from_env(environ=env)
    assert s.data_dir == tmp_path and s.point_res == 10 and s.port == 9000
    assert dict(s.map_res) == {"city": 6, "district": 7, "street": 8, "community": 9}
    assert s.temp_directory == tmp_path / "tmp"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"YIWANG_MAP_RES": "district=8"}, "lacks the city"),
        ({"YIWANG_MAP_RES": "city=7,district=8,street=9,community=12"}, "finer than point_res"),
        ({"YIWANG_LANGUAGE": "fr"}, "zh or en"),
    ],
)
def test_impossible_settings_fail_with_a_clear_message(env, message):
    with pytest.raises(ValueError, match=message):
        Settings.from_env(environ=env)


def test_every_setting_is_documented_in_the_readme():
    text = README.read_text(encoding="utf-8")
    table = {m.group(1) for m in re.finditer(r"^\| `(YIWANG_[A-Z_]+)` \|", text, re.M)}
    assert table == {f"YIWANG_{s.name.upper()}" for s in SETTINGS}
