"""Sign up for self-service at the kiosk: read the house rules, accept with card and PIN.

The card is scanned, or its number typed on the shared keypad (:mod:`kiosk.viewmodels.keypad`,
as in My account), shown only as dots. A typed CPR number is taken where the site lets the door
take one for a forgotten card (``[access] cpr_pad_prefix`` set), and refused where not; a
sign-up, like the desk's, is the credential's: a CPR number signs up that number.

Where a site requires it (``access.signup_required``) the door admits only patrons who have
signed up. The sign-up is the same local registration the desk makes with
``aabent patrons signup`` (:func:`services.patrons.access_lists.sign_up`, keyed by the
credential hash, audited, the lists' version moved), so it reaches the door controllers the
same way: the recorder publishes the new lists snapshot. The PIN is checked through the
kiosk's guarded account service, so wrong PINs count towards the same lockout as at the doors.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from kivy.properties import OptionProperty, StringProperty

from kiosk.background import Runner
from kiosk.i18n import Translator
from kiosk.input import read_card
from kiosk.viewmodels.keypad import CardPinViewModel
from services.core.account import AccountLocked, AccountRefused
from services.core.credentials import Credential

log = logging.getLogger(__name__)
STEPS = ["rules", "scan", "pin", "busy", "done"]

Verify = Callable[[Credential, str], object]  # raises AccountRefused / AccountLocked
Record = Callable[[Credential], bool]  # True: signed up now; False: had signed up before


class SignupViewModel(CardPinViewModel):
    """The steps, the rules in the patron's language, the card and PIN masks and the outcome."""

    step = OptionProperty("rules", options=STEPS)
    rules = StringProperty("")
    scan_prompt = StringProperty("")
    message = StringProperty("")
    message_kind = OptionProperty("info", options=["info", "error"])

    def __init__(
        self,
        tr: Translator,
        runner: Runner,
        *,
        verify: Verify,
        record: Record,
        rules: dict[str, str],
        min_age: int,
        typed_cpr: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(tr, runner, **kwargs)
        self._verify, self._record, self._rules = verify, record, rules
        self._min_age, self.typed_cpr = min_age, typed_cpr
        self._credential: Credential | None = None
        self._pin = self._typed = self._key = ""
        self.relabel()

    def accept(self) -> None:
        """The patron has read the rules and accepts them: now the card."""
        self.step = "scan"
        self._say("signup.scan")

    def scan(self, text: str) -> None:
        """A card scanned (or typed) after accepting."""
        if self.step != "scan":
            return
        credential = read_card(text)
        self._typed, self.typed_mask = "", ""
        if credential is None:
            self._say("account.not_recognised", "error")
            return
        self._credential, self._pin, self.pin_mask, self.step = credential, "", "", "pin"
        self._say("signup.pin")

    def key(self, key: str) -> None:
        """A key of the keypad: a digit, ``backspace`` or ``ok``; the card's, then the PIN's."""
        if self.step == "scan":
            self._card_key(key)
        elif self.step == "pin":
            self._pin_key(key)

    def refuse_typed_cpr(self) -> None:
        """This site takes no typed CPR number: the card, scanned or typed, is wanted."""
        self._say("signup.cpr_refused", "error")

    def submit(self) -> None:
        """Check the PIN of the card read, then record the sign-up."""
        credential, pin = self._credential, self._pin
        if credential is None:
            return
        self.step = "busy"
        self._say("account.busy")

        def job() -> bool:
            self._verify(credential, pin)
            return self._record(credential)

        self.start(job, self._signed_up, self._failed)

    def _signed_up(self, new: bool) -> None:
        self._forget_card()
        self.step = "done"
        self._say("signup.done" if new else "signup.already")

    def _failed(self, error: BaseException) -> None:
        self._pin, self.pin_mask = "", ""
        if isinstance(error, AccountLocked):
            self._forget_card()
            self.step = "scan"
            self._say(f"account.{error.why}", "error")
        elif isinstance(error, AccountRefused):
            self.step = "pin"
            self._say("account.refused", "error")
        else:
            log.warning("sign-up failed: %s", error.__class__.__name__)
            self._forget_card()
            self.step = "scan"
            self._say("signup.not_stored", "error")

    def _forget_card(self) -> None:
        self._credential, self._pin, self.pin_mask = None, "", ""
        self._typed, self.typed_mask = "", ""

    def _say(self, key: str, kind: str = "info") -> None:
        self._key, self.message_kind = key, kind
        self.message = self.tr._(key)

    def relabel(self) -> None:
        """The rules and the message in the current language."""
        own = self._rules.get(self.tr.lang, "").strip()
        self.rules = own or self.tr.catalog.text("signup.rules", age=self._min_age)
        self.scan_prompt = self.tr._(
            "signup.scan_prompt_cpr" if self.typed_cpr else "signup.scan_prompt"
        )
        self.message = self.tr._(self._key) if self._key else ""

    def reset(self) -> None:
        """Forget the card and PIN; back to the rules."""
        super().reset()
        self._forget_card()
        self.step = "rules"
        self._key = ""
        self.relabel()
