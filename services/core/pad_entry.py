"""What digits typed at the PIN pad mean, beyond a PIN after a card. Pure.

The pad's language (each entry ends with '#'; '*' clears the digits so far):

- after a card: ``N#`` (one digit, 1-9) states N companions, then the PIN and ``#``. A PIN has
  at least four digits (:mod:`services.core.card_rules`), so one digit cannot be a PIN;
- without a card: the site's CPR prefix, the ten digits of a CPR number, ``#`` (a forgotten
  card, where the site allows it: ``[access] cpr_pad_prefix``), then the PIN and ``#``;
- without a card: a code of 6-8 digits and ``#`` (:mod:`services.core.codes`).

Anything else typed without a card is ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from services.core.codes import looks_like_code
from services.core.cpr import is_cpr


@dataclass(frozen=True, slots=True)
class PinForCard:
    """The PIN of the card waiting for it."""

    pin: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class CompanionsStated:
    """How many come in with the card holder."""

    count: int


@dataclass(frozen=True, slots=True)
class CprTyped:
    """A CPR number typed instead of a card; the PIN follows."""

    number: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class CodeTyped:
    """A one-time or time-limited code."""

    code: str = field(repr=False)


PadEntry = PinForCard | CompanionsStated | CprTyped | CodeTyped


def read_pad(digits: str, *, card_waiting: bool, cpr_prefix: str) -> PadEntry | None:
    """What ``digits`` (submitted with '#') mean; None: nothing a door acts on."""
    if card_waiting:
        if len(digits) == 1 and digits in "123456789":
            return CompanionsStated(int(digits))
        return PinForCard(digits)
    if cpr_prefix and digits.startswith(cpr_prefix):
        number = digits[len(cpr_prefix) :]
        if len(number) == 10 and is_cpr(number):
            return CprTyped(number)
    if looks_like_code(digits):
        return CodeTyped(digits)
    return None
