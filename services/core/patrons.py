"""Who a credential belongs to: the directory protocol every door, kiosk and server uses.

Two directories implement it: the local registry (:mod:`services.patrons.registry`, the
embedded default) and the library system over SIP2. The door never needs to know which one answered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Protocol, runtime_checkable

from services.core.credentials import Credential


class PatronStatus(StrEnum):
    """A patron's standing, as far as the door is concerned."""

    ACTIVE = "active"
    BLOCKED = "blocked"
    EXPIRED = "expired"
    CARD_LOST = "card_lost"
    PIN_BLOCKED = "pin_blocked"  # too many wrong PINs; staff must reset


class PinCheck(StrEnum):
    """What the directory said about the PIN that came with the card."""

    OK = "ok"
    WRONG = "wrong"
    NOT_GIVEN = "not_given"


@dataclass(frozen=True, slots=True)
class Patron:
    """The little the door needs to know about a patron; no card number, no CPR number.

    ``email`` is the address the library system answers with (SIP2 BE), where it gives one: the
    kiosk sends a programme check-in's receipt there and never shows it. The offline cache does
    not keep it, and ``repr`` leaves it out.
    """

    patron_id: str
    name: str
    status: PatronStatus = PatronStatus.ACTIVE
    birth_date: date | None = None
    expires: date | None = None
    guardian_consent: bool = False
    email: str = field(default="", repr=False)


@dataclass(frozen=True, slots=True)
class Authentication:
    """The directory's answer for card + PIN.

    ``patron`` is None for an unknown card. ``reachable`` is False when the directory could not
    be asked (library system down) and had nothing cached; the decision then names that, rather
    than calling a valid card unknown.
    """

    patron: Patron | None
    pin: PinCheck
    reachable: bool = True


class PatronDirectory(Protocol):
    """Looks a credential up and checks its PIN."""

    def authenticate(self, credential: Credential, pin: str | None) -> Authentication:
        """Who holds ``credential`` and whether ``pin`` is theirs (None: no PIN given)."""
        ...


# Given a PIN (None: none given), the answer for the card a PreparingDirectory was asked about.
PinAnswer = Callable[[str | None], Authentication]


@runtime_checkable
class PreparingDirectory(PatronDirectory, Protocol):
    """A directory that can look the card up while its holder is still typing the PIN.

    ``prepare`` does every part of :meth:`authenticate` that does not need the PIN (finding the
    holder); what it returns checks the PIN alone (the slow hash), so the '#' waits only for that.
    A directory that asks the library system card and PIN together (SIP2) does not offer it.
    """

    def prepare(self, credential: Credential) -> PinAnswer:
        """Find ``credential``'s holder now; the returned function answers for a PIN."""
        ...
