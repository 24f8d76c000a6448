"""The recorder's counters where the dashboard reads them: a ``health/<recorder>`` state row.

Every ``recorder.health_every_s`` (and once at start and once at stop) a thread of its own
writes :meth:`Recorder.counters` with :func:`services.store.recorder.put_state`, in a short
transaction of its own and not through the writer thread: a stuck writer still shows (its
``queued`` and ``waiting_s`` grow), and should even this thread fail to write, the row's
``updated`` gets old and the dashboard says since when the recorder has been silent.

Recorders sharing one database (``recorder.instance``) write a row each. A failed write is
logged once per cause and tried again next period; it never ends the thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from services.store.engine import error_line
from services.store.recorder import HEALTH_PREFIX, put_state

log = logging.getLogger(__name__)

Counters = Callable[[], Mapping[str, object]]


def health_key(component: str, instance: str = "") -> str:
    """The row of one recorder: ``health/recorder``, ``health/recorder/<instance>``."""
    return HEALTH_PREFIX + component + (f"/{instance}" if instance else "")


class HealthReporter:
    """Writes one recorder's counters to its health row, periodically, on a thread of its own.

    Besides the counters the row says which recorder it is (``instance``), whether it has
    stopped, and when its bus's stall count last grew (``stalled_at``), so a page that shows
    it needs no memory of its own to say the recorder has been reconnecting.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        site: str,
        key: str,
        counters: Counters,
        *,
        every_s: float,
        clock: Callable[[], datetime],
        instance: str = "",
    ) -> None:
        self.site, self.key, self.every_s = site, key, every_s
        self._sessions, self._counters, self._clock = sessions, counters, clock
        self._instance = instance
        self._stop = threading.Event()
        self._failing: str | None = None  # the cause last logged; None while writes succeed
        self._stalls: int | None = None
        self._stalled_at: str | None = None
        self.written = 0  # rows written since start
        self._thread = threading.Thread(target=self._run, name="recorder-health", daemon=True)

    def start(self) -> None:
        """Write the first row and then one every ``every_s``, on the reporter's thread."""
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """End the thread and write the last row, marked stopped (if it was started)."""
        if self._thread.ident is None:
            return
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        self.report(stopped=True)

    def _run(self) -> None:
        self.report()
        while not self._stop.wait(self.every_s):
            self.report()

    def payload(self, now: datetime, *, stopped: bool = False) -> dict[str, Any]:
        """The row's content: the counters, the instance, ``stalled_at`` and ``stopped``."""
        counters = dict(self._counters())
        stalls = counters.get("stalls")
        if isinstance(stalls, int):
            if self._stalls is not None and stalls > self._stalls:
                self._stalled_at = now.isoformat()
            self._stalls = stalls
        return {
            **counters,
            "instance": self._instance,
            "stalled_at": self._stalled_at,
            "stopped": stopped,
        }

    def report(self, *, stopped: bool = False) -> bool:
        """Write the row now; False (logged once per cause) when it could not be written."""
        try:
            now = self._clock()
            payload = self.payload(now, stopped=stopped)
            with self._sessions() as session, session.begin():
                put_state(session, self.site, self.key, payload, now)
        except Exception as exc:  # the database away, locked or broken: try again next period
            cause = f"{type(exc).__name__}: {error_line(exc)}"
            if cause != self._failing:
                log.warning("recorder health %s not written, retrying: %s", self.key, cause)
                self._failing = cause
            return False
        if self._failing is not None:
            log.warning("recorder health %s written again", self.key)
            self._failing = None
        self.written += 1
        return True
