"""Access groups: staff, cleaners, volunteers on their own weekly hours, doors and dates. Pure.

A group admits its members at a door when the moment lies inside one of its weekly windows, the
door is one of its doors (none named: every door) and the day within its validity. Windows may
reach outside the library's hours (cleaners 05:30-07:30); inside them a member passes even while
the building is closed for everyone else.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from enum import StrEnum

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WINDOW = re.compile(r"^(\w{3})(?:-(\w{3}))?\s+(\d{1,2}:\d{2})-(\d{1,2}:\d{2})$")


class WhenArmed(StrEnum):
    """What a member's entry does while the intruder alarm is armed (the building's panel)."""

    DISARM = "disarm"  # the member may enter and the alarm is disarmed
    REFUSE = "refuse"  # the member is refused until someone who may disarm has come


@dataclass(frozen=True, slots=True)
class WeeklyWindow:
    """One weekday's span, ``start`` inclusive, ``end`` exclusive (never across midnight)."""

    weekday: int  # 0 = Monday, as datetime.weekday()
    start: time
    end: time

    def __post_init__(self) -> None:
        if not 0 <= self.weekday <= 6:
            raise ValueError(f"weekday must be 0 (Monday) to 6 (Sunday), got {self.weekday}")
        if self.end <= self.start:
            raise ValueError(
                f"{WEEKDAYS[self.weekday]} {self.start:%H:%M}-{self.end:%H:%M}: the end must be "
                "after the start (split a span across midnight into two days)"
            )

    def contains(self, at: datetime) -> bool:
        """Whether the local wall time ``at`` lies inside this window."""
        return at.weekday() == self.weekday and self.start <= at.time() < self.end

    def __str__(self) -> str:
        return f"{WEEKDAYS[self.weekday]} {self.start:%H:%M}-{self.end:%H:%M}"


def _clock(text: str) -> time:
    hours, minutes = (int(part) for part in text.split(":"))
    if hours == 24 and minutes == 0:
        return time.max
    return time(hours, minutes)


def parse_windows(text: str) -> tuple[WeeklyWindow, ...]:
    """``"mon-fri 05:30-07:30, tue 13:00-16:00"`` as windows; a clear ValueError otherwise."""
    windows: list[WeeklyWindow] = []
    for part in (p.strip() for p in text.split(",")):
        match = _WINDOW.match(part.lower())
        if match is None:
            raise ValueError(
                f"window {part!r}: write it as 'tue 13:00-16:00' or 'mon-fri 6:00-8:00'"
            )
        first, last, start, end = match.groups()
        for day in (first, last or first):
            if day not in WEEKDAYS:
                raise ValueError(f"window {part!r}: {day!r} is not one of {', '.join(WEEKDAYS)}")
        lo, hi = WEEKDAYS.index(first), WEEKDAYS.index(last or first)
        if hi < lo:
            raise ValueError(f"window {part!r}: the days run backwards")
        try:
            span = (_clock(start), _clock(end))
        except ValueError as exc:
            raise ValueError(f"window {part!r}: {exc}") from None
        windows.extend(WeeklyWindow(day, *span) for day in range(lo, hi + 1))
    return tuple(windows)


def format_windows(windows: Iterable[WeeklyWindow]) -> str:
    """The windows as :func:`parse_windows` reads them back."""
    return ", ".join(str(w) for w in windows)


@dataclass(frozen=True, slots=True)
class AccessGroup:
    """A named group with its windows, doors (empty: all), validity and PIN rule."""

    name: str
    windows: tuple[WeeklyWindow, ...]
    doors: frozenset[str] = field(default_factory=frozenset)
    valid_from: date | None = None
    valid_until: date | None = None  # inclusive
    pin_required: bool = True
    when_armed: WhenArmed = WhenArmed.REFUSE

    def valid_on(self, day: date) -> bool:
        """Whether ``day`` lies within the group's validity dates."""
        if self.valid_from is not None and day < self.valid_from:
            return False
        return self.valid_until is None or day <= self.valid_until

    def admits(self, at: datetime, door: str) -> bool:
        """Whether the group opens ``door`` at the local wall time ``at``."""
        return (
            self.valid_on(at.date())
            and (not self.doors or door in self.doors)
            and any(w.contains(at) for w in self.windows)
        )


@dataclass(frozen=True, slots=True)
class Membership:
    """A credential's place in a group, with its own expiry (inclusive)."""

    group: AccessGroup
    expires: date | None = None

    def admits(self, at: datetime, door: str) -> bool:
        """Whether this membership opens ``door`` at ``at``."""
        if self.expires is not None and at.date() > self.expires:
            return False
        return self.group.admits(at, door)


def admitting_group(
    memberships: Iterable[Membership], at: datetime, door: str
) -> AccessGroup | None:
    """The group that opens ``door`` at ``at`` for this credential, if any.

    Where several do, one that asks no PIN is preferred, then one that may disarm: a member is
    held to the most lenient of their own groups, never to a stricter one by chance of order.
    """
    open_now = [m.group for m in memberships if m.admits(at, door)]
    if not open_now:
        return None
    return min(
        open_now,
        key=lambda g: (g.pin_required, g.when_armed is not WhenArmed.DISARM, g.name),
    )


def may_enter_while_armed(group: AccessGroup) -> bool:
    """The group's rule for an armed building: the building's panel asks this."""
    return group.when_armed is WhenArmed.DISARM
