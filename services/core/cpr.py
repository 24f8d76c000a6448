"""Danish CPR numbers: the birth date and nothing more.

Source: CPR-kontoret, "Personnummeret i CPR" (2008). The century follows from the 7th digit
together with the year. The modulus-11 check is deliberately *not* applied: numbers without it
have been issued since 1 October 2007, and rejecting them would lock real patrons out.
"""

from __future__ import annotations

import re
from datetime import date

_CPR = re.compile(r"^(\d{2})(\d{2})(\d{2})-?(\d)(\d{3})$")


class CprError(ValueError):
    """Not a CPR number; the message says why (never the number itself)."""


def normalise_cpr(text: str) -> str:
    """``"010203-1234"`` -> ``"0102031234"``; raises :class:`CprError` if not a CPR number."""
    birth_date(text)
    return text.strip().replace("-", "")


def _century(seventh: int, yy: int) -> int:
    if seventh <= 3:
        return 1900
    if seventh in (4, 9):
        return 2000 if yy <= 36 else 1900
    return 2000 if yy <= 57 else 1800  # 5-8


def birth_date(cpr: str) -> date:
    """The birth date encoded in ``cpr`` (DDMMYY + century rule of the 7th digit)."""
    m = _CPR.match(cpr.strip())
    if not m:
        raise CprError("a CPR number is 10 digits, DDMMYY-SSSS")
    dd, mm, yy, seventh = int(m[1]), int(m[2]), int(m[3]), int(m[4])
    try:
        return date(_century(seventh, yy) + yy, mm, dd)
    except ValueError:
        raise CprError("the first six digits are not a date") from None


def is_cpr(text: str) -> bool:
    """True if ``text`` reads as a CPR number (a date and four digits)."""
    try:
        birth_date(text)
    except CprError:
        return False
    return True
