"""The local directory's loans and reservations (queries in :mod:`services.patrons.loans`).

A loan links a patron (by ``patron_id``) to a catalogue copy (by barcode, which survives a
catalogue re-import; copy rows do not). A reservation is for a title (record id).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import cast

from sqlalchemy import Date, Integer, String, Table, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from services.store.base import Base, UtcDateTime, utcnow


class LoanRecord(Base):
    """One copy lent to one patron."""

    __tablename__ = "local_loans"

    id: Mapped[int] = mapped_column(primary_key=True)
    patron_id: Mapped[str] = mapped_column(String(40), index=True)
    barcode: Mapped[str] = mapped_column(String(64), unique=True)  # a copy is lent once
    loaned: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    due: Mapped[date] = mapped_column(Date)
    renewals: Mapped[int] = mapped_column(Integer, default=0)


class ReservationRecord(Base):
    """A patron waiting for a title; ``ready`` once a copy is on the pickup shelf."""

    __tablename__ = "local_reservations"
    __table_args__ = (UniqueConstraint("patron_id", "record_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patron_id: Mapped[str] = mapped_column(String(40), index=True)
    record_id: Mapped[str] = mapped_column(String(64), index=True)
    created: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    ready: Mapped[bool] = mapped_column(default=False)
    barcode: Mapped[str | None] = mapped_column(String(64))
    pickup_number: Mapped[str | None] = mapped_column(String(40))
    pickup_by: Mapped[date | None] = mapped_column(Date)


LOAN_TABLES: tuple[Table, ...] = (
    cast(Table, LoanRecord.__table__),
    cast(Table, ReservationRecord.__table__),
)
