"""The current state of a request depends on its events' times, never on their order."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines import db
from pipelines.settings import Settings

T0 = dt.datetime(2026, 10, 1, 8, 0)
EVENTS = ("reported", "dispatched", "accepted", "closed", "rated", "reopened")
LEVELS = ("district", "street", "community")
RATINGS = ("satisfied", "basically_satisfied", "dissatisfied")

event = st.tuples(
    st.sampled_from(EVENTS),
    st.integers(0, 48),  # hours after T0: small range, so equal timestamps happen often
    st.sampled_from(LEVELS),
    st.sampled_from(("城管局", "水务局", "街道办")),
    st.sampled_from(RATINGS),
)


def current_state(con: duckdb.DuckDBPyConnection, rows: list[tuple]) -> list[tuple]:
    frame = pd.DataFrame(
        [
            {
                "request_id": "R1",
                "event": e,
                "ts_local": T0 + dt.timedelta(hours=h),
                "dispatch_level": lvl if e == "dispatched" else None,
                "department": dept if e == "dispatched" else None,
                "rating": r if e == "rated" else None,
            }
            for e, h, lvl, dept, r in rows
        ]
    )
    con.register("events_frame", frame)
    con.execute("CREATE OR REPLACE TABLE stg_request_events AS SELECT * FROM events_frame")
    return con.execute(
        db.load_sql("intermediate/int_request_lifecycle") + " ORDER BY ALL"
    ).fetchall()


@settings(max_examples=150, deadline=None)
@given(st.lists(event, min_size=1, max_size=12), st.randoms(use_true_random=False))
def test_any_permutation_of_the_event_log_gives_the_same_state(tmp_path_factory, rows, rnd):
    con = db.connect(Settings.from_env(environ={}, data_dir=tmp_path_factory.getbasetemp()))
    shuffled = rows[:]
    rnd.shuffle(shuffled)
    assert current_state(con, rows) == current_state(con, shuffled)


def test_a_reopen_after_the_last_close_leaves_the_request_open(tmp_path):
    con = db.connect(Settings.from_env(environ={}, data_dir=tmp_path))
    state = current_state(
        con,
        [
            ("closed", 2, "street", "x", "satisfied"),
            ("reopened", 5, "street", "x", "satisfied"),
        ],
    )[0]
    first_closed, last_closed, last_reopened = state[5], state[6], state[7]
    assert first_closed == last_closed < last_reopened
