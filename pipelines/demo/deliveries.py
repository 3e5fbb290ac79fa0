"""Later deliveries of a generated demo city: a late batch for a past month, the next day.

A live 12345 feed keeps delivering: the next day's requests and status events, and now
and then a batch that arrived late for an old month. Both are written as new raw files
beside the demo's own (``requests_<name>.parquet`` and ``events_<name>.parquet``), so the
pipeline picks them up through its normal path; the benchmark (issue 8) and the tests of
incremental builds use them.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

#: Raw columns of the demo's requests and status events (pipelines/demo/spec.py).
REQUEST_TIME = "受理时间"
EVENT_TIME = "时间"
REQUEST_ID = "工单编号"
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def _raw_files(raw: Path, kind: str) -> list[Path]:
    """The demo's own chunks of ``kind`` (requests or events), oldest first."""
    return sorted(
        p
        for p in (raw / "requests").glob(f"{kind}_*.parquet")
        if p.stem.removeprefix(f"{kind}_").isdigit()
    )


def _events_of(raw: Path, ids: pd.Series) -> pd.DataFrame:
    """Every status event of the requests ``ids``, from all event chunks."""
    wanted = set(ids)
    return pd.concat(
        [
            e.loc[e[REQUEST_ID].isin(wanted)]
            for e in (pd.read_parquet(f) for f in _raw_files(raw, "events"))
        ],
        ignore_index=True,
    )


def add_late_batch(raw: Path, month: str = "2026-03", n: int = 1000) -> int:
    """Deliver ``n`` requests of ``month`` again under new ids (``LATE-<i>``), late.

    Parameters
    ----------
    raw
        The demo's raw folder (``<data_dir>/01_raw/demo``).
    month
        ``YYYY-MM`` of the requests copied.
    n
        How many (fewer when the month has fewer in the first chunk).

    Returns
    -------
    int
        Requests delivered.
    """
    requests = pd.read_parquet(_raw_files(raw, "requests")[0])
    rows = requests.loc[requests[REQUEST_TIME].astype(str).str.startswith(month)].head(n)
    new_id = {old: f"LATE-{i}" for i, old in enumerate(rows[REQUEST_ID])}
    events = _events_of(raw, rows[REQUEST_ID])
    rows.assign(**{REQUEST_ID: rows[REQUEST_ID].map(new_id)}).to_parquet(
        raw / "requests" / "requests_late.parquet", index=False
    )
    events.assign(**{REQUEST_ID: events[REQUEST_ID].map(new_id)}).to_parquet(
        raw / "requests" / "events_late.parquet", index=False
    )
    return len(rows)


def add_next_day(raw: Path) -> dict[str, int]:
    """Deliver one more day: the last day's requests and events, one day later, new ids.

    The daily delivery a city's feed brings (about 27 k requests a day at 10 M a year):
    every timestamp moves by one day, so the new requests (``NEXT-<old id>``) are created
    on the day after the data's last day and their status events follow.

    Returns
    -------
    dict
        ``day_requests`` and ``day_events`` delivered.
    """
    requests = pd.read_parquet(_raw_files(raw, "requests")[-1])
    created = pd.to_datetime(requests[REQUEST_TIME], format=TIME_FORMAT)
    rows = requests.loc[created.dt.normalize() == created.max().normalize()]
    new_id = {old: f"NEXT-{old}" for old in rows[REQUEST_ID]}
    events = _events_of(raw, rows[REQUEST_ID])

    def shifted(frame: pd.DataFrame, column: str) -> pd.DataFrame:
        when = pd.to_datetime(frame[column], format=TIME_FORMAT) + pd.Timedelta(days=1)
        return frame.assign(
            **{column: when.dt.strftime(TIME_FORMAT), REQUEST_ID: frame[REQUEST_ID].map(new_id)}
        )

    shifted(rows, REQUEST_TIME).to_parquet(raw / "requests" / "requests_next.parquet", index=False)
    shifted(events, EVENT_TIME).to_parquet(raw / "requests" / "events_next.parquet", index=False)
    return {"day_requests": len(rows), "day_events": len(events)}
