"""Reader faults coalesced per reader and interval: the first at once, then one summary.

A reader spewing junk (4,096 bad keys gave 4,096 ``reader.error`` events) must not drown the
events that matter; the count is kept, so nothing is hidden.
"""

from __future__ import annotations

from dataclasses import dataclass

FAULT_INTERVAL_S = 60.0


@dataclass(slots=True)
class _Window:
    total: int = 0  # faults since start
    held: int = 0  # faults since the last event
    problem: str = ""  # the latest held problem
    open: bool = False


@dataclass(frozen=True, slots=True)
class FaultReport:
    """One ``reader.error`` to emit: the latest problem, the total, and how many it stands for."""

    problem: str
    total: int
    repeats: int


class FaultCoalescer:
    """Counts faults per reader; says when to report and when the interval ends."""

    def __init__(self, interval_s: float = FAULT_INTERVAL_S) -> None:
        self.interval_s = interval_s
        self._windows: dict[str, _Window] = {}

    def total(self, reader: str) -> int:
        """Faults seen at ``reader`` since start."""
        window = self._windows.get(reader)
        return 0 if window is None else window.total

    def fault(self, reader: str, problem: str) -> FaultReport | None:
        """A fault at ``reader``: a report when none was sent this interval, else None (held)."""
        window = self._windows.setdefault(reader, _Window())
        window.total += 1
        if window.open:
            window.held += 1
            window.problem = problem
            return None
        window.open = True
        return FaultReport(problem, window.total, 1)

    def interval_over(self, reader: str) -> FaultReport | None:
        """The interval ended: the summary of the held faults (the window stays open), or None."""
        window = self._windows.get(reader)
        if window is None or not window.open:
            return None
        if not window.held:
            window.open = False
            return None
        report = FaultReport(window.problem, window.total, window.held)
        window.held = 0
        return report
