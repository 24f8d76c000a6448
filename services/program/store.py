"""The library's programme: activities, registration and check-in, safe across many kiosks.

In code a programme entry is an *activity* (a strikkecafé on one date); "event" is kept for the
bus events of :mod:`services.core.events`, such as the ``event.checkin`` a check-in publishes.

Capacity is a counter of seats on the activity's row (``seats_taken``): a registration takes a seat
ahead of the activity, a walk-in (a card without registration, or guests with a head count) takes
seats at check-in, and a registered patron checking in takes none. Every check-in and
registration first locks the activity's row with an UPDATE, so two kiosks deciding at the same
moment are serialised by the database itself, SQLite and PostgreSQL alike, and no
read-then-write race can sell the last seat twice. A patron checks in once per activity (a
unique constraint backs it up).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import func, or_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from services.store.program import ProgramActivity, ProgramCheckIn, ProgramRegistration

MAX_HEAD_COUNT = 50


class CheckInOutcome(StrEnum):
    """What a check-in attempt came to."""

    CHECKED_IN = "checked_in"
    ALREADY = "already_checked_in"
    FULL = "full"
    NOT_OPEN_YET = "not_open_yet"
    ENDED = "ended"
    NO_SUCH_EVENT = "no_such_event"
    BAD_HEAD_COUNT = "bad_head_count"


class RegisterOutcome(StrEnum):
    """What a registration attempt came to."""

    REGISTERED = "registered"
    ALREADY = "already_registered"
    FULL = "full"
    NOT_NEEDED = "not_needed"
    STARTED = "started"
    NO_SUCH_EVENT = "no_such_event"


@dataclass(frozen=True)
class ActivitySpec:
    """An activity as a programme file describes it, before it is stored."""

    uid: str
    title: str
    starts: datetime
    ends: datetime
    description: str = ""
    location: str = ""
    category: str = ""
    capacity: int | None = None
    registration: bool = False
    url: str = ""  # the activity's page on the library's site (http/https only)


@dataclass(frozen=True)
class ProgramItem:
    """An activity as the kiosk lists it, with its seats and attendance."""

    uid: str
    title: str
    description: str
    location: str
    category: str
    starts: datetime
    ends: datetime
    capacity: int | None
    registration: bool
    seats_taken: int
    attendance: int
    url: str = ""

    @property
    def seats_left(self) -> int | None:
        """Free seats, or None for an activity without a limit."""
        return None if self.capacity is None else max(0, self.capacity - self.seats_taken)

    def check_in_open(self, now: datetime, window: timedelta) -> bool:
        """True from ``window`` before the start until the end."""
        return self.starts - window <= now < self.ends


@dataclass(frozen=True)
class CheckInResult:
    """The outcome, and for a check-in that counted: its head count and published event id."""

    outcome: CheckInOutcome
    title: str = ""
    head_count: int = 0
    event_id: str | None = None

    @property
    def ok(self) -> bool:
        """True when the arrival was recorded."""
        return self.outcome is CheckInOutcome.CHECKED_IN


def activities_between(session: Session, start: datetime, end: datetime) -> list[ProgramItem]:
    """Events that have not ended by ``start`` and begin before ``end``, in time order."""
    attendance = (
        select(ProgramCheckIn.event_pk, func.sum(ProgramCheckIn.head_count).label("people"))
        .group_by(ProgramCheckIn.event_pk)
        .subquery()
    )
    rows = session.execute(
        select(ProgramActivity, func.coalesce(attendance.c.people, 0))
        .outerjoin(attendance, attendance.c.event_pk == ProgramActivity.id)
        .where(ProgramActivity.ends > start, ProgramActivity.starts < end)
        .order_by(ProgramActivity.starts, ProgramActivity.title)
    )
    return [_item(activity, int(people)) for activity, people in rows]


def _item(activity: ProgramActivity, attendance: int) -> ProgramItem:
    return ProgramItem(
        uid=activity.uid,
        title=activity.title,
        description=activity.description,
        location=activity.location,
        category=activity.category,
        starts=activity.starts,
        ends=activity.ends,
        capacity=activity.capacity,
        registration=activity.registration,
        seats_taken=activity.seats_taken,
        attendance=attendance,
        url=activity.url or "",
    )


def _lock(session: Session, uid: str) -> ProgramActivity | None:
    """Lock the activity's row for the rest of the transaction and read it fresh; None if absent.

    A no-op UPDATE rather than SELECT … FOR UPDATE: SQLite has no row locks, but an UPDATE takes
    its write lock (waiting ``busy_timeout``), and on PostgreSQL it takes the row lock, so the
    reads below see every check-in committed before ours.
    """
    locked = session.execute(
        update(ProgramActivity)
        .where(ProgramActivity.uid == uid)
        .values(seats_taken=ProgramActivity.seats_taken)
        .execution_options(synchronize_session=False)
    )
    if cast(CursorResult[Any], locked).rowcount == 0:
        return None
    return session.scalars(
        select(ProgramActivity)
        .where(ProgramActivity.uid == uid)
        .execution_options(populate_existing=True)
    ).one()


def _take_seats(session: Session, activity: ProgramActivity, seats: int) -> bool:
    """Take ``seats`` if they fit; conditional, so it stays right even without the lock."""
    if seats == 0:
        return True
    done = session.execute(
        update(ProgramActivity)
        .where(ProgramActivity.id == activity.id)
        .where(
            (ProgramActivity.capacity.is_(None))
            | (ProgramActivity.seats_taken + seats <= ProgramActivity.capacity)
        )
        .values(seats_taken=ProgramActivity.seats_taken + seats)
        .execution_options(synchronize_session=False)
    )
    return cast(CursorResult[Any], done).rowcount == 1


def _exists(
    session: Session,
    model: type[ProgramRegistration] | type[ProgramCheckIn],
    event_pk: int,
    patron_id: str,
) -> bool:
    found = session.scalar(
        select(model.id).where(model.event_pk == event_pk, model.patron_id == patron_id)
    )
    return found is not None


def check_in(
    session: Session,
    uid: str,
    *,
    patron_id: str | None,
    head_count: int,
    kiosk: str,
    event_id: str,
    now: datetime,
    window: timedelta,
) -> CheckInResult:
    """Record an arrival; the caller commits on ``ok`` and rolls back otherwise.

    ``patron_id`` None is a guest check-in of ``head_count`` people; a patron counts as one.
    """
    if patron_id is not None:
        head_count = 1
    if not 1 <= head_count <= MAX_HEAD_COUNT:
        return CheckInResult(CheckInOutcome.BAD_HEAD_COUNT)
    activity = _lock(session, uid)
    if activity is None:
        return CheckInResult(CheckInOutcome.NO_SUCH_EVENT)
    title = activity.title
    if now < activity.starts - window:
        return CheckInResult(CheckInOutcome.NOT_OPEN_YET, title)
    if now >= activity.ends:
        return CheckInResult(CheckInOutcome.ENDED, title)
    seats = head_count
    if patron_id is not None:
        if _exists(session, ProgramCheckIn, activity.id, patron_id):
            return CheckInResult(CheckInOutcome.ALREADY, title)
        if activity.registration and _exists(session, ProgramRegistration, activity.id, patron_id):
            seats = 0  # the seat was taken when they registered
    if not _take_seats(session, activity, seats):
        return CheckInResult(CheckInOutcome.FULL, title)
    session.add(
        ProgramCheckIn(
            event_pk=activity.id,
            patron_id=patron_id,
            head_count=head_count,
            kiosk=kiosk,
            ts=now,
            event_id=event_id,
        )
    )
    session.flush()
    return CheckInResult(CheckInOutcome.CHECKED_IN, title, head_count, event_id)


def register(session: Session, uid: str, *, patron_id: str, now: datetime) -> RegisterOutcome:
    """Book a seat for ``patron_id``; the caller commits on REGISTERED and rolls back otherwise."""
    activity = _lock(session, uid)
    if activity is None:
        return RegisterOutcome.NO_SUCH_EVENT
    if not activity.registration:
        return RegisterOutcome.NOT_NEEDED
    if now >= activity.starts:
        return RegisterOutcome.STARTED
    if _exists(session, ProgramRegistration, activity.id, patron_id):
        return RegisterOutcome.ALREADY
    if not _take_seats(session, activity, 1):
        return RegisterOutcome.FULL
    session.add(ProgramRegistration(event_pk=activity.id, patron_id=patron_id, created=now))
    session.flush()
    return RegisterOutcome.REGISTERED


def is_registered(session: Session, uid: str, patron_id: str) -> bool:
    """Whether ``patron_id`` holds a registration for the activity ``uid``."""
    found = session.scalar(
        select(ProgramRegistration.id)
        .join(ProgramActivity, ProgramActivity.id == ProgramRegistration.event_pk)
        .where(ProgramActivity.uid == uid, ProgramRegistration.patron_id == patron_id)
    )
    return found is not None


def withdraw_activities(
    session: Session, series: Iterable[str], keep: Iterable[str], start: datetime, end: datetime
) -> int:
    """Delete the activities of these series (uid ``S`` or ``S/…``) starting in [start, end)
    that are not in ``keep``: occurrences the calendar has cancelled, excluded or moved away. Their
    registrations and check-ins go with them (the recorder keeps the check-in events); count.
    """
    kept = set(keep)
    gone = 0
    for uid in series:
        rows = session.scalars(
            select(ProgramActivity).where(
                or_(
                    ProgramActivity.uid == uid,
                    ProgramActivity.uid.startswith(f"{uid}/", autoescape=True),
                ),
                ProgramActivity.starts >= start,
                ProgramActivity.starts < end,
            )
        )
        for row in rows:
            if row.uid not in kept:
                session.delete(row)
                gone += 1
    session.flush()
    return gone


def upsert_activities(session: Session, activities: Iterable[ActivitySpec]) -> tuple[int, int]:
    """Add new activities and update known ones by ``uid`` (seats taken are kept).

    Returns (added, updated).
    """
    added = updated = 0
    for item in activities:
        row = session.scalars(
            select(ProgramActivity).where(ProgramActivity.uid == item.uid)
        ).one_or_none()
        if row is None:
            row = ProgramActivity(uid=item.uid, seats_taken=0)
            session.add(row)
            added += 1
        else:
            updated += 1
        row.title, row.description, row.location = item.title, item.description, item.location
        row.category, row.starts, row.ends = item.category, item.starts, item.ends
        row.capacity, row.registration = item.capacity, item.registration
        row.url = item.url
    session.flush()
    return added, updated
