"""A patron's own account for the kiosk: loans, reservations and renewals, from either directory.

Two implementations of :class:`~services.core.account.AccountService`, the protocol the kiosk
talks to. :class:`LocalAccount` answers from :mod:`services.patrons.loans`; :class:`Sip2Account`
puts the SIP2 directory's account methods (``services.sip2.directory``) behind the same protocol
and turns its errors into the two the kiosk tells apart: the library system cannot be reached
(``AccountUnavailable``), or it does not accept this card and PIN (``AccountRefused``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import Protocol

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

import services.patrons.loans as store
from services.core.account import (
    AccountOutcomeUnknown,
    AccountRefused,
    AccountUnavailable,
    Fines,
    HoldRefusal,
    HoldResult,
    Loan,
    LoanRules,
    RenewResult,
    Reservation,
    Standing,
    renewal_refusal,
)
from services.core.credentials import Credential
from services.core.patrons import Patron, PatronDirectory, PinCheck
from services.store.base import utcnow

log = logging.getLogger(__name__)


class LocalAccount:
    """The account over the local registry and :mod:`services.patrons.loans`."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        directory: PatronDirectory,
        *,
        today: Callable[[], date],
        rules: LoanRules | None = None,
    ) -> None:
        self._sessions, self._directory, self._today = sessions, directory, today
        self._rules = rules or LoanRules()

    @contextmanager
    def _unit(self, credential: Credential, pin: str | None) -> Iterator[tuple[Session, Patron]]:
        try:
            auth = self._directory.authenticate(credential, pin)
            if auth.patron is None or auth.pin is not PinCheck.OK:
                wrong_pin = auth.patron is not None and auth.pin is PinCheck.WRONG
                raise AccountRefused(
                    "the card is not known or the PIN is wrong", wrong_pin=wrong_pin
                )
            with self._sessions.begin() as session:
                yield session, auth.patron
        except OperationalError as exc:
            log.warning("local account database unavailable: %s", exc.__class__.__name__)
            raise AccountUnavailable("the database cannot be reached") from None

    def loans(self, credential: Credential, pin: str | None) -> list[Loan]:
        """The patron's loans with due dates, overdue ones marked."""
        with self._unit(credential, pin) as (session, patron):
            return store.loans_of(session, patron.patron_id, self._today())

    def reservations(self, credential: Credential, pin: str | None) -> list[Reservation]:
        """The patron's reservations, those ready for pickup first."""
        with self._unit(credential, pin) as (session, patron):
            return store.reservations_of(session, patron.patron_id)

    def fines(self, credential: Credential, pin: str | None) -> Fines:
        """Nothing: the local registry keeps no fees (card and PIN are still checked)."""
        with self._unit(credential, pin):
            return Fines()

    def renew(self, credential: Credential, pin: str | None, item_id: str) -> RenewResult:
        """Renew one loan by the copy's barcode."""
        with self._unit(credential, pin) as (session, patron):
            return store.renew(session, patron, item_id, self._today(), self._rules)

    def renew_all(self, credential: Credential, pin: str | None) -> list[RenewResult]:
        """Renew every loan; one result per item."""
        with self._unit(credential, pin) as (session, patron):
            return store.renew_all(session, patron, self._today(), self._rules)

    def reserve(self, credential: Credential, pin: str | None, record_id: str) -> HoldResult:
        """Join the local queue for the title; an inactive patron reserves nothing."""
        with self._unit(credential, pin) as (session, patron):
            refusal = renewal_refusal(patron, self._today())
            if refusal is not None:
                return HoldResult(False, reason=HoldRefusal(refusal.value))
            if store.queue_position(session, patron.patron_id, record_id) is not None:
                return HoldResult(False, reason=HoldRefusal.ALREADY)
            try:
                store.reserve(session, patron.patron_id, record_id, utcnow())
            except store.LoanError:
                return HoldResult(False, reason=HoldRefusal.ALREADY)  # ready on the shelf
            return HoldResult(True, store.queue_position(session, patron.patron_id, record_id))

    def cancel_reservation(
        self, credential: Credential, pin: str | None, item_id: str
    ) -> HoldResult:
        """Leave the queue (or free the copy on the pickup shelf)."""
        with self._unit(credential, pin) as (session, patron):
            if store.cancel_reservation(session, patron.patron_id, item_id):
                return HoldResult(True)
            return HoldResult(False, reason=HoldRefusal.NOT_RESERVED)

    def standing(self, credential: Credential, pin: str | None) -> Standing:
        """The registry's status and expiry of the patron."""
        with self._unit(credential, pin) as (_session, patron):
            return Standing(patron.status, patron.expires)

    def end_session(self, credential: Credential, pin: str | None) -> None:
        """Nothing to close locally."""


class Sip2AccountMethods(Protocol):
    """The account methods of ``services.sip2.directory.Sip2Directory``."""

    def loans(self, credential: Credential, pin: str | None) -> list[Loan]: ...
    def reservations(self, credential: Credential, pin: str | None) -> list[Reservation]: ...
    def fines(self, credential: Credential, pin: str | None) -> Fines: ...
    def renew(self, credential: Credential, pin: str | None, item_id: str) -> RenewResult: ...
    def renew_all(self, credential: Credential, pin: str | None) -> list[RenewResult]: ...
    def reserve(self, credential: Credential, pin: str | None, record_id: str) -> HoldResult: ...
    def cancel_reservation(
        self, credential: Credential, pin: str | None, item_id: str
    ) -> HoldResult: ...
    def standing(self, credential: Credential, pin: str | None) -> Standing: ...
    def end_session(self, credential: Credential, pin: str | None) -> None: ...


class Sip2Account:
    """The SIP2 directory's account, its errors told as the protocol's two."""

    def __init__(self, directory: Sip2AccountMethods) -> None:
        self._directory = directory

    @contextmanager
    def _translated(self) -> Iterator[None]:
        from services.sip2.errors import OutcomeUnknown, PatronRefused, Sip2Unavailable

        try:
            yield
        except PatronRefused as refused:
            message = "the library system does not accept this card and PIN"
            raise AccountRefused(message, wrong_pin=refused.wrong_pin) from None
        except OutcomeUnknown as exc:
            log.warning("renewal outcome unknown: %s", exc)
            raise AccountOutcomeUnknown("the renewal may have been done") from None
        except Sip2Unavailable as exc:
            log.warning("library system unavailable for the account: %s", exc)
            raise AccountUnavailable("the library system cannot be reached") from None

    def loans(self, credential: Credential, pin: str | None) -> list[Loan]:
        """The patron's loans from the library system."""
        with self._translated():
            return self._directory.loans(credential, pin)

    def reservations(self, credential: Credential, pin: str | None) -> list[Reservation]:
        """The patron's reservations from the library system."""
        with self._translated():
            return self._directory.reservations(credential, pin)

    def fines(self, credential: Credential, pin: str | None) -> Fines:
        """The fee amount and fine items from the library system."""
        with self._translated():
            return self._directory.fines(credential, pin)

    def renew(self, credential: Credential, pin: str | None, item_id: str) -> RenewResult:
        """Renew one item in the library system."""
        with self._translated():
            return self._directory.renew(credential, pin, item_id)

    def renew_all(self, credential: Credential, pin: str | None) -> list[RenewResult]:
        """Renew every item in the library system."""
        with self._translated():
            return self._directory.renew_all(credential, pin)

    def reserve(self, credential: Credential, pin: str | None, record_id: str) -> HoldResult:
        """15 Hold (add) in the library system; its queue position when it says one."""
        with self._translated():
            return self._directory.reserve(credential, pin, record_id)

    def cancel_reservation(
        self, credential: Credential, pin: str | None, item_id: str
    ) -> HoldResult:
        """15 Hold (delete) in the library system."""
        with self._translated():
            return self._directory.cancel_reservation(credential, pin, item_id)

    def standing(self, credential: Credential, pin: str | None) -> Standing:
        """The patron status flags of the library system."""
        with self._translated():
            return self._directory.standing(credential, pin)

    def end_session(self, credential: Credential, pin: str | None) -> None:
        """Tell the library system the patron is done; failures do not matter to the patron."""
        try:
            with self._translated():
                self._directory.end_session(credential, pin)
        except (AccountUnavailable, AccountRefused):
            pass
