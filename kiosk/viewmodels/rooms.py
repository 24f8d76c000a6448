"""Book a room: today's bookings without names; with card and PIN the free slots of the next
days, the patron's own bookings, book and cancel.

Like My account, the card and PIN live only in this object while the patron is at the screen and
are never shown. Today's list names no one: a time, a room and whether it is booked or in use.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from kivy.properties import ListProperty, NumericProperty, OptionProperty, StringProperty

from kiosk.background import Runner
from kiosk.i18n import Translator
from kiosk.input import read_card
from kiosk.room_desk import RoomDesk
from kiosk.viewmodels.keypad import CardPinViewModel
from services.core.account import AccountLocked, AccountRefused
from services.core.credentials import Credential
from services.core.rooms import Slot
from services.patrons.bookings import BookingError, BookingView

log = logging.getLogger(__name__)

STEPS = ["today", "scan", "pin", "busy", "book"]
Found = tuple[list[Slot], list[BookingView]]


class RoomsViewModel(CardPinViewModel):
    """The booking screen's steps, masks, messages and rows."""

    step = OptionProperty("today", options=STEPS)
    message = StringProperty("")
    message_kind = OptionProperty("info", options=["info", "error"])
    today_rows = ListProperty([])
    slot_rows = ListProperty([])
    own_rows = ListProperty([])
    room_name = StringProperty("")
    companions = NumericProperty(0)
    companions_text = StringProperty("")

    def __init__(self, tr: Translator, runner: Runner, *, desk: RoomDesk, **kwargs: Any) -> None:
        super().__init__(tr, runner, **kwargs)
        self.desk = desk
        self._room = 0
        self._today: list[BookingView] = []
        self._message_key: str | None = None
        self._clear_patron()
        self.relabel()

    def _clear_patron(self) -> None:
        self._credential: Credential | None = None
        self._pin = self._typed = ""
        self.typed_mask = self.pin_mask = ""
        self._free: list[Slot] = []
        self._own: list[BookingView] = []
        self.companions = 0

    @property
    def has_rooms(self) -> bool:
        """Whether the site has a bookable room at all."""
        return bool(self.desk.rooms)

    def _room_id(self) -> str:
        return self.desk.rooms[self._room][0].id

    def _say(self, key: str | None, kind: str = "info") -> None:
        self._message_key, self.message_kind = key, kind
        self.message = self.tr._(key) if key else ""

    # --- today, no names ------------------------------------------------------------------------

    def load_today(self) -> None:
        """Read today's bookings (shown when the screen opens)."""
        self.start(self.desk.today, self._got_today, self._today_failed)

    def _got_today(self, found: list[BookingView]) -> None:
        self._today = found
        self.relabel()

    def _today_failed(self, error: BaseException) -> None:
        log.warning("today's bookings failed: %s", error.__class__.__name__)
        self._say("rooms.unavailable", "error")

    # --- card and PIN ---------------------------------------------------------------------------

    def begin(self) -> None:
        """The patron wants to book or cancel: ask for the card."""
        if self.has_rooms:
            self.step = "scan"
            self._say(None)

    def scan(self, text: str) -> None:
        """A scanned (or typed) card number."""
        if self.step in ("busy", "book") or not self.has_rooms:
            return
        credential = read_card(text)
        self._typed, self.typed_mask = "", ""
        if credential is None:
            self.step = "scan"
            self._say("rooms.not_recognised", "error")
            return
        self._credential, self._pin, self.pin_mask = credential, "", ""
        self.step = "pin"
        self._say("rooms.card_read")

    def key(self, key: str) -> None:
        """A key of the keypad: a digit, ``backspace``, ``ok`` or ``cancel``."""
        if key == "cancel":
            self.reset()
        elif self.step == "scan":
            self._card_key(key)
        elif self.step == "pin":
            self._pin_key(key)

    def submit(self) -> None:
        """Check card and PIN, then read the free slots and the patron's own bookings."""
        credential, pin, room = self._credential, self._pin, self._room_id()
        if credential is None:
            return
        self.step = "busy"
        self._say("rooms.busy")

        def fetch() -> Found:
            self.desk.sign_in(credential, pin)
            return self.desk.free(room), self.desk.own(credential)

        self.start(fetch, self._signed_in, self._refused)

    def _signed_in(self, found: Found, key: str | None = None) -> None:
        self._free, self._own = found
        self._pin, self.pin_mask = "", ""  # checked: the bookings need the card only
        self.step = "book"
        self._say(key)
        self.relabel()

    def _refused(self, error: BaseException) -> None:
        self._pin, self.pin_mask = "", ""
        if isinstance(error, AccountLocked):
            self._clear_patron()
            self.step = "scan"
            self._say(f"account.{error.why}", "error")
        elif isinstance(error, AccountRefused):
            self.step = "pin"
            self._say("rooms.refused_pin", "error")
        else:
            log.warning("room sign-in failed: %s", error.__class__.__name__)
            self._clear_patron()
            self.step = "scan"
            self._say("rooms.unavailable", "error")

    # --- book and cancel ------------------------------------------------------------------------

    def more(self) -> None:
        """One more companion, up to the room's limit."""
        limit = self.desk.rooms[self._room][0].rules.max_companions
        self.companions = min(limit, self.companions + 1)
        self.relabel()

    def fewer(self) -> None:
        """One companion fewer."""
        self.companions = max(0, self.companions - 1)
        self.relabel()

    def next_room(self) -> None:
        """The next bookable room (where the site has more than one)."""
        if len(self.desk.rooms) > 1:
            self._room = (self._room + 1) % len(self.desk.rooms)
            self.companions = 0
            if self.step == "book":
                self._after(None)
            self.relabel()

    def choose(self, start_iso: str) -> None:
        """Book the slot that starts at ``start_iso``."""
        credential, room, companions = self._credential, self._room_id(), int(self.companions)
        if credential is None or self.step != "book":
            return
        start = datetime.fromisoformat(start_iso)
        self.step = "busy"
        self._say("rooms.busy")

        def work() -> BookingView:
            return self.desk.book(credential, room, start, companions)

        self.start(work, lambda _b: self._after("rooms.booked"), self._not_done)

    def cancel(self, booking_id: int) -> None:
        """Cancel one of the patron's own bookings."""
        credential = self._credential
        if credential is None or self.step != "book":
            return
        self.step = "busy"

        def work() -> BookingView:
            return self.desk.cancel(credential, booking_id)

        self.start(work, lambda _b: self._after("rooms.cancelled"), self._not_done)

    def _after(self, key: str | None, kind: str = "info") -> None:
        credential, room = self._credential, self._room_id()
        if credential is None:
            return

        def fetch() -> Found:
            return self.desk.free(room), self.desk.own(credential)

        self.start(fetch, lambda found: self._shown(found, key, kind), self._refused)

    def _shown(self, found: Found, key: str | None, kind: str) -> None:
        self._signed_in(found)
        self._say(key, kind)
        self.load_today()

    def _not_done(self, error: BaseException) -> None:
        if isinstance(error, BookingError):
            self._after(f"rooms.refused.{error.code}", "error")
        else:
            self._refused(error)

    def log_out(self) -> None:
        """The patron is done: forget them, back to today's list."""
        self.reset()

    # --- texts ----------------------------------------------------------------------------------

    def _span(self, start: datetime, end: datetime, *, day: bool) -> str:
        cat, tz = self.tr.catalog, self.desk.schedule.timezone
        start, end = start.astimezone(tz), end.astimezone(tz)
        span = f"{cat.time_text(start)}–{cat.time_text(end)}"
        if not day:
            return span
        today = self.desk.clock().astimezone(tz).date()
        return cat.when(start, today).replace(cat.time_text(start), span)

    def relabel(self) -> None:
        """Rewrite the texts in the current language."""
        names = dict((r.id, name) for r, name in self.desk.rooms)
        self.room_name = names.get(self._room_id(), "") if self.has_rooms else ""
        self.today_rows = [
            {
                "time": self._span(b.start, b.end, day=False),
                "room": names.get(b.room, b.room),
                "state": self.tr._(f"rooms.state.{b.state}"),
            }
            for b in self._today
        ]
        self.slot_rows = [
            {"text": self._span(s.start, s.end, day=True), "start": s.start.isoformat(), "vm": self}
            for s in self._free
        ]
        self.own_rows = [
            {
                "text": f"{names.get(b.room, b.room)}: {self._span(b.start, b.end, day=True)}",
                "booking_id": b.id,
                "vm": self,
            }
            for b in self._own
        ]
        self.companions_text = self.tr._("rooms.companions", n=int(self.companions))
        if self._message_key:
            self.message = self.tr._(self._message_key)

    def reset(self) -> None:
        """Back to today's list: nothing of the last patron is left."""
        super().reset()
        self._clear_patron()
        self.step = "today"
        self._say(None)
        self.relabel()
