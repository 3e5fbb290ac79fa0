"""No mobile number and no valid ID number survives ingest in any stored field (issue 7).

Two angles:

* a property test: a tiny demo source whose descriptions, addresses and quarantined rows
  (missing timestamps, duplicate ids) carry generated mobiles (plain, grouped, +86,
  full-width), landlines, checksum-valid ID numbers and names, through the ingest stage;
  every text value of every staged file must be clean, the vault's bytes must not hold the
  plain text, and the vault must give the originals back;
* the session's small demo city, built through every stage (a third of its descriptions
  end "联系人<name>，电话<mobile>。"): every text column of every Parquet, JSON and DuckDB
  file under its data folder, warehouse and snapshots included, is clean.

The raw source folder (``01_raw``: the export as delivered, read, never written) and the
security folder (keys, password hashes, sessions, the audit trail: no citizen text) are
not scanned; the vault is checked separately.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from pipelines import catalog, db, pii, vault
from pipelines.settings import Settings
from pipelines.stages import ingest
from tests.unit.test_pii import id_numbers, mobiles

# What must not survive: an 11-digit mobile (separators and +86 allowed, full-width digits
# read as digits) or an 18-character ID number that passes its checksum.
MOBILE = re.compile(r"(?<!\d)1[3-9]\d[\s-]?\d{4}[\s-]?\d{4}(?!\d)")
ID_RUN = re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)")
FULL_WIDTH = str.maketrans("０１２３４５６７８９－", "0123456789-")
#: Build fingerprints and hashes (hex): not citizen data, and random enough to hold digits.
HEX = re.compile(r"[0-9a-f]{16,64}")
SKIPPED_LAYERS = ("01_raw", "security", "06_vault", "tmp")


def leaks(text: str) -> list[str]:
    """Mobile numbers and valid ID numbers readable in ``text``."""
    text = HEX.sub(" ", text.translate(FULL_WIDTH))
    return MOBILE.findall(text) + [m for m in ID_RUN.findall(text) if pii.is_valid_id(m)]


def _text_values(con: duckdb.DuckDBPyConnection, relation: str) -> Iterator[str]:
    """Every text value of ``relation`` (lists and structs as their text form)."""
    for name, kind, *_ in con.execute(f"DESCRIBE {relation}").fetchall():
        if "VARCHAR" not in str(kind) and "JSON" not in str(kind):
            continue
        col = '"' + name.replace('"', '""') + '"'
        # the RE2 prefilter (a superset of every number pii finds) keeps this fast
        yield from (
            v
            for (v,) in con.execute(
                f"SELECT CAST({col} AS VARCHAR) AS v FROM {relation} "
                "WHERE regexp_matches(CAST(" + col + " AS VARCHAR), ?)",
                [pii.NUMBER_PREFILTER],
            ).fetchall()
            if v is not None
        )


def stored_leaks(data_dir: Path) -> dict[str, list[str]]:
    """Leaks per file under ``data_dir`` (Parquet, DuckDB, JSON, CSV, text), by path."""
    found: dict[str, list[str]] = {}
    con = duckdb.connect()
    for path in sorted(p for p in data_dir.rglob("*") if p.is_file()):
        rel = path.relative_to(data_dir)
        if rel.parts[0] in SKIPPED_LAYERS:
            continue
        values: list[str] = []
        if path.suffix == ".parquet":
            con.read_parquet(str(path)).create_view("scanned", replace=True)
            values = list(_text_values(con, "scanned"))
        elif path.suffix == ".duckdb":
            wh = duckdb.connect(str(path), read_only=True)
            for schema, table in wh.execute(
                "SELECT table_schema, table_name FROM information_schema.tables"
            ).fetchall():
                values += _text_values(wh, f'"{schema}"."{table}"')
            wh.close()
        elif path.suffix in (".json", ".csv", ".txt", ".toml", ""):
            values = [path.read_text(encoding="utf-8", errors="replace")]
        hits = [hit for v in values for hit in leaks(v)]
        if hits:
            found[str(rel)] = hits[:5]
    con.close()
    return found


# --- the property test over the ingest stage ------------------------------------------------


@st.composite
def landlines(draw: st.DrawFn) -> str:
    area = draw(st.sampled_from(["010", "020", "0755", "0571"]))
    return f"{area}-{draw(st.integers(2_000_000, 89_999_999))}"


@st.composite
def full_width_mobiles(draw: st.DrawFn) -> str:
    return draw(mobiles()).translate(str.maketrans("0123456789-", "０１２３４５６７８９－"))


names = st.builds(
    lambda s, g: f"联系人{s}{g}",
    st.sampled_from("王李张刘陈杨黄赵吴周"),
    st.text(alphabet="伟芳娜敏静丽强磊军洋", min_size=1, max_size=2),
)
numbers = st.one_of(mobiles(), full_width_mobiles(), landlines(), id_numbers())
filler = st.text(alphabet=st.sampled_from("电话身份证号码：，。 -abc0123"), max_size=8)
# mostly apart, sometimes glued (a longer run of digits is no phone number: left alone)
apart = st.sampled_from(["，电话", "；", " ", "、身份证", "/", ""])
snippets = st.lists(
    st.builds(
        lambda a, b, sep, c: a + b + sep + c, filler, st.one_of(numbers, names), apart, numbers
    ),
    min_size=8,
    max_size=16,
)


@pytest.fixture(scope="module")
def tiny_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 200-request demo source (its spec's path); examples rewrite its request file."""
    from pipelines.demo import generate

    out = tmp_path_factory.mktemp("tiny_source") / "demo"
    base = Settings.from_env(environ={})
    generate(out, n_requests=200, seed=base.demo_seed, end=base.demo_end, progress=False)
    return out / "source.toml"


def _planted(original: pd.DataFrame, parts: list[str]) -> pd.DataFrame:
    """The requests with personal data in every description and address, plus rows that
    quarantine (no timestamp; the same id again with other content) carrying it too."""
    df = original.copy()
    k = len(parts)
    df["诉求内容"] = [f"{d}{parts[i % k]}" for i, d in enumerate(df["诉求内容"])]
    df["诉求地址"] = [f"{a}{parts[(i + 1) % k]}" for i, a in enumerate(df["诉求地址"])]
    no_time = df.head(3).assign(受理时间="", 工单编号=lambda f: f["工单编号"] + "X")
    twice = df.head(3).assign(诉求内容=[p + "又及" for p in parts[:3]])
    return pd.concat([df, no_time, twice], ignore_index=True)


@settings(
    max_examples=5,
    deadline=None,
    # an example is an ingest run (seconds): no shrinking, the example is printed as is
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(parts=snippets)
def test_no_mobile_or_valid_id_survives_ingest_in_any_staged_file(tiny_source, parts):
    request_file = tiny_source.parent / "requests" / "requests_000.parquet"
    original = pd.read_parquet(tiny_source.parent.parent / "original_requests.parquet")
    _planted(original, parts).to_parquet(request_file, index=False)
    with tempfile.TemporaryDirectory() as tmp:
        s = Settings.from_env(environ={}, data_dir=Path(tmp), source=tiny_source)
        con = db.connect(s)
        try:
            manifest = ingest.run(con, s)
        finally:
            con.close()
        assert manifest["inputs"]["requests"]["quarantined"]  # the planted rejects
        assert stored_leaks(Path(tmp)) == {}
        sealed = catalog.path(s, "vault_contacts").read_bytes()
        for part in parts:
            for value in re.findall(r"[\d０-９]{7,}", part):
                assert value.encode() not in sealed
        # every scrubbed description comes back from the vault as it was planted
        planted = _planted(original, parts).drop_duplicates("工单编号")
        said = dict(zip(planted["工单编号"], planted["诉求内容"], strict=True))
        staged = pd.read_parquet(catalog.path(s, "stg_requests"))
        scrubbed = staged[staged["description"] != staged["request_id"].map(said)]
        for request_id in scrubbed["request_id"].head(20):
            contact = vault.reveal(s, str(request_id))
            assert contact is not None
            assert contact.description == said[request_id]


@pytest.fixture(scope="module", autouse=True)
def _keep_the_original_requests(tiny_source: Path) -> Iterator[None]:
    # beside the source folder, not in it: the spec reads every requests/requests_*.parquet
    shutil.copyfile(
        tiny_source.parent / "requests" / "requests_000.parquet",
        tiny_source.parent.parent / "original_requests.parquet",
    )
    yield


# --- the built demo city, every stage ---------------------------------------------------------


def test_nothing_stored_by_any_stage_of_the_demo_city_holds_a_phone_or_id(built_city):
    assert stored_leaks(built_city.data_dir) == {}


def test_the_demo_citys_contacts_are_in_the_vault_and_nowhere_in_its_bytes(built_city):
    staged = pd.read_parquet(catalog.path(built_city, "stg_requests"))
    with_contact = staged[staged["contact_phone_key"].notna()]
    assert len(with_contact) > 0.25 * len(staged)  # the demo's 35 %
    sample = with_contact.iloc[0]
    contact = vault.reveal(built_city, str(sample["request_id"]))
    assert contact is not None and contact.phone is not None
    assert pii.mask_phone(contact.phone) == sample["contact_phone_masked"]
    assert pii.mask_name(contact.name or "") == sample["contact_name_masked"]
    assert contact.phone.encode() not in catalog.path(built_city, "vault_contacts").read_bytes()
