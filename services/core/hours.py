"""Opening hours as values: intervals per weekday, exception days, and the ``HH:MM-HH:MM`` syntax.

The settings parse and check the file's text into these (``services.settings.schedule``); the
schedule (:mod:`services.core.schedule`) decides from them. Pure.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, time

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_INTERVAL = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
Interval = tuple[time, time]
Week = tuple[tuple[Interval, ...], ...]
"""Seven entries, Monday first (as ``date.weekday()``), each a day's sorted intervals."""


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


@dataclass(frozen=True)
class ExceptionHours:
    """One date's own rule: closed, or hours that replace the week's (None = the week's)."""

    closed: bool = False
    self_service: tuple[Interval, ...] | None = None
    staffed: tuple[Interval, ...] | None = None
    note: str = ""


@dataclass(frozen=True)
class OpeningHours:
    """Everything the schedule decides from, besides the clock, the time zone and the holidays."""

    self_service: Week
    staffed: Week = ((),) * 7
    public_holidays_closed: bool = True
    exceptions: Mapping[date, ExceptionHours] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.self_service) != 7 or len(self.staffed) != 7:
            raise ValueError("OpeningHours needs seven days of self-service and staffed hours")
