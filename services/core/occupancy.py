"""Counting people at an entrance and holding the building to its capacity. Pure: no clock.

Two light beams across the entrance, ``a`` outside and ``b`` inside, give the four states of a
quadrature signal as a person passes: clear, a, a+b, b, clear (coming in) or the reverse (going
out). Every single-beam change is one step forward or back through those states; a passage counts
only when the beams are clear again after four net steps in one direction. A person who turns
back, a bag swinging through one beam, or a repeated report sums to zero and counts nothing.
"""

from __future__ import annotations

from typing import Literal

Beam = Literal["a", "b"]
Direction = Literal["in", "out"]

# The position of each (a blocked, b blocked) state along the way in.
_PHASE: dict[tuple[bool, bool], int] = {
    (False, False): 0,
    (True, False): 1,
    (True, True): 2,
    (False, True): 3,
}


class BeamCounter:
    """Turns the two beams of one entrance into "in" and "out" passages."""

    def __init__(self, timeout_s: float = 2.0) -> None:
        if timeout_s <= 0:
            raise ValueError("the beam timeout must be positive")
        self.timeout_s = timeout_s
        self._a = False
        self._b = False
        self._steps = 0  # net quadrature steps inward since the beams were last both clear
        self._spoiled = False  # the sequence stalled; count nothing until both beams clear
        self._last: float | None = None

    def beam(self, which: Beam, blocked: bool, now: float) -> Direction | None:
        """Report one beam's change; returns the direction of a passage that just completed."""
        before = (self._a, self._b)
        after = (blocked, self._b) if which == "a" else (self._a, blocked)
        if after == before:
            return None  # a repeated report is not a change
        stalled = self._last is not None and now - self._last > self.timeout_s
        if before != (False, False) and stalled:
            self._spoiled = True  # someone stood in the beams: the order means nothing now
        self._last = now
        self._a, self._b = after
        # A single-beam change is always one step, +1 (inward) or -1 (outward) modulo 4.
        self._steps += 1 if (_PHASE[after] - _PHASE[before]) % 4 == 1 else -1
        if after != (False, False):
            return None
        steps, spoiled = self._steps, self._spoiled
        self._steps, self._spoiled = 0, False
        if spoiled:
            return None
        if steps == 4:
            return "in"
        if steps == -4:
            return "out"
        return None


class Occupancy:
    """How many people are inside, against the capacity for self-service hours."""

    def __init__(self, capacity: int, inside: int = 0) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, not {capacity}")
        if inside < 0:
            raise ValueError(f"inside cannot be negative, not {inside}")
        self.capacity = capacity
        self._inside = inside

    @property
    def inside(self) -> int:
        """People inside now."""
        return self._inside

    @property
    def full(self) -> bool:
        """True when nobody more may be admitted."""
        return self._inside >= self.capacity

    def enter(self) -> bool:
        """Count one in; True exactly when this person made the building full."""
        self._inside += 1
        return self._inside == self.capacity

    def leave(self) -> None:
        """Count one out; never below zero (someone who came in uncounted, in staffed hours)."""
        if self._inside > 0:
            self._inside -= 1

    def reset(self) -> None:
        """Nobody inside: at closing, after the building has been checked."""
        self._inside = 0
