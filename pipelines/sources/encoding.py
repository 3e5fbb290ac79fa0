"""Text files in any declared encoding -> UTF-8, streamed, never guessed, never lossy.

DuckDB's core CSV reader knows UTF-8, UTF-16 and Latin-1 only, and Chinese exports from
Excel or WPS are often GBK/GB18030. A file declared in another encoding is decoded strictly
in 1 MiB chunks (GB18030 for GBK: it is a superset) and written as UTF-8 next to the
staged data. A byte sequence that does not decode stops the file with its offset: the file
is quarantined whole rather than read with replacement characters.
"""

from __future__ import annotations

import codecs
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

CHUNK_BYTES = 1 << 20
#: Declared names -> the codec that decodes them strictly (GBK data is valid GB18030).
CODECS = {
    "utf-8": "utf-8",
    "utf8": "utf-8",
    "utf-8-sig": "utf-8-sig",
    "gbk": "gb18030",
    "gb2312": "gb18030",
    "gb18030": "gb18030",
    "utf-16": "utf-16",
    "utf-16le": "utf-16-le",
    "utf-16be": "utf-16-be",
}


class EncodingProblem(ValueError):
    """A file does not decode in its declared encoding (the offset says where)."""


@dataclass(frozen=True)
class Transcoded:
    """A source file and the UTF-8 file to read in its place."""

    source: Path
    utf8: Path
    encoding: str
    had_bom: bool


def codec_for(declared: str) -> str:
    """Codec name for a declared encoding; raises ``ValueError`` naming the accepted ones."""
    key = declared.strip().lower().replace("_", "-")
    if key not in CODECS:
        raise ValueError(f"encoding {declared!r} is not supported; use one of {sorted(CODECS)}")
    return CODECS[key]


def to_utf8(source: Path, declared: str, work_dir: Path) -> Transcoded:
    """Return a UTF-8 version of ``source`` (``source`` itself when it already is one).

    UTF-8 files are validated by decoding them; a UTF-8 byte-order mark is dropped (it would
    end up in the first column's name). Other encodings are transcoded into ``work_dir``
    under a name derived from the source path, size and mtime, so reruns reuse the copy.

    Raises
    ------
    EncodingProblem
        If any byte sequence is invalid in the declared encoding.
    """
    codec = codec_for(declared)
    with source.open("rb") as fh:
        head = fh.read(4)
    had_bom = head.startswith(codecs.BOM_UTF8)
    if codec in ("utf-8", "utf-8-sig") and not had_bom:
        _check_decodes(source, "utf-8")
        return Transcoded(source, source, "utf-8", had_bom=False)
    if codec == "utf-8" and had_bom:
        codec = "utf-8-sig"
    stat = source.stat()
    tag = hashlib.sha256(f"{source.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    out = work_dir / f"{source.stem}.{tag.hexdigest()[:12]}.utf8{source.suffix}"
    if not out.exists():
        work_dir.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(out.suffix + ".tmp")
        _transcode(source, codec, tmp)
        tmp.replace(out)
    return Transcoded(source, out, codec, had_bom)


def _decoded_chunks(source: Path, codec: str) -> Iterator[str]:
    """Decode ``source`` strictly, chunk by chunk; the error names the byte offset."""
    decoder = codecs.getincrementaldecoder(codec)(errors="strict")
    offset = 0
    with source.open("rb") as fh:
        while chunk := fh.read(CHUNK_BYTES):
            try:
                yield decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                raise EncodingProblem(
                    f"{source.name}: not valid {codec} at byte {offset + exc.start}"
                ) from exc
            offset += len(chunk)
    try:
        yield decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise EncodingProblem(f"{source.name}: truncated {codec} sequence at the end") from exc


def _check_decodes(source: Path, codec: str) -> None:
    for _ in _decoded_chunks(source, codec):
        pass


def _transcode(source: Path, codec: str, target: Path) -> None:
    try:
        with target.open("w", encoding="utf-8", newline="") as dst:
            for text in _decoded_chunks(source, codec):
                dst.write(text)
    except EncodingProblem:
        target.unlink(missing_ok=True)
        raise
