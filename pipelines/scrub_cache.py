"""What the previous ingest scrubbed, so the next one scans only texts it has not seen.

Scrubbing request texts (:mod:`pipelines.pii`) is the one part of ingest that runs in
Python, row by row; a day's delivery brings a few thousand new texts among millions already
scrubbed. ``02_staged/scrub_cache.parquet`` keeps, for every text the prefilter matched,
its request id, a keyed digest of the original (HMAC-SHA256 under the ``scrub`` key, so the
file reveals nothing about a text that is not already known), the scrubbed text and the
masked contact columns. The next ingest takes a row's result from the cache when its id
and digest are unchanged, and the vault keeps that request's sealed record as it was.

The file holds nothing the staged tables do not: scrubbed text, masked names and phones,
keyed phone hashes, and digests. A new master secret gives new digests, so nothing matches
and every text is scanned again (the vault cannot be opened with a new secret anyway).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines import catalog, keys
from pipelines.settings import Settings

SCHEMA = pa.schema(
    [
        ("field", pa.string()),
        ("request_id", pa.string()),
        ("digest", pa.binary()),
        # NULL: the prefilter matched but nothing was personal data (the text is unchanged)
        ("scrubbed", pa.string()),
        ("contact_name_masked", pa.string()),
        ("contact_phone_masked", pa.string()),
        ("contact_phone_key", pa.string()),
    ]
)


#: Cached results of the texts in ``scrub_lookup`` (position, request id, digest).
LOOKUP = (
    "SELECT l.i, c.scrubbed, c.contact_name_masked, c.contact_phone_masked,"
    " c.contact_phone_key FROM scrub_lookup AS l JOIN read_parquet(?) AS c"
    " ON c.field = ? AND c.request_id = l.request_id AND c.digest = l.digest"
)
#: The same, keeping a changed text only while the vault (second file) holds its record.
LOOKUP_SEALED = (
    "SELECT l.i, c.scrubbed, c.contact_name_masked, c.contact_phone_masked,"
    " c.contact_phone_key FROM scrub_lookup AS l JOIN read_parquet(?) AS c"
    " ON c.field = ? AND c.request_id = l.request_id AND c.digest = l.digest"
    " LEFT JOIN (SELECT request_id FROM read_parquet(?)) AS v"
    " ON v.request_id = l.request_id WHERE c.scrubbed IS NULL OR v.request_id IS NOT NULL"
)


@dataclass(frozen=True)
class Entry:
    """One text's result: the scrubbed text (None: unchanged) and its masked contact."""

    scrubbed: str | None
    name_masked: str | None = None
    phone_masked: str | None = None
    phone_key: str | None = None


class ScrubCache:
    """The previous ingest's results (read in DuckDB); this ingest's, collected and written.

    Parameters
    ----------
    settings
        Where the cache lives and the master secret its digests are keyed with.
    """

    def __init__(self, settings: Settings) -> None:
        self._file = catalog.path(settings, "scrub_cache")
        self._vault = catalog.path(settings, "vault_contacts")
        self._key = keys.derive(settings, "scrub")
        self._rows: dict[str, list[object]] = {name: [] for name in SCHEMA.names}

    def digests(self, texts: list[str]) -> list[bytes]:
        """The keyed digest of every original text."""
        key = self._key
        return [hmac.digest(key, t.encode("utf-8"), hashlib.sha256) for t in texts]

    def hits(
        self,
        con: duckdb.DuckDBPyConnection,
        field: str,
        request_ids: list[str],
        digests: list[bytes],
        *,
        sealed: bool = False,
    ) -> dict[int, Entry]:
        """Previous results of the texts unchanged since, by position in ``request_ids``.

        With ``sealed`` (the field's originals go to the vault), a scrubbed text counts only
        while the vault still holds its request's record: the record is carried over, not
        sealed again.
        """
        if not request_ids or not self._file.exists():
            return {}
        if sealed and not self._vault.exists():
            return {}
        if not pq.read_schema(self._file).equals(SCHEMA):
            return {}  # another version's cache: scan everything again
        con.register(
            "scrub_lookup",
            pa.table(
                {"i": range(len(request_ids)), "request_id": request_ids, "digest": digests},
                schema=pa.schema(
                    [("i", pa.int64()), ("request_id", pa.string()), ("digest", pa.binary())]
                ),
            ),
        )
        try:
            rows = con.execute(
                LOOKUP_SEALED if sealed else LOOKUP,
                [str(self._file), field, *([str(self._vault)] if sealed else [])],
            ).fetchall()
        finally:
            con.unregister("scrub_lookup")
        return {i: Entry(*rest) for i, *rest in rows}

    def add(self, field: str, request_id: str, digest: bytes, entry: Entry) -> None:
        """Remember this ingest's result for the next one."""
        values = (
            field,
            request_id,
            digest,
            entry.scrubbed,
            entry.name_masked,
            entry.phone_masked,
            entry.phone_key,
        )
        for name, value in zip(SCHEMA.names, values, strict=True):
            self._rows[name].append(value)

    def save(self) -> int:
        """Replace the cache file with this ingest's results; return how many."""
        self._file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._file.with_name(self._file.name + ".tmp")
        pq.write_table(pa.table(self._rows, schema=SCHEMA), tmp, compression="zstd")
        tmp.replace(self._file)
        return len(self._rows["digest"])
