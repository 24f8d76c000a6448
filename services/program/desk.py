"""The kiosk's side of the programme: list, register and check in, and publish check-ins."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from services.bus.outbox import Outbox
from services.bus.topics import Topics
from services.core.events import Event, EventType
from services.program.store import (
    CheckInOutcome,
    CheckInResult,
    ProgramItem,
    RegisterOutcome,
    activities_between,
    check_in,
    register,
)

log = logging.getLogger(__name__)


class _Refused(Exception):
    """Leaves the unit of work so it rolls back (the lock's no-op UPDATE included)."""

    def __init__(self, result: CheckInResult | RegisterOutcome) -> None:
        super().__init__(str(result))
        self.result = result


class ProgramDesk:
    """The kiosk's side of the program: list, register and check in, each its own transaction.

    A check-in that counted is published as ``event.checkin`` on ``kiosk/<kiosk>/event`` through
    the durable outbox (when one is given), after its transaction has committed.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        kiosk: str,
        clock: Callable[[], datetime],
        window: timedelta = timedelta(minutes=30),
        outbox: Outbox | None = None,
        topics: Topics | None = None,
    ) -> None:
        if outbox is not None and topics is None:
            raise ValueError("publishing check-ins through the outbox needs the site's topics")
        self._sessions, self._kiosk, self._clock = sessions, kiosk, clock
        self._window, self._outbox, self._topics = window, outbox, topics

    @property
    def window(self) -> timedelta:
        """How long before the start check-in opens."""
        return self._window

    def upcoming(self, days: int) -> list[ProgramItem]:
        """Events from now until ``days`` days ahead (today's that are still running included)."""
        now = self._clock()
        with self._sessions() as session:
            return activities_between(session, now, now + timedelta(days=days))

    def check_in(
        self,
        uid: str,
        *,
        patron_id: str | None = None,
        head_count: int = 1,
        pseudonym: str | None = None,
    ) -> CheckInResult:
        """Check a patron (or ``head_count`` guests) in to ``uid`` and publish it."""
        now, event_id = self._clock(), str(uuid.uuid4())
        try:
            with self._sessions.begin() as session:
                result = check_in(
                    session,
                    uid,
                    patron_id=patron_id,
                    head_count=head_count,
                    kiosk=self._kiosk,
                    event_id=event_id,
                    now=now,
                    window=self._window,
                )
                if not result.ok:
                    raise _Refused(result)
        except _Refused as refused:
            return cast(CheckInResult, refused.result)
        except IntegrityError:
            # Only a race the lock should have prevented gets here; the constraint held the line.
            return CheckInResult(CheckInOutcome.ALREADY)
        details = {"activity_uid": uid, "title": result.title, "head_count": result.head_count}
        details["guest"] = patron_id is None
        self._publish(
            Event(
                type=EventType.ACTIVITY_CHECKIN,
                source=self._kiosk,
                ts=now,
                id=event_id,
                credential=pseudonym,
                details=details,
            )
        )
        return result

    def register(self, uid: str, *, patron_id: str) -> RegisterOutcome:
        """Book a seat at ``uid`` for the patron."""
        try:
            with self._sessions.begin() as session:
                outcome = register(session, uid, patron_id=patron_id, now=self._clock())
                if outcome is not RegisterOutcome.REGISTERED:
                    raise _Refused(outcome)
                return outcome
        except _Refused as refused:
            return cast(RegisterOutcome, refused.result)
        except IntegrityError:
            return RegisterOutcome.ALREADY

    def _publish(self, event: Event) -> None:
        if self._outbox is None or self._topics is None:
            return
        self._outbox.append(self._topics.kiosk_event(self._kiosk), event.to_json())
        log.info("check-in published", extra={"event_id": event.id})
