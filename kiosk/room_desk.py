"""The kiosk's side of the room bookings: the patron's card and PIN checked as My account checks
them (the same PIN guard), then free slots, own bookings, book and cancel, and today's bookings
without names. Each call is one short unit of work on the kiosk's database session."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from services.core.account import AccountService
from services.core.credentials import Credential, SiteKey
from services.core.rooms import Room, Slot
from services.core.schedule import Schedule
from services.patrons import bookings


@dataclass(frozen=True)
class RoomDesk:
    """Bookings for the patron at this kiosk."""

    sessions: sessionmaker[Session]
    key: SiteKey
    site: str
    kiosk: str
    rooms: tuple[tuple[Room, str], ...]  # each room with the name patrons see
    schedule: Schedule
    clock: Callable[[], datetime]
    account: AccountService  # the guarded account: a wrong PIN counts as at a door

    def sign_in(self, credential: Credential, pin: str) -> None:
        """Card and PIN checked, or AccountRefused / AccountLocked."""
        self.account.fines(credential, pin)

    def room(self, room_id: str) -> Room:
        """The room of ``room_id``."""
        return next(r for r, _ in self.rooms if r.id == room_id)

    def free(self, room_id: str) -> list[Slot]:
        """The room's free slots of its horizon."""
        with self.sessions() as session:
            return bookings.free(
                session, self.site, self.room(room_id), self.schedule, self.clock()
            )

    def own(self, credential: Credential) -> list[bookings.BookingView]:
        """The patron's bookings that still hold or lie ahead."""
        with self.sessions() as session:
            return bookings.own_bookings(session, self.key, self.site, credential, self.clock())

    def book(
        self, credential: Credential, room_id: str, start: datetime, companions: int
    ) -> bookings.BookingView:
        """Book a slot for the patron (BookingError says why not)."""
        with self.sessions.begin() as session:
            return bookings.book(
                session,
                self.key,
                self.site,
                self.room(room_id),
                self.schedule,
                credential,
                start,
                companions=companions,
                via="patron",
                booked_by=self.kiosk,
                now=self.clock(),
            )

    def cancel(self, credential: Credential, booking_id: int) -> bookings.BookingView:
        """Cancel one of the patron's own bookings."""
        with self.sessions.begin() as session:
            return bookings.cancel(
                session,
                self.site,
                booking_id,
                actor=self.kiosk,
                now=self.clock(),
                credential_hash=self.key.credential_hash(credential),
            )

    def today(self) -> list[bookings.BookingView]:
        """Today's bookings of the site (the screen shows no one's name or pseudonym)."""
        with self.sessions() as session:
            return bookings.todays(session, self.site, self.clock(), self.schedule.timezone)
