from datetime import date

import pytest

from pipeline.case.working_days import (
    CalendarUnavailable,
    add_working_days,
    is_working_day,
    working_days_between,
)


def test_make_up_workday_and_national_day_holiday_2025():
    assert is_working_day(date(2025, 9, 28))       # Sunday, 调休 make-up workday
    assert is_working_day(date(2025, 10, 11))      # Saturday, 调休 make-up workday
    assert not is_working_day(date(2025, 10, 8))   # National Day / Mid-Autumn holiday
    assert not is_working_day(date(2025, 7, 12))   # ordinary Saturday


def test_neither_end_day_counts():
    assert working_days_between(date(2025, 7, 8), date(2025, 7, 15)) == 4
    assert working_days_between(date(2025, 7, 14), date(2025, 7, 15)) == 0
    assert working_days_between(date(2025, 9, 29), date(2025, 10, 9)) == 1


def test_add_working_days_counts_make_up_day():
    assert add_working_days(date(2025, 10, 9), 5) == date(2025, 10, 15)
    assert add_working_days(date(2025, 7, 15), 5) == date(2025, 7, 22)


def test_beyond_calendar_data_is_reported_not_guessed():
    with pytest.raises(CalendarUnavailable) as exc:
        working_days_between(date(2026, 12, 30), date(2027, 1, 8))
    assert exc.value.day == date(2027, 1, 1)
