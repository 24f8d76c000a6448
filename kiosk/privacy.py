"""The privacy timeout: after a while without a touch, a warning, then a clean screen. Pure.

The kiosk stands in a public room; the next person must find no trace of the last one. The app
calls :meth:`IdleGuard.touch` on every touch and key and asks :meth:`IdleGuard.phase` on a timer;
the clock is a parameter (monotonic seconds), so tests move time instead of waiting.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Phase(StrEnum):
    """Where the idle countdown stands."""

    ACTIVE = "active"
    WARNING = "warning"
    EXPIRED = "expired"


@dataclass(frozen=True)
class IdleState:
    """The phase and, in the warning, the whole seconds left before the reset."""

    phase: Phase
    seconds_left: int = 0


class IdleGuard:
    """Counts the time since the last touch against ``idle_s`` plus ``warning_s``."""

    def __init__(self, idle_s: float, warning_s: float, now: float) -> None:
        if idle_s <= 0 or warning_s <= 0:
            raise ValueError("idle and warning times must be positive")
        self._idle, self._warning = idle_s, warning_s
        self._last = now

    def touch(self, now: float) -> None:
        """Someone is there: start counting again."""
        self._last = now

    def quiet(self, now: float) -> float:
        """Seconds since the last touch."""
        return now - self._last

    def phase(self, now: float) -> IdleState:
        """ACTIVE, WARNING with the seconds left, or EXPIRED."""
        quiet = now - self._last
        if quiet < self._idle:
            return IdleState(Phase.ACTIVE)
        left = self._idle + self._warning - quiet
        if left > 0:
            return IdleState(Phase.WARNING, int(left + 0.999))
        return IdleState(Phase.EXPIRED)
