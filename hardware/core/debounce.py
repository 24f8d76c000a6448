"""Settle times for the GPIO inputs, in the core because the core has the clock.

gpiozero's ``bounce_time`` is left unused: it is implemented per pin factory (lgpio, MockFactory
differ), it only drops edges (the last edge of a chatter can be the wrong one), and it cannot
give the exit button and the door contact the different rules they need:

- the door contact and the counter beams take a new value only after it has held still for the
  settle time (a reed contact bouncing as the door shuts must not read as a forced opening);
- the exit button acts on its first edge (nobody waits to leave) and ignores every edge that
  follows within the settle time of the last one (one press is one request).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class Settled:
    """A line whose value counts once it has held for ``settle_s``."""

    stable: bool
    raw: bool
    changed_at: float = 0.0

    def feed(self, value: bool, now: float, settle_s: float) -> bool | None:
        """The raw line changed (or was reported again) at ``now``.

        Returns the value that had held long enough before this change but was not yet taken
        (the tick that would have taken it came late): it counts, before the new one.
        """
        if value == self.raw:
            return None
        held = self.settle(now, settle_s)
        self.raw = value
        self.changed_at = now
        return held

    def settle(self, now: float, settle_s: float) -> bool | None:
        """The new stable value when the raw one has held long enough; otherwise None."""
        if self.raw != self.stable and now >= self.changed_at + settle_s:  # as due() says
            self.stable = self.raw
            return self.stable
        return None

    def due(self, settle_s: float) -> float | None:
        """When :meth:`settle` may accept the raw value; None when there is nothing to settle."""
        return self.changed_at + settle_s if self.raw != self.stable else None


@dataclass(slots=True)
class FirstEdge:
    """A push button: the first press acts, edges within ``settle_s`` of the last are chatter."""

    quiet_until: float = float("-inf")

    def feed(self, pressed: bool, now: float, settle_s: float) -> bool:
        """True when this edge is a press to act on."""
        act = pressed and now >= self.quiet_until
        self.quiet_until = now + settle_s
        return act
