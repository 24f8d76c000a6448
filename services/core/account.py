"""A patron's account as the kiosk shows it, from either directory: loans, reservations,
renewals, the errors the kiosk tells apart, and the local directory's renewal rules. Pure.

:class:`AccountService` is the protocol the kiosk talks to. Every call carries the card and PIN,
as SIP2 does (each 63/29/65 request names the patron and password), so no session state lives in
the service. The implementations are in :mod:`services.patrons.account`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

from services.core.credentials import Credential
from services.core.patrons import Patron, PatronStatus


@dataclass(frozen=True, slots=True)
class Loan:
    """One item the patron has borrowed."""

    item_id: str
    title: str
    due: date | None
    overdue: bool


@dataclass(frozen=True, slots=True)
class Reservation:
    """One reservation; ``ready`` when it waits on the pickup shelf."""

    item_id: str
    title: str
    ready: bool
    pickup_location: str | None = None
    pickup_number: str | None = None  # the shelf or box number the patron looks for
    pickup_by: date | None = None
    queue_position: int | None = None  # where the library system says it (None: it does not)


@dataclass(frozen=True, slots=True)
class HoldResult:
    """The outcome of placing or cancelling a reservation (SIP2 15/16, or the local queue).

    ``queue_position`` when the library system says it (SIP2 BR); ``reason`` is its own words
    when it refused, or a :class:`HoldRefusal` of the local directory.
    """

    ok: bool
    queue_position: int | None = None
    available: bool = False
    reason: str | None = None


class HoldRefusal(StrEnum):
    """Why the local directory refused a reservation; the kiosk words each itself."""

    ALREADY = "already_reserved"
    NOT_RESERVED = "not_reserved"
    BLOCKED = "blocked"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class Standing:
    """The patron's standing for the status line (blocked, expired, or fine) and the e-mail
    address the library system has for receipts."""

    status: PatronStatus = PatronStatus.ACTIVE
    expires: date | None = None
    email: str = ""  # where the library system has one: receipts go there

    def problem(self, today: date) -> str | None:
        """``"blocked"``, ``"expired"`` or None: what the patron should contact the library for."""
        if self.status is PatronStatus.EXPIRED or (self.expires and self.expires < today):
            return "expired"
        if self.status is not PatronStatus.ACTIVE:
            return "blocked"
        return None


@dataclass(frozen=True, slots=True)
class RenewResult:
    """The outcome of renewing one item, with the library system's own words when it refused.

    ``unknown``: the request went out but no believable answer came, so it may have been
    renewed; ``due`` is then the due date as read again afterwards (None if that failed too).
    """

    item_id: str
    renewed: bool
    due: date | None = None
    reason: str | None = None
    title: str = ""
    unknown: bool = False


@dataclass(frozen=True, slots=True)
class Fines:
    """What the patron owes: the BV fee amount in BH currency, and the fine items (AV).

    ``amount`` is None when the library system names no amount (or none is owed); the items are
    the library system's own lines, shown as they are.
    """

    amount: Decimal | None = None
    currency: str = ""
    items: tuple[str, ...] = ()


class AccountUnavailable(Exception):
    """The library system (or the database behind the local directory) cannot be reached."""


class AccountOutcomeUnknown(AccountUnavailable):
    """A renewal went out but no answer came back, nor could the loans be read again: it may
    have been done. The kiosk says "unknown, check your loans", never "failed"."""


class AccountRefused(Exception):
    """The card is unknown or the PIN is wrong; the message never names the card."""

    def __init__(self, message: str, *, wrong_pin: bool = False) -> None:
        super().__init__(message)
        self.wrong_pin = wrong_pin  # a known card with a wrong PIN: it counts towards a lockout


class LockReason(StrEnum):
    """Why :class:`AccountLocked`; the kiosk says each in its own words."""

    LOCKED_OUT = "locked_out"  # a run of wrong PINs: for some minutes
    BLOCKED = "blocked"  # many wrong PINs in a day: until staff lift it
    THROTTLED = "throttled"  # wrong PINs for many cards here: the kiosk slows down


class AccountLocked(Exception):
    """Too many wrong PINs: the card is locked for a while or blocked, or the kiosk throttled."""

    def __init__(self, why: LockReason) -> None:
        super().__init__(f"PIN entry refused: {why}")
        self.why = why


class AccountService(Protocol):
    """Loans, reservations and renewals of the patron holding ``credential``.

    Raises :class:`AccountUnavailable` or :class:`AccountRefused` (and, behind the kiosk's
    :class:`~services.patrons.account_guard.GuardedAccount`, :class:`AccountLocked`); a refused
    renewal is not an error but a :class:`RenewResult` with ``renewed=False`` and its reason.
    """

    def loans(self, credential: Credential, pin: str | None) -> list[Loan]:
        """The patron's loans with due dates, overdue ones marked."""
        ...

    def reservations(self, credential: Credential, pin: str | None) -> list[Reservation]:
        """The patron's reservations, those ready for pickup first."""
        ...

    def fines(self, credential: Credential, pin: str | None) -> Fines:
        """What the patron owes, so the kiosk can say why renewals may be refused."""
        ...

    def renew(self, credential: Credential, pin: str | None, item_id: str) -> RenewResult:
        """Renew one loan."""
        ...

    def renew_all(self, credential: Credential, pin: str | None) -> list[RenewResult]:
        """Renew every loan; one result per item."""
        ...

    def reserve(self, credential: Credential, pin: str | None, record_id: str) -> HoldResult:
        """Put the patron in the queue for the title ``record_id``."""
        ...

    def cancel_reservation(
        self, credential: Credential, pin: str | None, item_id: str
    ) -> HoldResult:
        """Cancel the reservation listed with ``item_id``."""
        ...

    def standing(self, credential: Credential, pin: str | None) -> Standing:
        """Blocked, expired or fine, for the status line."""
        ...

    def end_session(self, credential: Credential, pin: str | None) -> None:
        """The patron is done (the kiosk timed out or they left the account screen)."""
        ...


class RenewRefusal(StrEnum):
    """Why the local directory refused a renewal; the kiosk words each in the patron's language."""

    BLOCKED = "blocked"
    EXPIRED = "expired"
    MAX_RENEWALS = "max_renewals"
    RESERVED = "reserved"
    NOT_ON_LOAN = "not_on_loan"
    NOT_EXTENDED = "not_extended"  # renewing today would not move the due date


@dataclass(frozen=True)
class LoanRules:
    """The local loan rules: how many renewals, and how long a renewal lends for."""

    max_renewals: int = 3
    renewal_days: int = 30


def renewal_refusal(patron: Patron, today: date) -> RenewRefusal | None:
    """Why nothing of this patron's may be renewed today, or None: a patron who is not active
    renews nothing, whatever the loan."""
    if patron.status is PatronStatus.EXPIRED or (patron.expires and patron.expires < today):
        return RenewRefusal.EXPIRED
    if patron.status is not PatronStatus.ACTIVE:
        return RenewRefusal.BLOCKED
    return None


def renewed_due(due: date, today: date, rules: LoanRules) -> date | None:
    """The due date a renewal today gives, or None when it would not move the loan's.

    A renewal lends for ``renewal_days`` from today; a loan already due that late (renewed
    earlier today, or lent for longer) would spend a renewal for nothing, so it is refused.
    """
    renewed = today + timedelta(days=rules.renewal_days)
    return renewed if renewed > due else None
