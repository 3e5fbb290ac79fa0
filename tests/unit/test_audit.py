"""The audit trail: a hash chain that verifies, and any edit to any line is caught."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from pipelines.audit import AuditError, AuditLog, record_hash, verify


def _log(tmp_path: Path, n: int = 6) -> Path:
    log = AuditLog(tmp_path / "audit.jsonl")
    for i in range(n):
        log.append("page", actor=f"user{i % 2}", path=f"/district/44030{i}", n=i)
    return log.path


def test_a_fresh_log_verifies_and_counts_its_records(tmp_path):
    path = _log(tmp_path)
    result = verify(path)
    assert result.ok and result.records == 6
    first = json.loads(path.read_text().splitlines()[0])
    assert first["seq"] == 1 and first["prev"] == "0" * 64 and first["actor"] == "user0"


@pytest.mark.parametrize("line", range(6))
def test_changing_any_single_line_is_detected_at_that_line(tmp_path, line):
    path = _log(tmp_path)
    lines = path.read_text().splitlines()
    record = json.loads(lines[line])
    record["path"] = "/district/440399"  # the edit a culprit would make
    lines[line] = json.dumps(record, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    path.write_text("\n".join(lines) + "\n")
    result = verify(path)
    assert not result.ok and result.bad_line == line + 1


@pytest.mark.parametrize("line", range(6))
def test_rehashing_an_edited_line_breaks_the_next_link_or_the_head(tmp_path, line):
    path = _log(tmp_path)
    lines = path.read_text().splitlines()
    record = json.loads(lines[line])
    record["actor"] = "someone_else"
    record["hash"] = record_hash(record)  # a culprit who knows the scheme
    lines[line] = json.dumps(record, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    path.write_text("\n".join(lines) + "\n")
    result = verify(path)
    assert not result.ok
    assert result.bad_line == (line + 2 if line < 5 else 6)


def test_deleting_reordering_or_cutting_lines_is_detected(tmp_path):
    path = _log(tmp_path)
    lines = path.read_text().splitlines()
    for tampered in (
        lines[:2] + lines[3:],  # a line deleted
        [*lines[:2], lines[3], lines[2], *lines[4:]],  # two lines swapped
        lines[:4],  # the tail cut off: caught by the head file
    ):
        path.write_text("\n".join(tampered) + "\n")
        assert not verify(path).ok


def test_a_cut_tail_is_caught_by_a_head_kept_elsewhere_too(tmp_path):
    path = _log(tmp_path)
    head = json.loads((tmp_path / "audit.jsonl.head").read_text())
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:4]) + "\n")
    (tmp_path / "audit.jsonl.head").unlink()  # the culprit removed the local head as well
    assert verify(path).ok  # a shorter valid chain on its own ...
    assert not verify(path, head=head).ok  # ... but not against the head kept elsewhere


def test_concurrent_writers_keep_one_unbroken_chain(tmp_path):
    log = AuditLog(tmp_path / "audit.jsonl")
    other = AuditLog(tmp_path / "audit.jsonl")  # a second process's handle, same file

    def write(handle: AuditLog, who: str) -> None:
        for i in range(50):
            handle.append("export", actor=who, rows=i)

    threads = [
        threading.Thread(target=write, args=(h, f"w{i}")) for i, h in enumerate([log, other] * 2)
    ]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    result = verify(log.path)
    assert result.ok and result.records == 200


def test_an_unwritable_log_raises_so_the_caller_can_refuse(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the log's folder should be")
    with pytest.raises(AuditError):
        AuditLog(blocker / "audit.jsonl").append("export", actor="admin")


def test_values_that_are_not_json_raise_instead_of_writing_half_a_record(tmp_path):
    log = AuditLog(tmp_path / "audit.jsonl")
    with pytest.raises(AuditError):
        log.append("export", actor="admin", rows=object())
    assert not log.path.exists() or verify(log.path).ok
