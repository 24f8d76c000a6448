"""PIN guessing defence for a door or a kiosk: the pure policy over the persisted failures.

It works the same whichever directory answers (local registry or the library system), because
the count lives in the device's own database: a library system that is down cannot be asked how
often a card failed, and the device must not forget a guessing attack when it restarts. A door
and a kiosk that share a database share the count.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from services.core.events import EventType
from services.core.lockout import LockoutPolicy, Standing
from services.store import lockouts

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class History:
    """What the store holds for one card at one reader: the input of :meth:`PinGuard.standing`."""

    failures: list[datetime]  # the card's, within 24 hours, oldest first
    last_success: datetime | None
    blocked: bool
    recent: list[tuple[datetime, str]]  # the reader's, within the attack window


class PinGuard:
    """Reads and records PIN failures; says when a card locks, blocks, or a reader is attacked."""

    def __init__(self, sessions: sessionmaker[Session], policy: LockoutPolicy) -> None:
        self._sessions = sessions
        self.policy = policy
        self._tidied: date | None = None

    def check(self, credential_hash: str, reader_id: str, now: datetime) -> Standing:
        """The card's lock/block and the reader's throttle at ``now``."""
        return self.standing(self.history(credential_hash, reader_id, now), now)

    def history(self, credential_hash: str, reader_id: str, now: datetime) -> History:
        """Read the card's and the reader's failures as they stand at ``now``."""
        with self._sessions() as session:
            failures, last_success, blocked = lockouts.card_history(session, credential_hash, now)
            recent = lockouts.reader_history(session, reader_id, now - self.policy.attack_window)
        return History(failures, last_success, blocked, recent)

    def standing(self, history: History, now: datetime) -> Standing:
        """The policy over ``history`` at ``now`` (no I/O): a history read a few seconds
        earlier gives the standing of now, as the policy keeps only what is in its windows."""
        card = self.policy.card_state(history.failures, history.last_success, now)
        reader = self.policy.reader_state(history.recent, now)
        return Standing(
            locked_out=card.locked_until is not None,
            blocked=history.blocked or card.blocked,
            reader_throttled=reader.throttled_until is not None,
        )

    def check_nothing(self) -> Standing:
        """The standing when nothing needs checking (staffed hours): clear."""
        return Standing()

    def failed(
        self, credential_hash: str, reader_id: str, now: datetime
    ) -> list[tuple[EventType, dict[str, Any]]]:
        """Record a wrong PIN; returns the events it tips over (lock, block, reader attack)."""
        since = now - self.policy.attack_window
        with self._sessions.begin() as session:
            failures, success, blocked = lockouts.card_history(session, credential_hash, now)
            recent = lockouts.reader_history(session, reader_id, since)
            lockouts.record_failure(session, credential_hash, reader_id, now)
            # The standing before and after this failure, from one read of the history.
            before_card = self.policy.card_state(failures, success, now)
            before_reader = self.policy.reader_state(recent, now)
            failures = [*failures, now]
            card = self.policy.card_state(failures, success, now)
            recent = [*recent, (now, credential_hash)]
            reader = self.policy.reader_state(recent, now)
            events: list[tuple[EventType, dict[str, Any]]] = []
            if card.blocked and not blocked:
                lockouts.set_blocked(session, credential_hash, now)
                events.append((EventType.PIN_BLOCKED, {"failures_24h": len(failures)}))
            elif card.locked_until is not None and before_card.locked_until is None:
                until = card.locked_until.isoformat()
                events.append((EventType.PIN_LOCKED_OUT, {"until": until}))
            if reader.attack and not before_reader.attack:
                cards = len({card for _, card in recent})
                events.append((EventType.READER_ATTACK, {"cards": cards}))
        return events

    def succeeded(self, credential_hash: str, now: datetime) -> None:
        """A correct PIN ends a run of failures (the 24-hour count stays)."""
        with self._sessions.begin() as session:
            lockouts.record_success(session, credential_hash, now)

    def tidy(self, now: datetime, retention_days: int) -> int | None:
        """Once a day: delete PIN failures older than the retention period; the rows deleted.

        The failures live on the device, not on the server, so the server's retention run never
        sees them. None when today's tidy-up is done already (or failed: it is tried tomorrow).
        """
        if self._tidied == now.date():
            return None
        self._tidied = now.date()
        try:
            with self._sessions.begin() as session:
                deleted = lockouts.purge_before(session, now - timedelta(days=retention_days))
        except SQLAlchemyError as exc:
            log.error("PIN failures not tidied away: %s", exc.__class__.__name__)
            return None
        if deleted:
            log.info("retention: %d PIN failure rows deleted", deleted)
        return deleted
