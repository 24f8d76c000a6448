"""The SIP2 offline cache's table: one row per card the library system last answered for.

What a row means and how it is used is in :mod:`services.sip2.cache`; card numbers are never
stored, only their keyed hash.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, String
from sqlalchemy.orm import Mapped, mapped_column

from services.store.base import Base


class CachedPatron(Base):
    """One card's last answer from the library system."""

    __tablename__ = "sip2_patron_cache"

    credential_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    verifier: Mapped[str | None] = mapped_column(String(200))  # None: checked without a PIN
    standing: Mapped[str] = mapped_column(String(16))  # PatronStatus value or "unknown"
    patron_id: Mapped[str] = mapped_column(String(64), default="")
    name: Mapped[str] = mapped_column(String(200), default="")
    birth_date: Mapped[date | None] = mapped_column(Date)
    checked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    valid_until: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
