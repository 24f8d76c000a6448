"""One-time and time-limited PIN-pad codes, for a carer, a craftsman, a speaker. Pure.

A code is digits only, typed at the PIN pad without a card. It is stored as a keyed hash
(the :meth:`~services.core.credentials.SiteKey.credential_hash` of a
``CredentialKind.CODE`` credential), shown once when issued, and admits inside
its window, for at most ``max_uses`` entries, at its doors (none named: every door).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

CODE_MIN_DIGITS = 6
CODE_MAX_DIGITS = 8


class CodeRefusal(StrEnum):
    """Why a known code does not open this door now."""

    NOT_YET = "not_yet"
    EXPIRED = "expired"
    USED_UP = "used_up"
    OTHER_DOOR = "other_door"


@dataclass(frozen=True, slots=True)
class PadCode:
    """An issued code: its window (aware instants, end exclusive), uses, doors."""

    code_hash: str = field(repr=False)
    label: str
    valid_from: datetime
    valid_until: datetime
    max_uses: int = 1
    uses: int = 0
    doors: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if self.valid_until <= self.valid_from:
            raise ValueError(f"code {self.label!r}: the window must end after it starts")
        if self.max_uses < 1:
            raise ValueError(f"code {self.label!r}: max uses must be at least 1")

    def refusal(self, at: datetime, door: str) -> CodeRefusal | None:
        """None if the code opens ``door`` at ``at``; else why not."""
        if self.doors and door not in self.doors:
            return CodeRefusal.OTHER_DOOR
        if at < self.valid_from:
            return CodeRefusal.NOT_YET
        if at >= self.valid_until:
            return CodeRefusal.EXPIRED
        if self.uses >= self.max_uses:
            return CodeRefusal.USED_UP
        return None


def looks_like_code(digits: str) -> bool:
    """Whether digits typed at the pad without a card have a code's shape."""
    return digits.isdigit() and CODE_MIN_DIGITS <= len(digits) <= CODE_MAX_DIGITS


def new_code(digits: int = CODE_MIN_DIGITS) -> str:
    """A fresh random code of ``digits`` digits (leading zeros allowed)."""
    if not CODE_MIN_DIGITS <= digits <= CODE_MAX_DIGITS:
        raise ValueError(f"a code has {CODE_MIN_DIGITS} to {CODE_MAX_DIGITS} digits, not {digits}")
    return "".join(secrets.choice("0123456789") for _ in range(digits))
