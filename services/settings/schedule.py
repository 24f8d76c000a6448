"""``[schedule]``: self-service and staffed hours per weekday, and exception days."""

from __future__ import annotations

import itertools
import re
from datetime import time
from typing import Annotated

from pydantic import Field, field_validator

from services.settings.base import _Model

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_INTERVAL = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
Interval = tuple[time, time]


def parse_intervals(text: str) -> tuple[Interval, ...]:
    """Parse ``"07:00-22:00"`` or ``"10:00-12:00, 13:00-18:00"``; an empty string is closed."""
    out: list[Interval] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        m = _INTERVAL.match(part)
        if not m:
            raise ValueError(f"{part!r} is not HH:MM-HH:MM")
        h1, m1, h2, m2 = (int(g) for g in m.groups())
        if h2 == 24 and m2 == 0:
            h2, m2 = 23, 59
        try:
            start, end = time(h1, m1), time(h2, m2)
        except ValueError as exc:
            raise ValueError(f"{part!r}: {exc}") from None
        if end <= start:
            raise ValueError(f"{part!r} ends before it starts")
        out.append((start, end))
    out.sort()
    for (_, end), (start, _) in itertools.pairwise(out):
        if start < end:
            raise ValueError(f"{text!r} has overlapping intervals")
    return tuple(out)


class WeeklyHours(_Model):
    """Opening intervals per weekday, written ``mon = "07:00-22:00"``; a missing day is closed."""

    mon: str = ""
    tue: str = ""
    wed: str = ""
    thu: str = ""
    fri: str = ""
    sat: str = ""
    sun: str = ""

    @field_validator(*WEEKDAYS)
    @classmethod
    def _valid(cls, value: str) -> str:
        parse_intervals(value)
        return value

    def intervals(self, weekday: int) -> tuple[Interval, ...]:
        """The intervals of ``weekday`` (0 = Monday, as ``date.weekday()``)."""
        return parse_intervals(getattr(self, WEEKDAYS[weekday]))


class ExceptionDay(_Model):
    """A date whose hours differ from the week: closed, or its own hours (a holiday opened)."""

    date: Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$")]
    closed: bool = False
    self_service: str | None = Field(None, description="hours that replace the weekly ones")
    staffed: str | None = Field(None, description="staffed hours that day; empty = none")
    note: str = ""

    @field_validator("self_service", "staffed")
    @classmethod
    def _valid(cls, value: str | None) -> str | None:
        if value is not None:
            parse_intervals(value)
        return value


_EVERY_DAY_7_22 = {d: "07:00-22:00" for d in WEEKDAYS}


class ScheduleSettings(_Model):
    """When the building is open: self-service hours, staffed hours inside them, exceptions."""

    self_service: WeeklyHours = WeeklyHours(**_EVERY_DAY_7_22)
    staffed: WeeklyHours = WeeklyHours()
    public_holidays_closed: bool = Field(True, description="Danish public holidays are closed")
    exceptions: tuple[ExceptionDay, ...] = ()
