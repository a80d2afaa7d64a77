"""Dates relative to today, so that a test means the same on whatever day the suite runs.

An agreement "in force today" began on 1 January last year, is reviewed on 30 June next year and ends on
31 December next year. CI runs the suite a second time under a clock two years ahead (.ci/run) to keep it so.
Tests that need one fixed day pin the clock with time-machine instead.
"""

import datetime as dt

from django.utils import timezone


def in_force_around(day: dt.date) -> tuple[dt.date, dt.date, dt.date]:
    """(start, end, review) of an agreement in force on `day`, with its review and end well ahead of it."""
    return dt.date(day.year - 1, 1, 1), dt.date(day.year + 1, 12, 31), dt.date(day.year + 1, 6, 30)


TODAY = timezone.localdate()
START, END, REVIEW = in_force_around(TODAY)
BEFORE_START = START - dt.timedelta(days=1)  # a day before START
AFTER_END = dt.date(END.year + 1, 1, 1)  # a day after END (and after REVIEW)


def iso(day: dt.date) -> str:
    return day.isoformat()


def long(day: dt.date) -> str:
    """As the pages write a date: 1 January 2026."""
    return f"{day.day} {day:%B %Y}"
