"""Is the library system up? Hysteresis, so a flapping system does not flap the doors.

:class:`Health` goes offline at the first failure (a swipe must not wait a second time for a system
that just failed to answer) and online again only after ``rise`` successes in a row.
:class:`HealthMonitor` feeds it with 99 SC Status every ``interval_s`` seconds from a thread of its
own, so the doors learn that the system is back without a patron paying for the test.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from services.settings.sip2 import HEALTH_INTERVAL_S, HEALTH_RISE
from services.sip2.client import Sip2Client
from services.sip2.errors import Sip2Unavailable

log = logging.getLogger(__name__)

OnChange = Callable[[bool, str], None]


class Health:
    """Online/offline state with hysteresis; thread-safe; ``on_change(online, reason)`` on flips."""

    def __init__(self, *, rise: int = HEALTH_RISE, on_change: OnChange | None = None) -> None:
        if rise < 1:
            raise ValueError("rise must be at least 1")
        self._rise, self._on_change = rise, on_change
        self._lock = threading.Lock()
        self._online = True  # assume up at start: the first failure says otherwise
        self._streak = 0

    @property
    def online(self) -> bool:
        """Whether requests should go to the library system."""
        return self._online

    def success(self) -> None:
        """One good answer; after ``rise`` in a row an offline system counts as online."""
        with self._lock:
            self._streak += 1
            flipped = not self._online and self._streak >= self._rise
            if flipped:
                self._online = True
        if flipped:
            self._notify(True, f"{self._rise} good answers in a row")

    def failure(self, reason: str) -> None:
        """No (good) answer: offline now, and the count of successes starts again."""
        with self._lock:
            self._streak = 0
            flipped = self._online
            self._online = False
        if flipped:
            self._notify(False, reason)

    def _notify(self, online: bool, reason: str) -> None:
        log.warning("library system %s: %s", "online" if online else "OFFLINE", reason)
        if self._on_change is not None:
            self._on_change(online, reason)


class HealthMonitor:
    """Checks the library system with 99 SC Status every ``interval_s`` and records the outcome."""

    def __init__(
        self,
        client: Sip2Client,
        health: Health,
        *,
        interval_s: float = HEALTH_INTERVAL_S,
        timeout_s: float | None = None,
    ) -> None:
        self._client, self._health = client, health
        self._interval_s, self._timeout_s = interval_s, timeout_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def check_once(self) -> bool:
        """One SC Status round trip; True if the ACS answered and says it is online."""
        try:
            status = self._client.sc_status(self._timeout_s)
        except Sip2Unavailable as exc:
            self._health.failure(str(exc))
            return False
        if not status.online:
            self._health.failure("the ACS reports itself offline (98 online status N)")
            return False
        self._health.success()
        return True

    def start(self) -> None:
        """Run checks in a daemon thread until :meth:`stop`."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="sip2-health", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            self.check_once()

    def stop(self) -> None:
        """Stop the thread and wait for it (at most one check's timeout)."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join()
