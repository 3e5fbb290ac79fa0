"""Working time on a country's official calendar: the only module that imports ``holidays``.

12345 time limits count working time: statutory holidays do not count, and China's
make-up working days (调休, a Saturday or Sunday worked to bridge a holiday) do. The
``holidays`` package (maintained, with the State Council's yearly schedule and the
substituted days) decides which days are working days; this module turns that into a
day table the SQL models join, and into exact working-time arithmetic:

* a **working day** is one the calendar calls working (Mon-Fri unless a holiday, plus
  make-up days);
* **working time** between two instants is the part of the interval that falls on working
  days, measured in real hours (a working day with a DST change in Los Angeles has 23 or
  25 hours), in the city's time zone;
* a limit of *h* working hours from an instant ends where *h* hours of working time have
  passed (nights count on working days: a hotline's time limit runs around the clock on
  working days, which is how the 12345 rules count "N 个工作日" as N × 24 h).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from zoneinfo import ZoneInfo

import holidays
import pandas as pd


@dataclass(frozen=True)
class WorkCalendar:
    """The working days of one country (optionally a subdivision) in one time zone."""

    country: str
    timezone: str
    subdivision: str | None = None

    def is_working_day(self, day: dt.date) -> bool:
        """True when ``day`` is a working day (make-up days included, holidays excluded)."""
        return _is_working(self.country, self.subdivision, day)

    def day_table(self, start: dt.date, end: dt.date) -> pd.DataFrame:
        """One row per day from ``start`` to ``end`` (inclusive) for the SQL models.

        Columns: ``day``, ``is_working``, ``holiday`` (its name, or None), ``day_start_utc``
        and ``day_end_utc`` (naive UTC instants of local midnight), ``working_seconds`` (the
        day's length if working, else 0) and ``working_before`` (working seconds of all
        earlier days in the table), so working time between two instants is a difference of
        two lookups.
        """
        zone = ZoneInfo(self.timezone)
        days = pd.date_range(start, end, freq="D").date
        names = _holidays(self.country, self.subdivision, tuple(range(start.year, end.year + 1)))
        rows = []
        before = 0.0
        for day in days:
            begin = _utc(dt.datetime.combine(day, dt.time()), zone)
            finish = _utc(dt.datetime.combine(day + dt.timedelta(days=1), dt.time()), zone)
            working = self.is_working_day(day)
            seconds = (finish - begin).total_seconds() if working else 0.0
            rows.append((day, working, names.get(day), begin, finish, seconds, before))
            before += seconds
        return pd.DataFrame(
            rows,
            columns=[
                "day",
                "is_working",
                "holiday",
                "day_start_utc",
                "day_end_utc",
                "working_seconds",
                "working_before",
            ],
        )

    def working_seconds(self, start: dt.datetime, end: dt.datetime) -> float:
        """Working time in seconds between two local wall-clock times (``end`` after ``start``)."""
        zone = ZoneInfo(self.timezone)
        a, b = _utc(start, zone), _utc(end, zone)
        if b <= a:
            return 0.0
        total = 0.0
        day = start.date()
        while True:
            begin = _utc(dt.datetime.combine(day, dt.time()), zone)
            if begin >= b:
                break
            finish = _utc(dt.datetime.combine(day + dt.timedelta(days=1), dt.time()), zone)
            if self.is_working_day(day):
                total += max(0.0, (min(finish, b) - max(begin, a)).total_seconds())
            day += dt.timedelta(days=1)
        return total

    def add_working_hours(self, start: dt.datetime, hours: float) -> dt.datetime:
        """Local wall-clock time at which ``hours`` of working time after ``start`` end."""
        zone = ZoneInfo(self.timezone)
        left = hours * 3600.0
        at = _utc(start, zone)
        day = start.date()
        while True:
            finish = _utc(dt.datetime.combine(day + dt.timedelta(days=1), dt.time()), zone)
            if self.is_working_day(day):
                span = (finish - at).total_seconds()
                if left <= span:
                    return _local(at + dt.timedelta(seconds=left), zone)
                left -= span
            day += dt.timedelta(days=1)
            at = finish


def fixed_offset_minutes(tz: str, start: dt.datetime, end: dt.datetime) -> int | None:
    """The zone's UTC offset in minutes if it never changed between ``start`` and ``end``.

    Sampled every six hours (no DST rule changes twice within that); ``None`` when the
    offset changes, so local times are converted through the time-zone database.
    """
    zone = ZoneInfo(tz)
    t, step = start, dt.timedelta(hours=6)
    first = zone.utcoffset(start)
    while t <= end + dt.timedelta(days=1):
        if zone.utcoffset(t) != first:
            return None
        t += step
    return int(first.total_seconds() // 60) if first is not None else None


#: Country of a source's calendar from its time zone, when the spec names none.
COUNTRY_OF_ZONE = {"Asia/Shanghai": "CN", "Asia/Chongqing": "CN", "Asia/Harbin": "CN"}


def calendar_for(timezone: str, country: str | None = None) -> WorkCalendar:
    """The calendar of a city: ``country`` (ISO 3166 code) or the one its zone implies."""
    code = country or COUNTRY_OF_ZONE.get(timezone) or _country_of_zone(timezone)
    return WorkCalendar(country=code, timezone=timezone)


def _country_of_zone(timezone: str) -> str:
    if timezone.startswith("America/") and timezone in _US_ZONES:
        return "US"
    raise ValueError(
        f"no working-day calendar known for time zone {timezone!r}: set [source] country "
        "(an ISO 3166 code such as 'CN' or 'US')"
    )


_US_ZONES = {
    "America/Los_Angeles",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Anchorage",
    "America/Detroit",
}


@cache
def _holidays(country: str, subdivision: str | None, years: tuple[int, ...]) -> dict[dt.date, str]:
    table = holidays.country_holidays(country, subdiv=subdivision, years=years)
    return dict(table.items())


@cache
def _calendar(country: str, subdivision: str | None, year: int) -> holidays.HolidayBase:
    return holidays.country_holidays(country, subdiv=subdivision, years=[year])


def _is_working(country: str, subdivision: str | None, day: dt.date) -> bool:
    return bool(_calendar(country, subdivision, day.year).is_working_day(day))


def _utc(local: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """Naive UTC instant of a naive local time (a time repeated by DST: the earlier)."""
    aware = local.replace(tzinfo=zone, fold=0)
    return aware.astimezone(dt.UTC).replace(tzinfo=None)


def _local(utc: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    return utc.replace(tzinfo=dt.UTC).astimezone(zone).replace(tzinfo=None)


def local_to_utc(local: dt.datetime, timezone: str) -> dt.datetime:
    """Naive UTC instant of a naive local time in ``timezone`` (a repeated time: the earlier)."""
    return _utc(local, ZoneInfo(timezone))
