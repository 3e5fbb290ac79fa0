"""Ingest scans only texts it has not scrubbed before, and stages what a full scan stages."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from pipelines import catalog, db, pii, vault
from pipelines.settings import Settings
from pipelines.stages import ingest

DESCRIPTION = "诉求内容"
REQUEST_ID = "工单编号"


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 300-request demo source (its spec's path)."""
    from pipelines.demo import generate

    out = tmp_path_factory.mktemp("scrub_source") / "demo"
    base = Settings.from_env(environ={})
    generate(out, n_requests=300, seed=base.demo_seed, end=base.demo_end, progress=False)
    return out / "source.toml"


@pytest.fixture
def scans(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many texts each column scan of ingest hands to the scrubber (quarantine aside)."""
    calls: list[int] = []
    real = pii.extract_many

    def counting(texts: list[str], *args: object, **kwargs: object) -> list[pii.Extracted]:
        if kwargs.get("passes") == 1:  # the column scans; the quarantine's runs to the end
            calls.append(len(texts))
        return real(texts, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pii, "extract_many", counting)
    return calls


def _ingest(settings: Settings) -> pd.DataFrame:
    con = db.connect(settings)
    try:
        ingest.run(con, settings)
    finally:
        con.close()
    staged = pd.read_parquet(catalog.path(settings, "stg_requests"))
    return staged.sort_values("request_id").reset_index(drop=True)


def _vault(settings: Settings, ids: pd.Series) -> dict[str, vault.Contact | None]:
    return {str(i): vault.reveal(settings, str(i)) for i in ids}


def test_a_second_ingest_scans_nothing_and_stages_and_seals_the_same(source, tmp_path, scans):
    settings = Settings.from_env(environ={}, data_dir=tmp_path / "data", source=source)
    first = _ingest(settings)
    assert sum(scans) > 0
    scrubbed = first.loc[first["contact_phone_key"].notna(), "request_id"]
    assert len(scrubbed) > 50
    sealed = _vault(settings, scrubbed)

    scans.clear()
    again = _ingest(settings)
    assert scans == []  # every description and address came from the cache
    pd.testing.assert_frame_equal(again, first)
    assert _vault(settings, scrubbed) == sealed
    assert all(c is not None and c.description for c in sealed.values())


def test_a_changed_description_alone_is_scanned_again_and_sealed_anew(source, tmp_path, scans):
    settings = Settings.from_env(environ={}, data_dir=tmp_path / "data", source=source)
    raw_file = source.parent / "requests" / "requests_000.parquet"
    original = pd.read_parquet(raw_file)
    _ingest(settings)
    target = str(original[REQUEST_ID].iloc[7])
    said = "路灯不亮，联系人王建国，电话13912345678"
    changed = original.copy()
    changed.loc[changed[REQUEST_ID] == target, DESCRIPTION] = said
    backup = raw_file.with_suffix(".bak")
    shutil.copyfile(raw_file, backup)
    try:
        changed.to_parquet(raw_file, index=False)
        scans.clear()
        staged = _ingest(settings)
        fresh = Settings.from_env(environ={}, data_dir=tmp_path / "fresh", source=source)
        fresh.security_directory.mkdir(parents=True)
        shutil.copy(settings.security_directory / "secret.key", fresh.security_directory)
        from_nothing = _ingest(fresh)
    finally:
        shutil.move(backup, raw_file)

    assert scans[:1] == [1]  # the one changed description; its address came from the cache
    row = staged.loc[staged["request_id"] == target].iloc[0]
    assert "13912345678" not in row["description"]
    assert row["contact_phone_masked"] == pii.mask_phone("13912345678")
    contact = vault.reveal(settings, target)
    assert contact is not None and contact.description == said
    assert contact.phone == "13912345678"
    pd.testing.assert_frame_equal(staged, from_nothing)
