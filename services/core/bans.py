"""The local ban list (blokeringsliste): a ban wins over every directory answer. Pure.

A ban names a credential by its keyed hash, ends by itself at its ``until`` instant and may cover
only some doors (none named: every door of the site).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Ban:
    """One ban of one credential; ``reason`` is for staff, never shown at the door."""

    credential_hash: str = field(repr=False)
    until: datetime | None  # None: until lifted; an aware instant otherwise
    doors: frozenset[str] = field(default_factory=frozenset)
    reason: str = ""

    def covers(self, at: datetime, door: str) -> bool:
        """Whether this ban keeps ``door`` shut at the aware instant ``at``."""
        if self.until is not None and at >= self.until:
            return False
        return not self.doors or door in self.doors


def active_ban(bans: Iterable[Ban], at: datetime, door: str) -> Ban | None:
    """The first ban among ``bans`` that covers ``door`` at ``at``."""
    return next((b for b in bans if b.covers(at, door)), None)
