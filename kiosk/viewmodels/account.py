"""My account: card (scanned or typed) and PIN, then loans, reservations and renewals.

The card and PIN live only in this object, only as long as the patron is at the screen, and are
never shown: a typed card number appears as dots, like the PIN. The account service (local or
SIP2) answers off the Kivy thread; when it cannot be reached the screen says so in plain words.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from kivy.properties import BooleanProperty, ListProperty, OptionProperty, StringProperty

from kiosk.background import Runner
from kiosk.i18n import Catalog, Translator
from kiosk.input import read_card
from kiosk.receipts import SendReceipt
from kiosk.viewmodels.keypad import MAX_PIN_DIGITS, CardPinViewModel, masked
from services.core.account import (
    AccountLocked,
    AccountOutcomeUnknown,
    AccountRefused,
    AccountService,
    Fines,
    HoldRefusal,
    HoldResult,
    Loan,
    RenewRefusal,
    RenewResult,
    Reservation,
    Standing,
)
from services.core.card_rules import pin_problem
from services.core.credentials import Credential

log = logging.getLogger(__name__)

STEPS = ["scan", "pin", "busy", "account", "newpin"]
_REASONS = {r.value for r in RenewRefusal}
_HOLD_REASONS = {r.value for r in HoldRefusal}


ChangePin = Callable[[Credential, str, str], object]  # card, PIN now, new PIN; raises if refused


def masked_address(address: str) -> str:
    """``f•••@example.dk``: enough for the patron to know it, not for a passer-by to read."""
    name, _, domain = address.partition("@")
    return f"{name[:1]}•••@{domain}" if domain else "•••"


def _ignore(_outcome: object) -> None:
    """Whatever ending a session comes to, the patron has gone."""


def money_text(cat: Catalog, amount: Decimal, currency: str) -> str:
    """``245,50 kr.`` / ``DKK 245.50``: the catalogue's decimal mark and currency words."""
    code = currency.strip().upper() or "DKK"  # Danish libraries' systems often leave BH out
    number = f"{amount:.2f}".replace(".", cat.text("format.decimal_mark"))
    word = cat.strings.get(f"account.currency.{code}", code)
    return cat.text("account.money", amount=number, currency=word)


def hold_reason_text(cat: Catalog, reason: str | None) -> str:
    """A local reservation refusal in the patron's language; the library system's as they are."""
    if reason in _HOLD_REASONS:
        return cat.text(f"account.hold_reason.{reason}")
    return reason or ""


def reason_text(cat: Catalog, reason: str | None) -> str:
    """A local refusal in the patron's language; the library system's own words as they are."""
    if reason in _REASONS:
        return cat.text(f"account.reason.{reason}")
    return reason or ""


class AccountViewModel(CardPinViewModel):
    """The account screen's steps, masks, messages and rows."""

    step = OptionProperty("scan", options=STEPS)
    message = StringProperty("")
    message_kind = OptionProperty("info", options=["info", "error"])
    loans = ListProperty([])
    reservations = ListProperty([])
    owed = StringProperty("")  # "You owe …" and why it matters, empty when nothing is owed
    fines = ListProperty([])  # the library system's own lines for each fine
    standing = StringProperty("")  # "blocked/expired: contact the library", empty when fine
    wanted = StringProperty("")  # the title waiting to be reserved once the patron signs in
    new_pin_prompt = StringProperty("")
    can_receipt = BooleanProperty(False)  # renewals done and an address to send them to
    new_pin_mask = StringProperty("")

    def __init__(
        self,
        tr: Translator,
        runner: Runner,
        *,
        account: AccountService,
        today: Callable[[], date],
        max_attempts: int = 3,
        change_pin: ChangePin | None = None,
        send_receipt: SendReceipt | None = None,
        library: str = "",
        **kwargs: Any,
    ) -> None:
        super().__init__(tr, runner, **kwargs)
        self.account, self._today, self._max_attempts = account, today, max_attempts
        self._change_pin = change_pin  # None: the library system's PIN is changed at the desk
        self._send_receipt, self._library = send_receipt, library
        self._message_key: str | None = None
        self._message_words: Callable[[Catalog], str] | None = None
        self._clear_patron()
        self.relabel()

    def _clear_patron(self) -> None:
        self._credential: Credential | None = None
        self._pin = self._typed = ""
        self._attempts = 0
        self._loans: list[Loan] = []
        self._reservations: list[Reservation] = []
        self._fines = Fines()
        self._results: dict[str, RenewResult] = {}
        self._standing = Standing()
        self._wanted: tuple[str, str] | None = None  # (record id, title) to reserve
        self._new_pin, self._first_pin, self._pin_round = "", "", "new"

    @property
    def signed_in(self) -> bool:
        """True while a patron's account is on the screen."""
        return bool(self.step == "account")

    def _say(self, key: str | None, kind: str = "info") -> None:
        self._message_key, self._message_words, self.message_kind = key, None, kind
        self.message = self.tr._(key) if key else ""

    # --- card and PIN ---------------------------------------------------------------------------

    def scan(self, text: str) -> None:
        """A scanned (or typed) card number; anything that is not a card is "not recognised"."""
        if self.step in ("busy", "account"):
            return
        credential = read_card(text)
        self._typed, self.typed_mask = "", ""
        if credential is None:
            self._say("account.not_recognised", "error")
            return
        self._credential, self._pin, self.pin_mask, self._attempts = credential, "", "", 0
        self.step = "pin"
        self._say("account.card_read")

    def key(self, key: str) -> None:
        """A key of the keypad: a digit, ``backspace``, ``ok`` or ``cancel``."""
        if key == "cancel" and self.step == "newpin":
            self.step = "account"  # the PIN stays as it was; the patron stays signed in
            self._say(None)
        elif self.step == "newpin":
            self._new_pin_key(key)
        elif key == "cancel":
            self.reset()
        elif self.step == "scan":
            self._card_key(key)
        elif self.step == "pin":
            self._pin_key(key)

    def submit(self) -> None:
        """Ask the library system for the account of the card with this PIN."""
        credential, pin = self._credential, self._pin
        if credential is None:
            return
        self.step = "busy"
        self._say("account.busy")

        def fetch() -> tuple[list[Loan], list[Reservation], Fines, Standing]:
            account = self.account
            found = account.loans(credential, pin), account.reservations(credential, pin)
            return (*found, account.fines(credential, pin), account.standing(credential, pin))

        self.start(fetch, self._signed_in, self._refused)

    def _signed_in(self, found: tuple[list[Loan], list[Reservation], Fines, Standing]) -> None:
        self._loans, self._reservations, self._fines, self._standing = found
        self._results, self._attempts = {}, 0
        self.step = "account"
        self._say(None)
        self.relabel()
        if self._wanted is not None:
            self._place(*self._wanted)

    # --- receipts -------------------------------------------------------------------------------

    def send_receipt(self) -> None:
        """E-mail the renewals of this visit to the address the library system has."""
        to, send = self._standing.email, self._send_receipt
        if not self.can_receipt or send is None or not to:
            return
        cat = self.tr.catalog
        subject = cat.text("receipt.subject", library=self._library,
                           date=cat.date_text(self._today()))  # fmt: skip
        lines = [cat.text("receipt.greeting"), ""]
        titles = {loan.item_id: loan.title for loan in self._loans}
        for item_id, result in self._results.items():
            title = titles.get(item_id) or result.title or cat.text("account.untitled")
            if result.renewed and result.due is not None:
                lines.append(cat.text("receipt.renewed", title=title,
                                      date=cat.date_text(result.due)))  # fmt: skip
            elif result.unknown:
                lines.append(cat.text("receipt.unknown", title=title))
            else:
                reason = reason_text(cat, result.reason)
                lines.append(cat.text("receipt.not_renewed", title=title, reason=reason))
        lines += ["", cat.text("receipt.footer", library=self._library)]
        body = "\n".join(lines) + "\n"
        shown = masked_address(to)
        self.start(lambda: send(to, subject, body),
                   lambda _r: self._say_words(lambda c: c.text("account.receipt_sent",
                                                                address=shown), "info"),
                   self._receipt_failed)  # fmt: skip

    def _receipt_failed(self, error: BaseException) -> None:
        log.warning("receipt not sent: %s", error.__class__.__name__)
        self._say("account.receipt_failed", "error")

    # --- a new PIN ------------------------------------------------------------------------------

    def start_pin_change(self) -> None:
        """Change the PIN where the library system allows it; else say it is done at the desk."""
        if not self.signed_in:
            return
        if self._change_pin is None:
            self._say("account.pin_at_desk")  # SIP2 has no message for it: never pretend
            return
        self._new_pin, self._first_pin, self._pin_round = "", "", "new"
        self.new_pin_mask = ""
        self.step = "newpin"
        self._say(None)
        self.relabel()

    def _new_pin_key(self, key: str) -> None:
        if key == "ok":
            self._new_pin_entered()
            return
        if key == "backspace":
            self._new_pin = self._new_pin[:-1]
        elif len(key) == 1 and key.isdigit() and len(self._new_pin) < MAX_PIN_DIGITS:
            self._new_pin += key
        self.new_pin_mask = masked(self._new_pin)

    def _new_pin_entered(self) -> None:
        entered, self._new_pin, self.new_pin_mask = self._new_pin, "", ""
        if self._pin_round == "new":
            if pin_problem(entered):
                self._say("account.pin_rule", "error")
                return
            self._first_pin, self._pin_round = entered, "repeat"
            self._say(None)
            self.relabel()
            return
        if entered != self._first_pin:
            self._first_pin, self._pin_round = "", "new"
            self._say("account.pin_mismatch", "error")
            self.relabel()
            return
        credential, pin, change = self._credential, self._pin, self._change_pin
        if credential is None or change is None:
            return
        self.step = "busy"
        self.start(lambda: change(credential, pin, entered), lambda _r: self._pin_changed(entered),
                   self._pin_change_failed)  # fmt: skip

    def _pin_changed(self, new: str) -> None:
        self._pin, self._first_pin = new, ""
        self.step = "account"
        self._say("account.pin_changed")

    def _pin_change_failed(self, error: BaseException) -> None:
        self._first_pin, self._pin_round = "", "new"
        if isinstance(error, (AccountLocked, AccountRefused)):
            self._refused(error)
            return
        log.warning("PIN change failed: %s", error.__class__.__name__)
        self.step = "account"
        self._say("account.pin_not_changed", "error")

    # --- reservations ---------------------------------------------------------------------------

    def want(self, record_id: str, title: str) -> None:
        """Reserve the title: at once when signed in, else once the patron has signed in."""
        if self.step == "busy":
            return
        self._wanted = (record_id, title)
        if self.signed_in:
            self._place(record_id, title)
        else:
            self.relabel()

    def _place(self, record_id: str, title: str) -> None:
        credential, pin = self._credential, self._pin
        if credential is None:
            return
        self._wanted = None
        job = lambda: self.account.reserve(credential, pin, record_id)  # noqa: E731
        self.start(job, lambda r: self._held(r, title, "placed"), self._hold_failed)

    def cancel(self, item_id: str) -> None:
        """Cancel one of the patron's reservations."""
        credential, pin = self._credential, self._pin
        if credential is None or not self.signed_in:
            return
        held = next((r for r in self._reservations if r.item_id == item_id), None)
        title = held.title if held is not None else ""
        job = lambda: self.account.cancel_reservation(credential, pin, item_id)  # noqa: E731
        self.start(job, lambda r: self._held(r, title, "cancelled"), self._hold_failed)

    def _held(self, result: HoldResult, title: str, what: str) -> None:
        def words(cat: Catalog) -> str:
            if result.ok and what == "placed" and result.queue_position:
                return cat.text("account.reserved_queue", title=title, n=result.queue_position)
            if result.ok:
                return cat.text(f"account.{what}", title=title)
            reason = hold_reason_text(cat, result.reason)
            return cat.text(f"account.not_{what}", title=title, reason=reason)

        self._say_words(words, "info" if result.ok else "error")
        credential, pin = self._credential, self._pin
        if credential is not None:
            job = lambda: self.account.reservations(credential, pin)  # noqa: E731
            self.start(job, self._reservations_read, lambda _e: None)

    def _reservations_read(self, held: list[Reservation]) -> None:
        self._reservations = held
        self.relabel()

    def _hold_failed(self, error: BaseException) -> None:
        if isinstance(error, AccountLocked):
            self._refused(error)
            return
        key = "account.hold_unknown" if isinstance(error, AccountOutcomeUnknown) else None
        log.warning("reservation failed: %s", error.__class__.__name__)
        self._say(key or "account.unavailable", "error")

    def _say_words(self, words: Callable[[Catalog], str], kind: str) -> None:
        """A message with values in it (a title, a queue position), worded again on a switch."""
        self._message_key, self._message_words, self.message_kind = None, words, kind
        self.message = words(self.tr.catalog)

    def _refused(self, error: BaseException) -> None:
        if isinstance(error, AccountLocked):
            self._clear_patron()  # the card may not try again now: back to the start
            self.step = "scan"
            self._say(f"account.{error.why}", "error")
            return
        if isinstance(error, AccountRefused):
            self._attempts += 1
            self._pin, self.pin_mask = "", ""
            if self._attempts >= self._max_attempts:
                self._clear_patron()
                self.step = "scan"
                self._say("account.too_many", "error")
            else:
                self.step = "pin"
                self._say("account.refused", "error")
            return
        # The library system (or the database) did not answer: say so, keep nothing.
        log.warning("account lookup failed: %s", error.__class__.__name__)
        self._clear_patron()
        self.step = "scan"
        self._say("account.unavailable", "error")

    # --- renewals -------------------------------------------------------------------------------

    def renew(self, item_id: str) -> None:
        """Renew one loan; its row shows the result."""
        credential, pin = self._credential, self._pin
        if credential is None or not self.signed_in:
            return
        job = lambda: [self.account.renew(credential, pin, item_id)]  # noqa: E731
        self.start(job, self._renewed, lambda error: self._renew_failed(error, [item_id]))

    def renew_all(self) -> None:
        """Renew every loan; each row shows its own result."""
        credential, pin = self._credential, self._pin
        if credential is None or not self.signed_in:
            return
        job = lambda: self.account.renew_all(credential, pin)  # noqa: E731
        items = [loan.item_id for loan in self._loans]
        self.start(job, self._renewed, lambda error: self._renew_failed(error, items))

    def _renewed(self, results: list[RenewResult]) -> None:
        for result in results:
            self._results[result.item_id] = result
        self._say(None)
        self.relabel()

    def _renew_failed(self, error: BaseException, items: list[str]) -> None:
        if isinstance(error, AccountLocked):  # blocked by staff (or a door) meanwhile
            self._refused(error)
            return
        if isinstance(error, AccountOutcomeUnknown):  # it may have happened: never "failed"
            self._renewed([RenewResult(item, False, unknown=True) for item in items])
            return
        log.warning("renewal failed: %s", error.__class__.__name__)
        self._say("account.unavailable", "error")

    # --- texts ----------------------------------------------------------------------------------

    def relabel(self) -> None:
        """Rows and message in the current language."""
        cat = self.tr.catalog
        if self._message_key:
            self.message = cat.text(self._message_key)
        elif self._message_words is not None:
            self.message = self._message_words(cat)
        self.loans = [self._loan_row(cat, loan) for loan in self._loans]
        self.reservations = [self._reservation_row(cat, r) for r in self._reservations]
        owed = self._fines.amount
        self.owed = (
            cat.text("account.owed", money=money_text(cat, owed, self._fines.currency))
            if owed
            else ""
        )
        self.fines = list(self._fines.items)
        self.can_receipt = bool(
            self.signed_in and self._send_receipt and self._standing.email and self._results
        )
        prompt = "account.new_pin" if self._pin_round == "new" else "account.repeat_pin"
        self.new_pin_prompt = cat.text(prompt)
        problem = self._standing.problem(self._today()) if self.signed_in else None
        self.standing = cat.text(f"account.standing.{problem}") if problem else ""
        self.wanted = (
            cat.text("account.sign_in_to_reserve", title=self._wanted[1] or self._wanted[0])
            if self._wanted is not None and not self.signed_in
            else ""
        )

    def _loan_row(self, cat: Catalog, loan: Loan) -> dict[str, Any]:
        result = self._results.get(loan.item_id)
        # A renewal's answer (renewed, refused or unknown) brings the due date as it is now.
        fresh = result.due if result is not None else None
        due = fresh or loan.due
        if fresh is not None:
            overdue = fresh < self._today()
        else:
            overdue = loan.overdue and not (result is not None and result.renewed)
        if due is None:
            due_text = cat.text("account.no_due")
        else:
            key = "account.overdue" if overdue else "account.due"
            due_text = cat.text(key, date=cat.date_text(due))
        outcome, outcome_text = "", ""
        if result is not None and result.renewed and result.due is not None:
            outcome = "renewed"
            outcome_text = cat.text("account.renewed", date=cat.date_text(result.due))
        elif result is not None and result.unknown:
            outcome = "unknown"  # it may have been renewed: the due date above is read again
            outcome_text = cat.text("account.renew_unknown")
        elif result is not None and not result.renewed:
            outcome = "refused"
            reason = reason_text(cat, result.reason)
            outcome_text = cat.text("account.not_renewed", reason=reason)
        return {
            "item_id": loan.item_id,
            "title": loan.title or (result.title if result else "") or cat.text("account.untitled"),
            "due": due_text,
            "overdue": overdue,
            "outcome": outcome,
            "outcome_text": outcome_text,
        }

    def _reservation_row(self, cat: Catalog, held: Reservation) -> dict[str, Any]:
        if not held.ready and held.queue_position:
            status = cat.text("account.queue", n=held.queue_position)
        elif not held.ready:
            status = cat.text("account.waiting")
        elif held.pickup_number:
            status = cat.text("account.ready", shelf=held.pickup_number)
        else:
            status = cat.text("account.ready_no_shelf")
        if held.ready and held.pickup_by is not None:
            status += " · " + cat.text("account.pickup_by", date=cat.date_text(held.pickup_by))
        title = held.title or cat.text("account.untitled")
        return {"item_id": held.item_id, "title": title, "status": status, "ready": held.ready}

    # --- leaving --------------------------------------------------------------------------------

    def log_out(self) -> None:
        """The patron is done: tell the library system, forget everything."""
        self.reset()

    def reset(self) -> None:
        """Forget the card, the PIN and everything shown; back to "scan your card"."""
        credential, pin = self._credential, self._pin
        super().reset()
        if credential is not None:
            end = lambda: self.account.end_session(credential, pin)  # noqa: E731
            self._runner.run(end, _ignore, _ignore)
        self._clear_patron()
        self.typed_mask = self.pin_mask = self.new_pin_mask = ""
        self.step = "scan"
        self._say(None)
        self.relabel()
