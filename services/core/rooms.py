"""Bookable rooms: free slots, whether a booking may be made, who the room's door admits. Pure.

A room is a door (or a set of doors) with bookable slots of a fixed length, laid on the day's
opening hours from the start of each span the room is bookable in (self-service hours only, or
staffed hours too). A patron books a slot for themself and a number of companions; inside the
slot the room's door admits the booker (and that many companions stated at the pad), and outside
staffed hours nobody else but the access groups that open the door. A booker who has not come
through the door within ``no_show_minutes`` of the start loses the slot: it is released.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from services.core.hours import Interval
from services.core.schedule import END_OF_DAY, DayHours

_DAY_MINUTES = 24 * 60


class BookingState(StrEnum):
    """Where a booking is in its life. Values are stable: they are stored and distributed."""

    BOOKED = "booked"
    CANCELLED = "cancelled"
    RELEASED = "released"  # a no-show: the room was freed
    USED = "used"  # the booker came through the room's door in time


class BookingRefusal(StrEnum):
    """Why a booking cannot be made."""

    NOT_OFFERED = "not_offered"  # not one of the room's slots (past, closed, beyond the horizon)
    TAKEN = "taken"
    WEEK_FULL = "week_full"
    TOO_MANY_COMPANIONS = "too_many_companions"


@dataclass(frozen=True, slots=True)
class RoomRules:
    """One room's rules (``[rooms.<id>]`` in the settings, whose defaults are these)."""

    slot_minutes: int = 120
    bookings_per_week: int = 2  # per booker, per ISO week of the slot
    self_service_only: bool = True  # False: staffed hours are bookable too
    horizon_days: int = 14  # today and the days after it
    no_show_minutes: int = 15
    max_companions: int = 5


@dataclass(frozen=True, slots=True)
class Room:
    """A bookable room: its id, its doors and its rules."""

    id: str
    doors: frozenset[str]
    rules: RoomRules = field(default_factory=RoomRules)


@dataclass(frozen=True, slots=True, order=True)
class Slot:
    """A span of real time, ``start`` inclusive, ``end`` exclusive (aware instants)."""

    start: datetime
    end: datetime

    def overlaps(self, other: Slot) -> bool:
        """Whether the two spans share an instant."""
        return self.start < other.end and other.start < self.end

    def contains(self, at: datetime) -> bool:
        """Whether ``at`` lies inside the slot."""
        return self.start <= at < self.end


@dataclass(frozen=True, slots=True)
class Booking:
    """One booking of a room by one credential (its keyed hash), with its companions."""

    id: int
    room: str
    slot: Slot
    booker: str = field(repr=False)  # the keyed credential hash, never the card
    companions: int = 0
    state: BookingState = BookingState.BOOKED
    entered: datetime | None = None  # when the booker first came through the room's door
    made: datetime | None = None  # when it was booked (a slot under way: the wait starts then)


def release_at(booking: Booking, rules: RoomRules) -> datetime:
    """The instant a booking whose booker has not come is released: the minutes after the
    slot's start, or after the booking itself for a slot booked while under way."""
    wait_from = booking.slot.start
    if booking.made is not None and booking.made > wait_from:
        wait_from = booking.made
    return wait_from + timedelta(minutes=rules.no_show_minutes)


def is_no_show(booking: Booking, rules: RoomRules, now: datetime) -> bool:
    """A booking still waiting for its booker at or after its release instant."""
    return (
        booking.state is BookingState.BOOKED
        and booking.entered is None
        and now >= release_at(booking, rules)
    )


def holds(booking: Booking, rules: RoomRules, now: datetime) -> bool:
    """Whether the booking still holds its slot at ``now`` (booked or used, not a no-show)."""
    if booking.state is BookingState.USED:
        return True
    return booking.state is BookingState.BOOKED and not is_no_show(booking, rules, now)


def _minutes(t: time, *, end: bool = False) -> int:
    if end and t == END_OF_DAY:
        return _DAY_MINUTES
    return t.hour * 60 + t.minute


def _spans(intervals: Iterable[Interval]) -> list[tuple[int, int]]:
    return [(_minutes(a), _minutes(b, end=True)) for a, b in intervals]


def _minus(spans: list[tuple[int, int]], cut: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for start, end in spans:
        pieces = [(start, end)]
        for c_start, c_end in cut:
            pieces = [
                piece
                for a, b in pieces
                for piece in ((a, min(b, c_start)), (max(a, c_end), b))
                if piece[0] < piece[1]
            ]
        out.extend(pieces)
    return sorted(out)


def _union(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def bookable_spans(hours: DayHours, rules: RoomRules) -> list[tuple[int, int]]:
    """The day's bookable spans as minutes after midnight: self-service hours without staff, or
    every open hour where the room is bookable in staffed hours too."""
    self_service, staffed = _spans(hours.self_service), _spans(hours.staffed)
    if rules.self_service_only:
        return _minus(self_service, staffed)
    return _union(self_service + staffed)


def _at(day: date, minute: int, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=tz) + timedelta(minutes=minute)


def day_slots(hours: DayHours, rules: RoomRules, tz: ZoneInfo) -> Iterator[Slot]:
    """Every slot of the room on one day, laid from the start of each bookable span."""
    for start, end in bookable_spans(hours, rules):
        at = start
        while at + rules.slot_minutes <= end:
            wall_start = _at(hours.date, at, tz)
            wall_end = _at(hours.date, at + rules.slot_minutes, tz)
            yield Slot(wall_start, wall_end)
            at += rules.slot_minutes


def free_slots(
    room: Room,
    days: Iterable[DayHours],
    bookings: Iterable[Booking],
    now: datetime,
    tz: ZoneInfo,
) -> list[Slot]:
    """The room's slots that can still be booked: not over, within the horizon, not held.

    ``days`` are the schedule's hours of today and the days after (the caller passes at least
    ``horizon_days`` of them; later ones are ignored). A slot under way counts as free when its
    booking was released, so a room a no-show freed can be taken for the rest of it.
    """
    today = now.astimezone(tz).date()
    last = today + timedelta(days=room.rules.horizon_days - 1)
    taken = _Held(b.slot for b in bookings if b.room == room.id and holds(b, room.rules, now))
    return [
        slot
        for hours in days
        if today <= hours.date <= last
        for slot in day_slots(hours, room.rules, tz)
        if slot.end > now and not taken.overlaps(slot)
    ]


class _Held:
    """Held spans, answering "does any overlap this slot" in log time (a kiosk lists hundreds of
    slots against every booking of the horizon)."""

    def __init__(self, spans: Iterable[Slot]) -> None:
        ordered = sorted(spans)
        self._starts = [s.start for s in ordered]
        self._reach: list[datetime] = []  # the latest end among the spans up to each one
        for span in ordered:
            self._reach.append(max(self._reach[-1], span.end) if self._reach else span.end)

    def overlaps(self, slot: Slot) -> bool:
        """Whether a held span shares an instant with ``slot``."""
        before_end = bisect_left(self._starts, slot.end)  # spans that start before it ends
        return before_end > 0 and self._reach[before_end - 1] > slot.start


def _week(moment: datetime, tz: ZoneInfo) -> tuple[int, int]:
    year, week, _ = moment.astimezone(tz).isocalendar()
    return year, week


def booking_refusal(
    room: Room,
    slot: Slot,
    booker: str,
    companions: int,
    bookings: Iterable[Booking],
    offered: Iterable[Slot],
    now: datetime,
    tz: ZoneInfo,
) -> BookingRefusal | None:
    """None if ``booker`` may book ``slot`` of ``room`` for ``companions`` more; else why not.

    ``offered`` is every slot of the room (:func:`day_slots` of the horizon's days), so a taken
    slot is told apart from one that is not the room's; ``bookings`` are the room's bookings.
    """
    mine = [b for b in bookings if b.room == room.id]
    if companions < 0 or companions > room.rules.max_companions:
        return BookingRefusal.TOO_MANY_COMPANIONS
    today = now.astimezone(tz).date()
    last = today + timedelta(days=room.rules.horizon_days - 1)
    if (
        slot not in set(offered)
        or slot.end <= now
        or not today <= slot.start.astimezone(tz).date() <= last
    ):
        return BookingRefusal.NOT_OFFERED
    if any(b.slot.overlaps(slot) and holds(b, room.rules, now) for b in mine):
        return BookingRefusal.TAKEN
    week = _week(slot.start, tz)
    this_week = [
        b
        for b in mine
        if b.booker == booker
        and b.state in (BookingState.BOOKED, BookingState.USED)
        and _week(b.slot.start, tz) == week
    ]
    if len(this_week) >= room.rules.bookings_per_week:
        return BookingRefusal.WEEK_FULL
    return None


def admitting_booking(room: Room, bookings: Iterable[Booking], now: datetime) -> Booking | None:
    """Of one credential's bookings, the one that opens ``room``'s door at ``now``, if any."""
    return next(
        (
            b
            for b in bookings
            if b.room == room.id and b.slot.contains(now) and holds(b, room.rules, now)
        ),
        None,
    )


def no_shows(room: Room, bookings: Iterable[Booking], now: datetime) -> list[Booking]:
    """The room's bookings to release at ``now``: their booker has not come in time."""
    return [b for b in bookings if b.room == room.id and is_no_show(b, room.rules, now)]
