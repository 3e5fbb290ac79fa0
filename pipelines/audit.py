"""The audit trail: append-only, hash-chained JSON lines.

Every record holds the hash of the record before it (``prev``) and its own hash (``hash`` =
SHA-256 of ``prev`` and the record's canonical JSON without ``hash``), and a sequence number.
Changing, inserting, reordering or deleting any line breaks the chain at that line, which
:func:`verify` reports. Cutting lines off the *end* leaves a valid shorter chain; the
``<log>.head`` file written beside the log (sequence and hash of the last record) catches that
as long as it is kept, and an operator who copies the head elsewhere (syslog, a WORM store)
keeps that proof even against someone who can rewrite both files.

Writers serialise on an exclusive ``flock`` of the log, so several server processes can share
one file; each append is flushed and fsynced before it returns, and :meth:`AuditLog.append`
raises :class:`AuditError` when it cannot write, so callers can fail closed.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

#: ``prev`` of the first record.
GENESIS = "0" * 64


class AuditError(RuntimeError):
    """The audit record could not be written (the action it records must not happen)."""


@dataclass(frozen=True)
class Verification:
    """The outcome of checking a log: ``ok``, records checked, the first bad line and why."""

    ok: bool
    records: int
    bad_line: int | None = None
    reason: str = ""


def _canonical(record: dict[str, Any]) -> bytes:
    return json.dumps(record, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def record_hash(record: dict[str, Any]) -> str:
    """Return the hash a record must carry: SHA-256 over its fields except ``hash``."""
    body = {k: v for k, v in record.items() if k != "hash"}
    return hashlib.sha256(_canonical(body)).hexdigest()


class AuditLog:
    """One audit log file.

    Parameters
    ----------
    path
        The JSON-lines file; created (with its folder) on the first append.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.head_path = path.with_name(path.name + ".head")
        self._lock = threading.Lock()

    def append(self, event: str, *, actor: str | None, **fields: Any) -> dict[str, Any]:
        """Write one record and return it.

        Parameters
        ----------
        event
            What happened (``login``, ``login_failed``, ``logout``, ``page``, ``export``,
            ``unmask``, ``denied`` …).
        actor
            The user name (``None`` for anonymous attempts).
        **fields
            JSON-serialisable details (scope, path, row count …).

        Raises
        ------
        AuditError
            When the record cannot be written: the caller must not go ahead.
        """
        try:
            with self._lock:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
                with os.fdopen(fd, "r+b") as f:
                    fcntl.flock(f, fcntl.LOCK_EX)
                    try:
                        seq, prev = self._tail(f)
                        record: dict[str, Any] = {
                            "seq": seq + 1,
                            "at": datetime.now(UTC).isoformat(timespec="milliseconds"),
                            "event": event,
                            "actor": actor,
                            **fields,
                            "prev": prev,
                        }
                        record["hash"] = record_hash(record)
                        f.write(_canonical(record) + b"\n")
                        f.flush()
                        os.fsync(f.fileno())
                        self._write_head(record)
                    finally:
                        fcntl.flock(f, fcntl.LOCK_UN)
        except (OSError, TypeError, ValueError) as exc:
            raise AuditError(f"cannot write the audit log {self.path}: {exc}") from exc
        return record

    def _tail(self, f: Any) -> tuple[int, str]:
        """Sequence number and hash of the last record (0 and genesis for an empty log)."""
        f.seek(0, os.SEEK_END)
        end = f.tell()
        if end == 0:
            return 0, GENESIS
        # Read backwards just far enough for the last line.
        size = min(end, 65536)
        while True:
            f.seek(end - size)
            chunk = f.read(size)
            lines = chunk.rstrip(b"\n").split(b"\n")
            if len(lines) > 1 or size == end:
                last = json.loads(lines[-1])
                return int(last["seq"]), str(last["hash"])
            size = min(end, size * 2)

    def _write_head(self, record: dict[str, Any]) -> None:
        tmp = self.head_path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"seq": record["seq"], "hash": record["hash"]}) + "\n")
        tmp.replace(self.head_path)


def verify(path: Path, *, head: dict[str, Any] | None = None) -> Verification:
    """Check every record's hash and link; compare the end with the head file.

    Parameters
    ----------
    path
        The log file. A missing log verifies as empty only when there is no head file.
    head
        The last record's ``{"seq", "hash"}`` as kept elsewhere; defaults to the
        ``<log>.head`` file beside the log.

    Returns
    -------
    Verification
    """
    head_path = path.with_name(path.name + ".head")
    if head is None and head_path.exists():
        head = json.loads(head_path.read_text())
    if not path.exists():
        if head:
            return Verification(False, 0, 1, "the log is missing but its head file is not")
        return Verification(True, 0)
    prev, seq, n = GENESIS, 0, 0
    with path.open("rb") as f:
        for n, line in enumerate(f, start=1):
            try:
                record = json.loads(line)
            except ValueError:
                return Verification(False, n - 1, n, "not a JSON record")
            if not isinstance(record, dict):
                return Verification(False, n - 1, n, "not a JSON object")
            if record.get("prev") != prev:
                return Verification(False, n - 1, n, "does not link to the record before it")
            if record.get("seq") != seq + 1:
                return Verification(False, n - 1, n, f"sequence {record.get('seq')} after {seq}")
            if record.get("hash") != record_hash(record):
                return Verification(False, n - 1, n, "its hash does not match its content")
            prev, seq = record["hash"], record["seq"]
    if head is not None and (head.get("seq"), head.get("hash")) != (seq, prev):
        return Verification(
            False, n, n, f"the log ends at record {seq} but its head names {head.get('seq')}"
        )
    return Verification(True, n)
