"""Working time on the official calendars: China's holidays and make-up days, and the US."""

from __future__ import annotations

import datetime as dt

import pytest

from pipelines.workcal import WorkCalendar, calendar_for

CN = WorkCalendar("CN", "Asia/Shanghai")
LA = WorkCalendar("US", "America/Los_Angeles")
D = dt.date.fromisoformat
T = dt.datetime.fromisoformat

# The State Council's schedules (国务院办公厅关于2025年 / 2026年部分节假日安排的通知)
CN_HOLIDAYS = {
    2025: ["01-01", "01-28", "01-29", "01-30", "01-31", "02-03", "02-04", "04-04", "05-01",
           "05-02", "05-05", "06-02", "10-01", "10-02", "10-03", "10-06", "10-07",
           "10-08"],
    2026: ["01-01", "01-02", "02-16", "02-17", "02-18", "02-19", "02-20", "02-23", "04-06",
           "05-01", "05-04", "05-05", "06-19", "09-25", "10-01", "10-02", "10-05", "10-06",
           "10-07"],
}  # fmt: skip
#: Saturdays and Sundays worked to bridge a holiday (调休)
CN_MAKE_UP_DAYS = {
    2025: ["01-26", "02-08", "04-27", "09-28", "10-11"],
    2026: ["01-04", "02-14", "02-28", "05-09", "09-20", "10-10"],
}


@pytest.mark.parametrize("year", [2025, 2026])
def test_statutory_holidays_on_weekdays_are_not_working_days(year):
    for mmdd in CN_HOLIDAYS[year]:
        day = D(f"{year}-{mmdd}")
        assert day.weekday() < 5, day
        assert not CN.is_working_day(day), day


@pytest.mark.parametrize("year", [2025, 2026])
def test_make_up_weekend_days_are_working_days(year):
    for mmdd in CN_MAKE_UP_DAYS[year]:
        day = D(f"{year}-{mmdd}")
        assert day.weekday() >= 5, day
        assert CN.is_working_day(day), day


def test_the_spring_festival_2026_is_nine_days_off_between_two_working_saturdays():
    days = [D("2026-02-14") + dt.timedelta(days=i) for i in range(15)]
    working = [CN.is_working_day(d) for d in days]
    # Sat 14 worked; Sun 15 .. Mon 23 off; Tue 24 .. Fri 27 working; Sat 28 worked
    assert working == [True] + [False] * 9 + [True] * 4 + [True]


def test_a_working_hour_limit_skips_the_holiday_and_counts_the_make_up_day():
    start = T("2026-02-13 10:00")  # Friday before the Spring Festival
    assert CN.add_working_hours(start, 24) == T("2026-02-14 10:00")  # Saturday is worked
    # 14 h left of Saturday, nine days off, then 10 h of Tuesday the 24th
    assert CN.add_working_hours(start, 48) == T("2026-02-24 10:00")
    assert CN.working_seconds(start, T("2026-02-24 10:00")) == 48 * 3600


def test_working_time_and_the_limit_agree_across_national_day_2025():
    start = T("2025-09-30 20:00")
    end = CN.add_working_hours(start, 30)
    # 4 h of Sep 30, Oct 1-8 off, 24 h of Thu Oct 9, 2 h of Fri Oct 10
    assert end == T("2025-10-10 02:00")
    assert CN.working_seconds(start, end) == 30 * 3600


def test_us_holidays_are_not_working_days_in_los_angeles():
    for day in ("2025-11-27", "2025-12-25", "2026-01-01", "2026-01-19", "2026-07-03"):
        assert not LA.is_working_day(D(day)), day
    assert LA.is_working_day(D("2026-03-09"))
    assert not LA.is_working_day(D("2026-03-08"))  # a Sunday


def test_a_limit_across_the_los_angeles_dst_weekend_counts_real_hours():
    start = T("2026-03-06 18:00")  # Friday 18:00 PST; clocks go forward on Sunday the 8th
    end = LA.add_working_hours(start, 24)
    assert end == T("2026-03-09 18:00")  # 6 h of Friday, 18 h of Monday (PDT)
    assert LA.working_seconds(start, end) == 24 * 3600
    # a working day spanning the autumn change would have 25 real hours
    table = LA.day_table(D("2026-03-06"), D("2026-03-09"))
    assert table["working_seconds"].tolist() == [86400.0, 0.0, 0.0, 86400.0]
    assert (table["day_end_utc"] - table["day_start_utc"]).dt.total_seconds().tolist() == [
        86400.0,
        86400.0,
        82800.0,  # the Sunday of the change is 23 hours long
        86400.0,
    ]


def test_the_day_table_gives_working_time_as_a_difference_of_two_lookups():
    table = CN.day_table(D("2026-02-10"), D("2026-03-02")).set_index("day")
    before = table["working_before"]
    # from Feb 13 00:00 to Feb 25 00:00: Fri 13, Sat 14 (make-up), Tue 24
    assert (before[D("2026-02-25")] - before[D("2026-02-13")]) / 3600 == 72
    assert table.loc[D("2026-02-17"), "holiday"] is not None


def test_a_city_gets_its_countrys_calendar_from_its_time_zone():
    assert calendar_for("Asia/Shanghai").country == "CN"
    assert calendar_for("America/Los_Angeles").country == "US"
    with pytest.raises(ValueError, match="country"):
        calendar_for("Europe/Paris")
    assert calendar_for("Europe/Paris", "FR").country == "FR"


@pytest.mark.parametrize(
    ("calendar", "utc_offset"), [(CN, 480), (LA, None)], ids=["shanghai", "los_angeles"]
)
def test_the_sql_due_time_matches_the_python_working_time_arithmetic(calendar, utc_offset):
    import random

    import duckdb
    import pandas as pd

    from pipelines import db

    rng = random.Random(7)
    created = [
        T("2025-12-20 00:00") + dt.timedelta(minutes=rng.randrange(0, 120 * 24 * 60))
        for _ in range(300)
    ]
    created += [T("2026-02-13 10:00"), T("2026-03-06 18:00"), T("2026-03-08 02:30")]
    limits = [rng.choice([2, 24, 48, 72, 120]) for _ in created]
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    for macro in db.MACROS:
        con.execute(macro)
    requests = pd.DataFrame(
        {
            "request_id": [str(i) for i in range(len(created))],
            "created_local": created,
            "event_type": [f"T{h}" for h in limits],
        }
    )
    con.register("requests_frame", requests)
    con.execute(
        "CREATE TABLE stg_requests AS SELECT *, local_to_utc(created_local, $tz, $fixed) "
        "AS created_utc FROM requests_frame",
        {"tz": calendar.timezone, "fixed": utc_offset},
    )
    con.execute(
        "CREATE TABLE stg_categories AS SELECT DISTINCT event_type AS code, "
        "CAST(substr(event_type, 2) AS INTEGER) AS time_limit_hours, "
        "CAST(substr(event_type, 2) AS INTEGER) / 4.0 AS response_limit_hours "
        "FROM requests_frame"
    )
    con.register("calendar_frame", calendar.day_table(D("2025-12-01"), D("2026-08-01")))
    con.execute("CREATE TABLE work_calendar AS SELECT * FROM calendar_frame")
    sql = db.load_sql("intermediate/int_request_due")
    params = {
        "default_limit_hours": 120,
        "default_response_hours": 24,
        "tz": calendar.timezone,
        "utc_offset": utc_offset,
    }
    got = {
        r[0]: r[1:]
        for r in con.execute(
            f"SELECT request_id, due_at, response_due_at FROM ({sql})", params
        ).fetchall()
    }
    for i, (start, hours) in enumerate(zip(created, limits, strict=True)):
        due, response_due = got[str(i)]
        assert due == calendar.add_working_hours(start, hours), (start, hours)
        assert response_due == calendar.add_working_hours(start, hours / 4), (start, hours)
