"""The programme's tables: activities, registrations and check-ins.

The queries on them are in :mod:`services.program.store`.

No card number is kept: a patron is their opaque ``patron_id`` (random in the local registry, a
keyed pseudonym from SIP2), and guests are only a head count.
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import Boolean, ForeignKey, Integer, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from services.store.base import Base, UtcDateTime, utcnow


class ProgramActivity(Base):
    """One activity of the programme (a strikkecafé on one date); ``uid`` stays across imports."""

    __tablename__ = "program_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(200), unique=True)
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, default="")
    location: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(60), default="")
    starts: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    ends: Mapped[datetime] = mapped_column(UtcDateTime())
    capacity: Mapped[int | None] = mapped_column(Integer)
    registration: Mapped[bool] = mapped_column(Boolean, default=False)
    seats_taken: Mapped[int] = mapped_column(Integer, default=0)
    url: Mapped[str] = mapped_column(Text, default="", server_default="")  # its web page


class ProgramRegistration(Base):
    """A patron's seat booked ahead of an activity that needs registration."""

    __tablename__ = "program_registrations"
    __table_args__ = (UniqueConstraint("event_pk", "patron_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_pk: Mapped[int] = mapped_column(ForeignKey("program_events.id", ondelete="CASCADE"))
    patron_id: Mapped[str] = mapped_column(String(40))
    created: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class ProgramCheckIn(Base):
    """Someone arrived: a patron (by patron id) or a group of guests (no patron, a head count)."""

    __tablename__ = "program_checkins"
    # NULL patron ids (guests) are distinct to both SQLite and PostgreSQL, so guests may repeat.
    __table_args__ = (UniqueConstraint("event_pk", "patron_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_pk: Mapped[int] = mapped_column(ForeignKey("program_events.id", ondelete="CASCADE"))
    patron_id: Mapped[str | None] = mapped_column(String(40))
    head_count: Mapped[int] = mapped_column(Integer, default=1)
    kiosk: Mapped[str] = mapped_column(String(40))
    ts: Mapped[datetime] = mapped_column(UtcDateTime())
    event_id: Mapped[str] = mapped_column(String(36), unique=True, doc="the published event's id")


PROGRAM_TABLES: tuple[Table, ...] = tuple(
    cast(Table, m.__table__) for m in (ProgramActivity, ProgramRegistration, ProgramCheckIn)
)
