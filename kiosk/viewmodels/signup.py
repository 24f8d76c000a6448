"""Sign up for self-service at the kiosk: read the house rules, accept with card and PIN.

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
from kiosk.viewmodels.base import ViewModel
from kiosk.viewmodels.keypad import MAX_PIN_DIGITS, masked
from services.core.account import AccountLocked, AccountRefused
from services.core.credentials import Credential

log = logging.getLogger(__name__)
STEPS = ["rules", "scan", "pin", "busy", "done"]

Verify = Callable[[Credential, str], object]  # raises AccountRefused / AccountLocked
Record = Callable[[Credential], bool]  # True: signed up now; False: had signed up before


class SignupViewModel(ViewModel):
    """The steps, the rules in the patron's language, the PIN mask and the outcome."""

    step = OptionProperty("rules", options=STEPS)
    rules = StringProperty("")
    message = StringProperty("")
    message_kind = OptionProperty("info", options=["info", "error"])
    pin_mask = StringProperty("")

    def __init__(
        self,
        tr: Translator,
        runner: Runner,
        *,
        verify: Verify,
        record: Record,
        rules: dict[str, str],
        min_age: int,
        **kwargs: Any,
    ) -> None:
        super().__init__(tr, runner, **kwargs)
        self._verify, self._record, self._rules = verify, record, rules
        self._min_age = min_age
        self._credential: Credential | None = None
        self._pin, self._key = "", ""
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
        if credential is None:
            self._say("account.not_recognised", "error")
            return
        self._credential, self._pin, self.pin_mask, self.step = credential, "", "", "pin"
        self._say("signup.pin")

    def key(self, key: str) -> None:
        """A key of the PIN pad: a digit, ``backspace`` or ``ok``."""
        if self.step != "pin":
            return
        if key == "ok":
            if self._pin:
                self._submit()
            return
        if key == "backspace":
            self._pin = self._pin[:-1]
        elif len(key) == 1 and key.isdigit() and len(self._pin) < MAX_PIN_DIGITS:
            self._pin += key
        self.pin_mask = masked(self._pin)

    def _submit(self) -> None:
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

    def _say(self, key: str, kind: str = "info") -> None:
        self._key, self.message_kind = key, kind
        self.message = self.tr._(key)

    def relabel(self) -> None:
        """The rules and the message in the current language."""
        own = self._rules.get(self.tr.lang, "").strip()
        self.rules = own or self.tr.catalog.text("signup.rules", age=self._min_age)
        self.message = self.tr._(self._key) if self._key else ""

    def reset(self) -> None:
        """Forget the card and PIN; back to the rules."""
        super().reset()
        self._forget_card()
        self.step = "rules"
        self._key = ""
        self.relabel()
