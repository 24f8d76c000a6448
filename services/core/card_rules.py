"""What a card number and a PIN may look like: the rules of registering a patron. Pure.

The registry, the patron import and the kiosk's card entry check with the same two rules.
"""

from __future__ import annotations

import re

from services.core.cpr import is_cpr

_PIN = re.compile(r"^\d{4,8}$")
_CARD = re.compile(r"^[0-9A-Za-z-]{4,40}$")


def pin_problem(pin: str) -> str | None:
    """Why ``pin`` cannot be a PIN (4 to 8 digits, as on the PIN pads), or None."""
    return None if _PIN.match(pin) else "a PIN is 4 to 8 digits"


def card_problem(number: str) -> str | None:
    """Why ``number`` cannot be a library card number, or None.

    A card number that reads as a CPR number would be taken for one at the reader
    (:meth:`Credential.from_text`) and never match, so it is refused here.
    """
    if not _CARD.match(number):
        return "a card number is 4 to 40 letters, digits or dashes"
    if is_cpr(number):
        return "reads as a CPR number (a date and four digits); use the cpr field"
    return None
