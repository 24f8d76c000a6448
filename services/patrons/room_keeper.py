"""The server's watch over the room bookings: every half minute, mark the bookers who came and
release the no-shows (:func:`services.patrons.bookings.settle`), so the kiosk and the dashboard
offer a freed room and the next snapshot tells the doors."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from services.core.rooms import Room
from services.patrons.bookings import settle

log = logging.getLogger(__name__)


class RoomKeeper:
    """Settles the site's bookings on a thread of its own."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        site: str,
        rooms: tuple[Room, ...],
        clock: Callable[[], datetime],
    ) -> None:
        self.sessions, self.site, self.rooms, self.clock = sessions, site, rooms, clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def settle_now(self) -> list[int]:
        """One round: the ids of the bookings whose state changed."""
        with self.sessions.begin() as session:
            changed = settle(session, self.site, self.rooms, self.clock())
        if changed:
            log.info("rooms: %d bookings settled", len(changed))
        return changed

    def start(self, every_s: float = 30.0) -> None:
        """Settle every ``every_s`` seconds; nothing to do without rooms."""
        if not self.rooms:
            return
        self._thread = threading.Thread(
            target=self._run, args=(every_s,), name="rooms", daemon=True
        )
        self._thread.start()

    def _run(self, every_s: float) -> None:
        while not self._stop.is_set():
            try:
                self.settle_now()
            except Exception:  # the database away: try again, keep running
                log.exception("rooms: could not settle the bookings")
            self._stop.wait(every_s)

    def stop(self) -> None:
        """End the thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2.0)
