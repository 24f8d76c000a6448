"""Room bookings on the server: book, cancel, list, and release the no-shows. Audited.

Every function takes the ``session`` first and the site id, and leaves the transaction to the
caller (the CLI, the kiosk, the dashboard). A change writes one audit row and raises the lists'
version, so the next snapshot carries the bookings to the door controllers. The version row is
raised *before* the rules are checked: it is a row lock (PostgreSQL) or the write lock (SQLite),
so two kiosks cannot both take the last slot.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.core.credentials import Credential, SiteKey
from services.core.events import EventType
from services.core.rooms import (
    Booking,
    BookingRefusal,
    BookingState,
    Room,
    Slot,
    booking_refusal,
    day_slots,
    free_slots,
    is_no_show,
)
from services.core.schedule import DayHours, Schedule
from services.patrons.access_lists import ListError, bump_version
from services.store.access_lists import ListAudit
from services.store.recorder import EventRecord
from services.store.rooms import RoomBookingRecord

_WEEK = timedelta(days=7)


class BookingError(ListError):
    """A booking that cannot be made or cancelled; ``code`` says why (the screens' words)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


_REFUSAL_TEXT = {
    BookingRefusal.NOT_OFFERED: "that is not one of the room's free slots",
    BookingRefusal.TAKEN: "that slot is already booked",
    BookingRefusal.WEEK_FULL: "the patron already has the bookings allowed this week",
    BookingRefusal.TOO_MANY_COMPANIONS: "more companions than the room allows",
}


@dataclass(frozen=True, slots=True)
class BookingView:
    """A booking as staff and screens see it: no hash, the booker by pseudonym only."""

    id: int
    room: str
    start: datetime
    end: datetime
    companions: int
    state: BookingState
    via: str
    booked_by: str
    pseudonym: str


def booking_of(record: RoomBookingRecord) -> Booking:
    """The pure booking of a stored one."""
    return Booking(
        id=record.id,
        room=record.room,
        slot=Slot(record.start, record.end),
        booker=record.credential_hash,
        companions=record.companions,
        state=BookingState(record.state),
        entered=record.entered,
        made=record.created,
    )


def view_of(record: RoomBookingRecord) -> BookingView:
    """What may be shown of a stored booking."""
    return BookingView(
        record.id,
        record.room,
        record.start,
        record.end,
        record.companions,
        BookingState(record.state),
        record.via,
        record.booked_by,
        record.pseudonym,
    )


def horizon_days(schedule: Schedule, room: Room, now: datetime) -> list[DayHours]:
    """The schedule's hours of the room's booking horizon, today first."""
    today = now.astimezone(schedule.timezone).date()
    return [schedule.day(today + timedelta(days=n)) for n in range(room.rules.horizon_days)]


def _records(session: Session, site: str, room: str, since: datetime) -> list[RoomBookingRecord]:
    return list(
        session.scalars(
            select(RoomBookingRecord)
            .where(
                RoomBookingRecord.site == site,
                RoomBookingRecord.room == room,
                RoomBookingRecord.end > since,
            )
            .order_by(RoomBookingRecord.start)
        )
    )


def room_bookings(session: Session, site: str, room: str, since: datetime) -> list[Booking]:
    """The room's bookings that end after ``since``, in start order."""
    return [booking_of(r) for r in _records(session, site, room, since)]


def free(session: Session, site: str, room: Room, schedule: Schedule, now: datetime) -> list[Slot]:
    """The room's free slots of the booking horizon."""
    bookings = room_bookings(session, site, room.id, now)
    return free_slots(room, horizon_days(schedule, room, now), bookings, now, schedule.timezone)


def _audit(session: Session, actor: str, action: str, subject: str, detail: str, site: str) -> None:
    session.add(
        ListAudit(actor=actor[:64], site=site, action=action, subject=subject, detail=detail[:500])
    )


def book(
    session: Session,
    key: SiteKey,
    site: str,
    room: Room,
    schedule: Schedule,
    credential: Credential,
    start: datetime,
    *,
    companions: int = 0,
    via: str,
    booked_by: str,
    now: datetime,
) -> BookingView:
    """Book the slot of ``room`` that starts at ``start`` for the holder of ``credential``."""
    bump_version(session, site)  # first: the lock that makes the check and the insert one step
    tz = schedule.timezone
    offered = [s for d in horizon_days(schedule, room, now) for s in day_slots(d, room.rules, tz)]
    slot = next((s for s in offered if s.start == start), Slot(start, start))
    week_start = datetime.combine(
        start.astimezone(tz).date() - timedelta(days=start.astimezone(tz).weekday()),
        time(),
        tzinfo=tz,
    )
    bookings = room_bookings(session, site, room.id, min(week_start, now - _WEEK))
    booker = key.credential_hash(credential)
    refusal = booking_refusal(room, slot, booker, companions, bookings, offered, now, tz)
    if refusal is not None:
        raise BookingError(str(refusal), f"room {room.id}: {_REFUSAL_TEXT[refusal]}")
    record = RoomBookingRecord(
        site=site,
        room=room.id,
        start=slot.start,
        end=slot.end,
        credential_hash=booker,
        pseudonym=key.pseudonym(credential),
        companions=companions,
        via=via,
        booked_by=booked_by,
        state=str(BookingState.BOOKED),
        created=now,
        changed=now,
    )
    session.add(record)
    session.flush()
    detail = f"{room.id} {slot.start.isoformat()} +{companions} via {via}"
    _audit(session, booked_by, "room.book", record.pseudonym, detail, site)
    return view_of(record)


def cancel(
    session: Session,
    site: str,
    booking_id: int,
    *,
    actor: str,
    now: datetime,
    credential_hash: str | None = None,
) -> BookingView:
    """Cancel a booking not yet over; with ``credential_hash`` (the kiosk) only the booker's own."""
    record = session.get(RoomBookingRecord, booking_id, with_for_update=True)
    if (
        record is None
        or record.site != site
        or (credential_hash is not None and record.credential_hash != credential_hash)
    ):
        raise BookingError("not_found", f"no booking {booking_id}")
    if record.state != BookingState.BOOKED or record.end <= now:
        raise BookingError("not_cancellable", f"booking {booking_id} is {record.state}")
    record.state, record.changed = str(BookingState.CANCELLED), now
    _audit(session, actor, "room.cancel", record.pseudonym, f"{record.room} {record.start}", site)
    bump_version(session, site)
    return view_of(record)


def own_bookings(
    session: Session, key: SiteKey, site: str, credential: Credential, now: datetime
) -> list[BookingView]:
    """The holder's bookings that still hold or lie ahead, in start order."""
    booker = key.credential_hash(credential)
    rows = session.scalars(
        select(RoomBookingRecord)
        .where(
            RoomBookingRecord.site == site,
            RoomBookingRecord.credential_hash == booker,
            RoomBookingRecord.end > now,
            RoomBookingRecord.state.in_((BookingState.BOOKED, BookingState.USED)),
        )
        .order_by(RoomBookingRecord.start)
    )
    return [view_of(r) for r in rows]


def bookings_between(
    session: Session, site: str, start: datetime, end: datetime
) -> list[BookingView]:
    """Every booking of the site whose slot starts in ``[start, end)``, in start order."""
    rows = session.scalars(
        select(RoomBookingRecord)
        .where(
            RoomBookingRecord.site == site,
            RoomBookingRecord.start >= start,
            RoomBookingRecord.start < end,
        )
        .order_by(RoomBookingRecord.start, RoomBookingRecord.room)
    )
    return [view_of(r) for r in rows]


def day_bounds(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """Local midnight to local midnight of ``day``."""
    start = datetime.combine(day, time(), tzinfo=tz)
    return start, datetime.combine(day + timedelta(days=1), time(), tzinfo=tz)


def todays(session: Session, site: str, now: datetime, tz: ZoneInfo) -> list[BookingView]:
    """Today's bookings of the site, cancelled ones left out."""
    start, end = day_bounds(now.astimezone(tz).date(), tz)
    return [
        b for b in bookings_between(session, site, start, end) if b.state != BookingState.CANCELLED
    ]


def _entry(session: Session, room: Room, record: RoomBookingRecord) -> datetime | None:
    """When the booker came through one of the room's doors in the slot, from the recorder."""
    return session.scalar(
        select(EventRecord.ts)
        .where(
            EventRecord.type == str(EventType.ACCESS_GRANTED),
            EventRecord.reason == "booking",
            EventRecord.credential == record.pseudonym,
            EventRecord.source.in_(sorted(room.doors)),
            EventRecord.ts >= record.start,
            EventRecord.ts < record.end,
        )
        .order_by(EventRecord.ts)
        .limit(1)
    )


def settle(session: Session, site: str, rooms: tuple[Room, ...], now: datetime) -> list[int]:
    """Mark the bookings whose booker came as used and release the no-shows; their ids.

    The doors decide a no-show offline by themselves; this keeps the server's rows (and so the
    kiosk, the dashboard and the next snapshot) in step with them.
    """
    changed: list[int] = []
    for room in rooms:
        for record in _records(session, site, room.id, now - _WEEK):
            if record.state != BookingState.BOOKED or record.start > now:
                continue
            entered = _entry(session, room, record)
            if entered is not None:
                record.state, record.entered = str(BookingState.USED), entered
            elif is_no_show(booking_of(record), room.rules, now):
                record.state = str(BookingState.RELEASED)
                _audit(session, "aabent", "room.release", record.pseudonym, record.room, site)
            else:
                continue
            record.changed = now
            changed.append(record.id)
    if changed:
        bump_version(session, site)
    return changed


def refusal_text(code: str) -> str:
    """The English words of a refusal code (the CLI's)."""
    try:
        return _REFUSAL_TEXT[BookingRefusal(code)]
    except ValueError:
        return code.replace("_", " ")
