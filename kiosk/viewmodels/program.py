"""The programme: today and the coming two weeks; check in with a card or as guests; register.

A card scanned here is only looked up to learn who it is (no PIN: attendance is not a secret
worth a PIN at the door of a knitting café); the check-in itself is decided by the database
(:mod:`services.program.store`), so two kiosks can never sell the same last seat.

After a check-in by card, where the directory has an e-mail address for the card's holder, the
patron may have a receipt sent there (:mod:`kiosk.receipts`, the renewal receipts' one way to
send). The card alone proves little, so the screen shows neither the address nor a name: it says
"sent to your e-mail". Where there is no address there is no button and no line about it, as in
My account: a card-only screen says nothing of what the library has on record for the card.
Guests checked in without a card get no receipt.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from kivy.properties import (
    BooleanProperty,
    ListProperty,
    NumericProperty,
    OptionProperty,
    StringProperty,
)

from kiosk.background import Runner
from kiosk.checkin import Identify, Identity, LookupUnavailable
from kiosk.i18n import Catalog, Translator, capital
from kiosk.input import read_card
from kiosk.receipts import SendReceipt, checkin_receipt
from kiosk.viewmodels.base import ViewModel
from services.program.desk import ProgramDesk
from services.program.store import MAX_HEAD_COUNT, CheckInResult, ProgramItem, RegisterOutcome

log = logging.getLogger(__name__)
MODES = ["list", "detail", "scan", "guests", "busy", "done"]

# Who held the card and what their check-in or registration came to; None: nobody holds it.
CardOutcome = tuple[Identity, CheckInResult | RegisterOutcome] | None


class ProgramViewModel(ViewModel):
    """The programme's activities, the one chosen, and the check-in or registration in progress."""

    title = StringProperty("")
    activities = ListProperty([])
    selected = StringProperty("")
    mode = OptionProperty("list", options=MODES)
    detail = ListProperty([])  # lines: when, place, seats, note
    about = StringProperty("")
    activity_title = StringProperty("")
    can_check_in = BooleanProperty(False)
    can_register = BooleanProperty(False)
    prompt = StringProperty("")
    guests = NumericProperty(1)
    message = StringProperty("")
    message_ok = BooleanProperty(True)
    can_receipt = BooleanProperty(False)  # checked in by card, and an address to send it to

    def __init__(
        self,
        tr: Translator,
        runner: Runner,
        *,
        desk: ProgramDesk,
        identify: Identify,
        clock: Callable[[], datetime],
        tz: ZoneInfo,
        days: int = 14,
        send_receipt: SendReceipt | None = None,
        library: str = "",
        **kwargs: Any,
    ) -> None:
        super().__init__(tr, runner, **kwargs)
        self.identify = identify  # who holds a card: the directory, without a PIN
        self._desk, self._clock, self._tz = desk, clock, tz
        self._days, self._purpose = days, "check_in"
        self._send_receipt, self._library = send_receipt, library
        self._items: list[ProgramItem] = []
        self._message: tuple[str, dict[str, Any]] | None = None
        self._receipt: tuple[str, ProgramItem, int] | None = None  # to, activity, head count
        self._visit = 0  # moves whenever the receipt on offer is dropped: a late answer is stale
        self.relabel()

    def load(self) -> None:
        """Fetch the program for the coming days."""
        self.start(lambda: self._desk.upcoming(self._days), self._loaded, self._load_failed)

    def _loaded(self, items: list[ProgramItem]) -> None:
        self._items = items
        self.relabel()

    def _load_failed(self, error: BaseException) -> None:
        log.warning("the program could not be read: %s", error.__class__.__name__)
        self._items = []
        self.relabel()

    def _chosen(self) -> ProgramItem | None:
        return next((i for i in self._items if i.uid == self.selected), None)

    def select(self, uid: str) -> None:
        """Show one activity with what can be done."""
        self.selected, self.mode, self._message, self.guests = uid, "detail", None, 1
        self._drop_receipt()
        self.relabel()

    def back(self) -> None:
        """From a step back to the activity, from the activity back to the list."""
        self._message = None
        self._drop_receipt()
        self.mode = "list" if self.mode == "detail" else "detail"
        if self.mode == "list":
            self.selected = ""
        self.relabel()

    def start_check_in(self) -> None:
        """Wait for a card to check in with."""
        self._purpose, self.mode, self._message = "check_in", "scan", None
        self.relabel()

    def start_registration(self) -> None:
        """Wait for a card to register with."""
        self._purpose, self.mode, self._message = "register", "scan", None
        self.relabel()

    def start_guests(self) -> None:
        """Ask how many guests."""
        self._purpose, self.mode, self.guests, self._message = "guests", "guests", 1, None
        self.relabel()

    def more_guests(self) -> None:
        """One more guest, up to the seats left (and the most one check-in may count)."""
        chosen = self._chosen()
        seats = chosen.seats_left if chosen is not None else None
        most = MAX_HEAD_COUNT if seats is None else max(1, min(MAX_HEAD_COUNT, seats))
        self.guests = min(most, self.guests + 1)

    def fewer_guests(self) -> None:
        """One fewer guest."""
        self.guests = max(1, self.guests - 1)

    def confirm_guests(self) -> None:
        """Check the guests in."""
        uid, count = self.selected, int(self.guests)
        self.mode = "busy"
        self._drop_receipt()  # guests without a card: no receipt
        self.relabel()
        job = lambda: self._desk.check_in(uid, head_count=count)  # noqa: E731
        self.start(job, self._checked_in, self._failed)

    @property
    def wants_card(self) -> bool:
        """True while a scanned card is for this screen: asked for, or on an activity open to it."""
        offered = bool(self.can_check_in or self.can_register)
        return self.mode == "scan" or (self.mode == "detail" and offered)

    def scan(self, text: str) -> None:
        """A card scanned while waiting for one, or on an activity the patron can act on.

        On an activity's page the patron means what its button offers: check in while check-in is
        open, else register where registration is needed. Elsewhere a scan is not for this screen.
        """
        if not self.wants_card:
            return
        if self.mode == "detail":
            self._purpose = "check_in" if self.can_check_in else "register"
        credential = read_card(text)
        if credential is None:
            self._show(("account.not_recognised", {}), ok=False, mode="scan")
            return
        uid, purpose = self.selected, self._purpose
        self.mode = "busy"
        self._drop_receipt()  # the last patron's receipt is not this one's
        self.relabel()

        def job() -> CardOutcome:
            who = self.identify(credential)
            if who is None:
                return None
            if purpose == "register":
                return who, self._desk.register(uid, patron_id=who.patron_id)
            return who, self._desk.check_in(uid, patron_id=who.patron_id, pseudonym=who.pseudonym)

        self.start(job, self._after_card, self._failed)

    def _after_card(self, found: CardOutcome) -> None:
        if found is None:
            self._show(("account.not_recognised", {}), ok=False, mode="scan")
            return
        who, outcome = found
        if isinstance(outcome, RegisterOutcome):
            ok = outcome in (RegisterOutcome.REGISTERED, RegisterOutcome.NOT_NEEDED)
            self._show((f"program.outcome.{outcome.value}", {}), ok=ok)
            self.load()  # a registration takes a seat
            return
        chosen = self._chosen()
        if outcome.ok and who.email and self._send_receipt is not None and chosen is not None:
            self._receipt = (who.email, chosen, outcome.head_count)
        self._checked_in(outcome)

    def send_receipt(self) -> None:
        """E-mail the receipt of this check-in to the address the directory has, then say it is
        sent without saying where. Sent, the address is forgotten; failed, it may be tried again
        while the patron is still at this check-in."""
        receipt, send = self._receipt, self._send_receipt
        if receipt is None or send is None:
            return
        self._receipt, visit = None, self._visit  # one receipt per check-in: the button goes
        to, item, head_count = receipt
        subject, body = checkin_receipt(self.tr.catalog, self._library, item, head_count, self._tz)
        self.mode = "busy"
        self.relabel()

        def sent(_result: object) -> None:
            if visit == self._visit:
                self._show(("program.receipt_sent", {}), ok=True)

        def failed(error: BaseException) -> None:
            log.warning("check-in receipt not sent: %s", error.__class__.__name__)
            if visit == self._visit:  # the patron has not moved on: they may try again
                self._receipt = receipt
                self._show(("program.receipt_failed", {}), ok=False)

        self.start(lambda: send(to, subject, body), sent, failed)

    def _drop_receipt(self) -> None:
        self._receipt, self._visit = None, self._visit + 1

    def _checked_in(self, result: CheckInResult) -> None:
        key = result.outcome.value
        if result.ok and self._purpose == "guests":
            key = "guests_checked_in"
        self._show((f"program.outcome.{key}", {}), ok=result.ok)
        self.load()  # seats and attendance changed

    def _failed(self, error: BaseException) -> None:
        """The message fits the cause: the card could not be looked up, or nothing was stored."""
        if isinstance(error, LookupUnavailable):
            self._show(("program.unavailable", {}), ok=False)
            return
        log.warning("check-in failed: %s", error.__class__.__name__)
        key = "program.not_stored_guests" if self._purpose == "guests" else "program.not_stored"
        self._show((key, {}), ok=False)

    def _show(self, message: tuple[str, dict[str, Any]], *, ok: bool, mode: str = "done") -> None:
        self._message, self.message_ok, self.mode = message, ok, mode
        self.relabel()

    # --- texts ----------------------------------------------------------------------------------

    def relabel(self) -> None:
        """Rows, the chosen activity and the message in the current language."""
        cat, now = self.tr.catalog, self._clock()
        self.title = cat.text("program.title", days=self._days)
        self.activities = [self._row(cat, i, now) for i in self._items]
        chosen = self._chosen()
        self._detail(cat, chosen, now)
        prompts = {"register": "program.scan_to_register", "check_in": "program.scan_to_check_in"}
        key = {
            "scan": prompts.get(self._purpose, "program.scan_to_check_in"),
            "guests": "program.how_many",
            "busy": "program.busy",
        }.get(self.mode)
        self.prompt = cat.text(key) if key else ""
        self.can_receipt = self.mode == "done" and self._receipt is not None
        if self._message is None:
            self.message = ""
        else:
            opens = chosen.starts - self._desk.window if chosen else now
            title = chosen.title if chosen else ""
            key, values = self._message
            self.message = cat.text(key, title=title, time=self._time(cat, opens), **values)

    def _time(self, cat: Catalog, moment: datetime) -> str:
        return cat.time_text(moment.astimezone(self._tz))

    def _day(self, cat: Catalog, item: ProgramItem, now: datetime) -> str:
        day, today = item.starts.astimezone(self._tz).date(), now.astimezone(self._tz).date()
        if day == today:
            return capital(cat.text("format.today"))
        if (day - today).days == 1:
            return capital(cat.text("format.tomorrow"))
        return capital(cat.date_text(day))

    def _seats(self, cat: Catalog, item: ProgramItem) -> str:
        left = item.seats_left
        if left is None:
            return ""
        return cat.text("program.full") if left == 0 else cat.plural("program.seats_left", left)

    def _row(self, cat: Catalog, item: ProgramItem, now: datetime) -> dict[str, Any]:
        day = item.starts.astimezone(self._tz).date()
        weekday = capital(cat.names("format.weekdays")[day.weekday()])
        near = (day - now.astimezone(self._tz).date()).days <= 1
        return {
            "activity_uid": item.uid,
            "day": self._day(cat, item, now) if near else weekday,
            "date": cat.date_text(day, weekday=False),
            "time": f"{self._time(cat, item.starts)}–{self._time(cat, item.ends)}",
            "title": item.title,
            "place": item.location,
            "seats": self._seats(cat, item),
            "open": item.check_in_open(now, self._desk.window),
            "registration": cat.text("program.registration") if item.registration else "",
            "selected": item.uid == self.selected,
        }

    def _detail(self, cat: Catalog, item: ProgramItem | None, now: datetime) -> None:
        if item is None:
            self.activity_title, self.about, self.detail = cat.text("program.pick"), "", []
            self.can_check_in = self.can_register = False
            return
        self.activity_title, self.about = item.title, item.description
        when = f"{self._day(cat, item, now)} {self._time(cat, item.starts)}–"
        when += self._time(cat, item.ends)
        lines = [when, item.location, self._seats(cat, item)]
        if item.registration:
            lines.append(cat.text("program.registration"))
        self.can_check_in = item.check_in_open(now, self._desk.window)
        if not self.can_check_in and now < item.starts:
            opens = item.starts - self._desk.window
            lines.append(cat.text("program.check_in_from", time=self._time(cat, opens)))
        if item.attendance:
            lines.append(cat.text("program.attending", n=item.attendance))
        self.detail = [line for line in lines if line]
        self.can_register = item.registration and now < item.starts

    def reset(self) -> None:
        """Back to the list; no message, nothing chosen."""
        super().reset()
        self.selected, self.mode, self._message, self.guests = "", "list", None, 1
        self._drop_receipt()
        self.relabel()
