"""``[schedule]``: self-service and staffed hours per weekday, and exception days."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import Field, field_validator, model_validator

from services.core.hours import (
    WEEKDAYS,
    ExceptionHours,
    Interval,
    OpeningHours,
    parse_intervals,
)
from services.settings.base import _Model


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

    @field_validator("date")
    @classmethod
    def _real_date(cls, value: str) -> str:
        try:
            dt.date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a date") from None
        return value

    @field_validator("self_service", "staffed")
    @classmethod
    def _valid(cls, value: str | None) -> str | None:
        if value is not None:
            parse_intervals(value)
        return value

    def hours(self) -> ExceptionHours:
        """The day's rule as the schedule takes it."""
        return ExceptionHours(
            closed=self.closed,
            self_service=None if self.self_service is None else parse_intervals(self.self_service),
            staffed=None if self.staffed is None else parse_intervals(self.staffed),
            note=self.note,
        )


_EVERY_DAY_7_22 = {d: "07:00-22:00" for d in WEEKDAYS}


class ScheduleSettings(_Model):
    """When the building is open: self-service hours, staffed hours inside them, exceptions."""

    self_service: WeeklyHours = WeeklyHours(**_EVERY_DAY_7_22)
    staffed: WeeklyHours = WeeklyHours()
    public_holidays_closed: bool = Field(True, description="Danish public holidays are closed")
    exceptions: tuple[ExceptionDay, ...] = ()

    @field_validator("exceptions")
    @classmethod
    def _each_date_once(cls, days: tuple[ExceptionDay, ...]) -> tuple[ExceptionDay, ...]:
        seen: set[str] = set()
        for day in days:
            if day.date in seen:
                raise ValueError(f"{day.date} is listed twice")
            seen.add(day.date)
        return days

    @model_validator(mode="after")
    def _staffed_inside_self_service(self) -> ScheduleSettings:
        # Staff outside the day's self-service hours is almost always a typo (06:00 for 16:00):
        # the schedule would open the building then, with the doors unlocked and nobody expecting
        # it. A day without self-service hours may be staffed only.
        for day in WEEKDAYS:
            _check_inside(
                f"staffed.{day}", getattr(self.staffed, day), getattr(self.self_service, day)
            )
        for i, ex in enumerate(self.exceptions):
            if ex.closed or not ex.staffed:
                continue
            weekday = WEEKDAYS[dt.date.fromisoformat(ex.date).weekday()]
            hours = (
                ex.self_service
                if ex.self_service is not None
                else getattr(self.self_service, weekday)
            )
            _check_inside(f"exceptions.{i}.staffed", ex.staffed, hours)
        return self

    def opening_hours(self) -> OpeningHours:
        """The hours as :class:`services.core.schedule.Schedule` decides from them."""
        return OpeningHours(
            self_service=tuple(self.self_service.intervals(d) for d in range(7)),
            staffed=tuple(self.staffed.intervals(d) for d in range(7)),
            public_holidays_closed=self.public_holidays_closed,
            exceptions={dt.date.fromisoformat(e.date): e.hours() for e in self.exceptions},
        )


def _shown(intervals: tuple[Interval, ...]) -> str:
    return ", ".join(f"{a:%H:%M}-{b:%H:%M}" for a, b in intervals) or "closed"


def _check_inside(key: str, staffed: str, self_service: str) -> None:
    """Raise naming ``key`` when a staffed interval lies outside every self-service interval.

    A day without self-service hours may have staff (a day open only while staff are in); a
    staffed interval that sticks out of the self-service hours of its day is a mistake.
    """
    open_hours = parse_intervals(self_service)
    if not open_hours:
        return
    for start, end in parse_intervals(staffed):
        if not any(a <= start and end <= b for a, b in open_hours):
            raise ValueError(
                f"{key}: {_shown(((start, end),))} is outside the self-service hours "
                f"({_shown(open_hours)})"
            )
