"""The door's side of the room bookings: a credential's bookings of this door's room, from the
controller's own copy, and the mark that the booker came through (kept across snapshots).

One indexed query by keyed hash, only at a room's door; an ordinary door asks nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from services.core.rooms import Booking, BookingState, Room
from services.patrons.bookings import booking_of
from services.store.rooms import RoomBookingRecord

_HOLDING = (str(BookingState.BOOKED), str(BookingState.USED))


def rooms_by_door(rooms: Iterable[Room]) -> dict[str, Room]:
    """Each room door's room."""
    return {door: room for room in rooms for door in room.doors}


def room_answer(
    session: Session, rooms: Mapping[str, Room], credential_hash: str, door: str
) -> tuple[Room | None, tuple[Booking, ...]]:
    """The room ``door`` opens (None: none) and the credential's bookings of it."""
    room = rooms.get(door)
    if room is None:
        return None, ()
    records = session.scalars(
        select(RoomBookingRecord).where(
            RoomBookingRecord.credential_hash == credential_hash,
            RoomBookingRecord.room == room.id,
            RoomBookingRecord.state.in_(_HOLDING),
        )
    )
    return room, tuple(booking_of(r) for r in records)


def mark_entered(session: Session, credential_hash: str, now: datetime) -> None:
    """The booker came through the room's door: their booking under way is no no-show."""
    session.execute(
        update(RoomBookingRecord)
        .where(
            RoomBookingRecord.credential_hash == credential_hash,
            RoomBookingRecord.start <= now,
            RoomBookingRecord.end > now,
            RoomBookingRecord.entered.is_(None),
            RoomBookingRecord.state.in_(_HOLDING),
        )
        .values(entered=now)
    )
