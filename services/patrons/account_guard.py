"""The kiosk's account behind the same PIN-guessing defence as the doors.

Without it a card found in the street could be tried at the kiosk PIN after PIN, three at a time:
the kiosk's own limit ends only the patron's attempt, not the guessing. Every account request
first asks the :class:`~services.patrons.pin_guard.PinGuard` about the card and this kiosk; a
wrong PIN for a card the directory knows is counted, and what it tips over (a lock, a block, an
attack on this kiosk) becomes an event, as at a door.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from sqlalchemy.exc import SQLAlchemyError

from services.core.account import (
    AccountLocked,
    AccountRefused,
    AccountService,
    Fines,
    HoldResult,
    Loan,
    LockReason,
    RenewResult,
    Reservation,
    Standing,
)
from services.core.credentials import Credential, SiteKey
from services.core.events import Event
from services.patrons.pin_guard import PinGuard

T = TypeVar("T")
log = logging.getLogger(__name__)


class GuardedAccount:
    """An :class:`~services.patrons.account.AccountService` whose PIN entries are counted and
    limited."""

    def __init__(
        self,
        inner: AccountService,
        guard: PinGuard,
        key: SiteKey,
        *,
        kiosk: str,
        clock: Callable[[], datetime],
        on_event: Callable[[Event], None],
    ) -> None:
        self._inner, self._guard, self._key = inner, guard, key
        self._kiosk, self._clock, self._on_event = kiosk, clock, on_event
        self.reader_id = f"kiosk/{kiosk}"  # the lockout store's reader: one per kiosk

    def _guarded(self, credential: Credential, call: Callable[[], T]) -> T:
        now = self._clock()
        card = self._key.credential_hash(credential)
        standing = self._guard.check(card, self.reader_id, now)
        if standing.blocked:
            raise AccountLocked(LockReason.BLOCKED)
        if standing.locked_out:
            raise AccountLocked(LockReason.LOCKED_OUT)
        if standing.reader_throttled:
            raise AccountLocked(LockReason.THROTTLED)
        try:
            result = call()
        except AccountRefused as refused:
            if refused.wrong_pin:
                self._count_failure(credential, card, now)
            raise
        try:
            self._guard.succeeded(card, now)
        except SQLAlchemyError as exc:
            # The patron's request went through (a renewal is done): say so, not "unavailable".
            log.warning("correct PIN not recorded: %s", exc.__class__.__name__)
        return result

    def _count_failure(self, credential: Credential, card: str, now: datetime) -> None:
        try:
            tipped = self._guard.failed(card, self.reader_id, now)
        except SQLAlchemyError as exc:
            # The check before this read the same database; losing one count beats telling a
            # patron who mistyped that the library system is down.
            log.error("wrong PIN not counted: %s", exc.__class__.__name__)
            return
        for kind, details in tipped:
            self._on_event(
                Event(
                    type=kind,
                    source=self._kiosk,
                    ts=now,
                    credential=self._key.pseudonym(credential),
                    details={"reader": self.reader_id, **details},
                )
            )

    def loans(self, credential: Credential, pin: str | None) -> list[Loan]:
        """The patron's loans, once the card's standing allows a PIN."""
        return self._guarded(credential, lambda: self._inner.loans(credential, pin))

    def reservations(self, credential: Credential, pin: str | None) -> list[Reservation]:
        """The patron's reservations, once the card's standing allows a PIN."""
        return self._guarded(credential, lambda: self._inner.reservations(credential, pin))

    def fines(self, credential: Credential, pin: str | None) -> Fines:
        """What the patron owes, once the card's standing allows a PIN."""
        return self._guarded(credential, lambda: self._inner.fines(credential, pin))

    def renew(self, credential: Credential, pin: str | None, item_id: str) -> RenewResult:
        """Renew one loan, once the card's standing allows a PIN."""
        return self._guarded(credential, lambda: self._inner.renew(credential, pin, item_id))

    def renew_all(self, credential: Credential, pin: str | None) -> list[RenewResult]:
        """Renew every loan, once the card's standing allows a PIN."""
        return self._guarded(credential, lambda: self._inner.renew_all(credential, pin))

    def reserve(self, credential: Credential, pin: str | None, record_id: str) -> HoldResult:
        """Reserve a title, once the card's standing allows a PIN."""
        return self._guarded(credential, lambda: self._inner.reserve(credential, pin, record_id))

    def cancel_reservation(
        self, credential: Credential, pin: str | None, item_id: str
    ) -> HoldResult:
        """Cancel a reservation, once the card's standing allows a PIN."""
        call = lambda: self._inner.cancel_reservation(credential, pin, item_id)  # noqa: E731
        return self._guarded(credential, call)

    def standing(self, credential: Credential, pin: str | None) -> Standing:
        """The patron's standing, once the card's standing allows a PIN."""
        return self._guarded(credential, lambda: self._inner.standing(credential, pin))

    def end_session(self, credential: Credential, pin: str | None) -> None:
        """Pass on: ending a session proves nothing about the PIN."""
        self._inner.end_session(credential, pin)
