"""Working days per the State Council holiday schedule (chinesecalendar), 调休 make-up days included.

Periods follow 期间开始之日不计算在内: the day a period starts from is never counted. When a date falls
outside the calendar's data the answer is "cannot verify" (`CalendarUnavailable`), never a weekday guess.
"""
from __future__ import annotations

from datetime import date, timedelta

import chinese_calendar


class CalendarUnavailable(Exception):
    """The holiday schedule for `day`'s year is not published in the installed calendar data."""

    def __init__(self, day: date):
        super().__init__(day.isoformat())
        self.day = day


def is_working_day(day: date) -> bool:
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        raise CalendarUnavailable(day) from None


def working_days_between(start: date, end: date) -> int:
    """Working days strictly after `start` and strictly before `end` (neither end day counts)."""
    count = 0
    day = start + timedelta(days=1)
    while day < end:
        count += is_working_day(day)
        day += timedelta(days=1)
    return count


def add_working_days(start: date, days: int) -> date:
    """The `days`-th working day after `start` (start itself not counted)."""
    day = start
    remaining = days
    while remaining > 0:
        day += timedelta(days=1)
        remaining -= is_working_day(day)
    return day
