"""The core's deadlines, keyed by type and door: no door id can collide with an internal name.

(A string key ``door_id + "/pin"`` beside ``"opening"`` let a door called ``opening`` lose its
relock deadline to the schedule's.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Line = Literal["contact", "beam_a", "beam_b"]


@dataclass(frozen=True, slots=True)
class DoorDue:
    """The door machine's next deadline (relock, hold end, held-open alarm)."""

    door: str


@dataclass(frozen=True, slots=True)
class PinDue:
    """The card waiting at ``door`` gives up on its PIN."""

    door: str


@dataclass(frozen=True, slots=True)
class SettleDue:
    """A raw input line of ``door`` has held still for its settle time."""

    door: str
    line: Line


@dataclass(frozen=True, slots=True)
class FireClearDue:
    """The fire input has been quiet long enough to clear the alarm."""


@dataclass(frozen=True, slots=True)
class OpeningDue:
    """The schedule's next change."""


@dataclass(frozen=True, slots=True)
class FaultWindowDue:
    """The end of ``reader``'s fault-coalescing interval."""

    reader: str


@dataclass(frozen=True, slots=True)
class EveningDue:
    """The building's next step, panel feedback deadline or sweep retry."""


@dataclass(frozen=True, slots=True)
class DisarmDue:
    """The member waiting at ``door`` for the panel to disarm gives up."""

    door: str


Key = (
    EveningDue
    | DoorDue
    | PinDue
    | SettleDue
    | FireClearDue
    | OpeningDue
    | FaultWindowDue
    | DisarmDue
)


class Deadlines:
    """When each key is due, in monotonic seconds."""

    def __init__(self) -> None:
        self._due: dict[Key, float] = {}

    def set(self, key: Key, when: float | None) -> None:
        """Set or (with None) cancel ``key``."""
        if when is None:
            self._due.pop(key, None)
        else:
            self._due[key] = when

    def pop_due(self, now: float) -> list[Key]:
        """Remove and return every key due at ``now``, earliest first."""
        due = sorted(
            (when, i, key) for i, (key, when) in enumerate(self._due.items()) if when <= now
        )
        for _, _, key in due:
            del self._due[key]
        return [key for _, _, key in due]

    def get(self, key: Key) -> float | None:
        """When ``key`` is due, or None."""
        return self._due.get(key)

    @property
    def next(self) -> float | None:
        """The earliest deadline, or None."""
        return min(self._due.values(), default=None)
