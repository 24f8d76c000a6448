"""Room bookings: who booked which room for which slot, and what became of the booking.

The booker is only their credential's keyed hash (and its pseudonym, for staff and the events);
never the card in clear. The server holds the bookings staff and patrons make; each door
controller holds a copy of those that still matter, from the lists' snapshot
(:mod:`services.patrons.list_snapshot`), with ``entered`` kept as the door saw it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from services.store.base import Base, UtcDateTime, utcnow


class RoomBookingRecord(Base):
    """One booking of a room's slot."""

    __tablename__ = "room_bookings"
    __table_args__ = (Index("ix_room_bookings_room_start", "site", "room", "start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site: Mapped[str] = mapped_column(String(41))
    room: Mapped[str] = mapped_column(String(31))
    start: Mapped[datetime] = mapped_column(UtcDateTime())
    end: Mapped[datetime] = mapped_column(UtcDateTime())
    credential_hash: Mapped[str] = mapped_column(String(64), index=True)
    pseudonym: Mapped[str] = mapped_column(String(12), default="")
    companions: Mapped[int] = mapped_column(default=0)
    # Who made it: "patron" at a kiosk (booked_by the kiosk id) or "staff" (the staff user).
    via: Mapped[str] = mapped_column(String(10), default="staff")
    booked_by: Mapped[str] = mapped_column(String(64), default="")
    state: Mapped[str] = mapped_column(String(10), default="booked")  # a BookingState value
    entered: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    changed: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
