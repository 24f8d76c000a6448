"""PIN failures and card standings on a door controller or kiosk, for :mod:`services.core.lockout`.

The count lives on the device whichever directory answers (the local registry or the library
system over SIP2), so a restart or an unreachable library system never resets a guessing attack.
Only keyed credential hashes are stored. Every swipe reads one card's recent failures and one
reader's recent failures, so both queries have an index on (key, time).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Delete, Index, String, delete, or_, select
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Mapped, Session, mapped_column

from services.core.lockout import BLOCK_WINDOW
from services.store.base import Base, UtcDateTime

HASH_LENGTH = 64  # SiteKey.credential_hash: HMAC-SHA256 in hex


class PinFailure(Base):
    """One wrong PIN for a card at a reader."""

    __tablename__ = "pin_failures"
    __table_args__ = (
        Index("ix_pin_failures_credential_hash_ts", "credential_hash", "ts"),
        Index("ix_pin_failures_reader_id_ts", "reader_id", "ts"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    credential_hash: Mapped[str] = mapped_column(String(HASH_LENGTH))
    reader_id: Mapped[str] = mapped_column(String(64))
    ts: Mapped[datetime] = mapped_column(UtcDateTime, index=True)  # index: retention purge


class CardStanding(Base):
    """A card's last correct PIN and whether it is blocked until staff reset it."""

    __tablename__ = "card_standings"

    credential_hash: Mapped[str] = mapped_column(String(HASH_LENGTH), primary_key=True)
    last_success: Mapped[datetime | None] = mapped_column(UtcDateTime)
    blocked: Mapped[bool] = mapped_column(default=False)
    blocked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


def _standing(session: Session, credential_hash: str) -> CardStanding:
    standing = session.get(CardStanding, credential_hash)
    if standing is None:
        standing = CardStanding(credential_hash=credential_hash, blocked=False)
        session.add(standing)
    return standing


def record_failure(session: Session, credential_hash: str, reader_id: str, now: datetime) -> None:
    """Record a wrong PIN for the card at the reader."""
    session.add(PinFailure(credential_hash=credential_hash, reader_id=reader_id, ts=now))
    session.flush()  # so the caller's next history read in this transaction sees it


def record_success(session: Session, credential_hash: str, now: datetime) -> None:
    """Record a correct PIN: it ends a run of failures (the 24-hour count stays)."""
    _standing(session, credential_hash).last_success = now
    session.flush()


def card_history(
    session: Session, credential_hash: str, now: datetime
) -> tuple[list[datetime], datetime | None, bool]:
    """The card's failures within 24 hours before ``now`` (oldest first), last success, blocked."""
    failures = session.scalars(
        select(PinFailure.ts)
        .where(PinFailure.credential_hash == credential_hash, PinFailure.ts > now - BLOCK_WINDOW)
        .order_by(PinFailure.ts)
    ).all()
    # Two columns, not the ORM object: this runs on every swipe, on the way to the relay.
    standing = session.execute(
        select(CardStanding.last_success, CardStanding.blocked).where(
            CardStanding.credential_hash == credential_hash
        )
    ).one_or_none()
    if standing is None:
        return list(failures), None, False
    return list(failures), standing.last_success, standing.blocked


def reader_history(session: Session, reader_id: str, since: datetime) -> list[tuple[datetime, str]]:
    """The reader's failures at or after ``since`` as (time, credential hash), oldest first."""
    rows = session.execute(
        select(PinFailure.ts, PinFailure.credential_hash)
        .where(PinFailure.reader_id == reader_id, PinFailure.ts >= since)
        .order_by(PinFailure.ts, PinFailure.id)
    ).all()
    return [(ts, credential_hash) for ts, credential_hash in rows]


def set_blocked(session: Session, credential_hash: str, now: datetime) -> None:
    """Block the card until staff reset it; an existing block keeps its original time."""
    standing = _standing(session, credential_hash)
    if not standing.blocked:
        standing.blocked = True
        standing.blocked_at = now
    session.flush()


@dataclass(frozen=True, slots=True)
class Lifted:
    """What a staff reset changed: whether a block was lifted, and how many failures went."""

    blocked: bool = False
    failures: int = 0

    def __add__(self, other: Lifted) -> Lifted:
        return Lifted(self.blocked or other.blocked, self.failures + other.failures)


def reset(session: Session, credential_hash: str) -> Lifted:
    """Staff reset: lift the block and forget the card's failures, so it starts afresh."""
    # The failures must go too: kept, they would block the card again on its next swipe.
    failures = _deleted(
        session, delete(PinFailure).where(PinFailure.credential_hash == credential_hash)
    )
    standing = session.get(CardStanding, credential_hash)
    was_blocked = standing is not None and standing.blocked
    if standing is not None:
        standing.blocked = False
        standing.blocked_at = None
    session.flush()
    return Lifted(blocked=was_blocked, failures=failures)


def purge_before(session: Session, cutoff: datetime) -> int:
    """Retention: drop failures and unblocked standings older than ``cutoff``; rows removed.

    ``cutoff`` should lie at least 24 hours back, or the block rule would lose failures it counts.
    A blocked card's standing stays until staff reset it.
    """
    old_failures = delete(PinFailure).where(PinFailure.ts < cutoff)
    old_standings = delete(CardStanding).where(
        CardStanding.blocked.is_(False),
        or_(CardStanding.last_success.is_(None), CardStanding.last_success < cutoff),
    )
    return _deleted(session, old_failures) + _deleted(session, old_standings)


def _deleted(session: Session, statement: Delete) -> int:
    # A DELETE always answers with a cursor result; Session.execute is typed more broadly.
    result = cast(CursorResult[Any], session.execute(statement))
    return result.rowcount
