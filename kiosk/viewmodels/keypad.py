"""The on-screen keypad of a screen that asks for a card and then its PIN (My account, rooms,
sign-up).

The screen says what a complete card (``scan``) and a complete PIN (``submit``) lead to; the
keys, their limits and the dots shown instead of what was typed are the same on every screen.
A screen that follows the site's rule for a typed CPR number (the door's forgotten card,
``[access] cpr_pad_prefix``) sets ``typed_cpr`` and says what a refused one means
(``refuse_typed_cpr``); a scanned health card is a scan, not typing, and is not refused.
"""

from __future__ import annotations

from kivy.properties import StringProperty

from kiosk.input import read_card
from kiosk.viewmodels.base import ViewModel
from services.core.credentials import CredentialKind

MAX_PIN_DIGITS = 8
MAX_CARD_CHARS = 20
MASK = "•"


def masked(text: str) -> str:
    """What the screen shows of ``text``: a dot per character, never the characters."""
    return MASK * len(text)


class CardPinViewModel(ViewModel):
    """A view model with the card and PIN keys; ``scan`` and ``submit`` are the screen's own."""

    typed_mask = StringProperty("")
    pin_mask = StringProperty("")
    _typed: str  # the card number typed so far (set by the screen when it forgets the patron)
    _pin: str
    typed_cpr = True  # a CPR number may be typed for the card; a screen may follow the site

    def refuse_typed_cpr(self) -> None:
        """A CPR number was typed where the site does not allow it (``typed_cpr`` False)."""
        raise NotImplementedError

    def scan(self, text: str) -> None:
        """A complete card number (scanned, or typed and confirmed)."""
        raise NotImplementedError

    def submit(self) -> None:
        """A complete PIN for the card read."""
        raise NotImplementedError

    def _card_key(self, key: str) -> None:
        if key == "ok":
            if not self._typed:
                return
            typed = read_card(self._typed)
            if not self.typed_cpr and typed is not None and typed.kind is CredentialKind.CPR:
                self._typed, self.typed_mask = "", ""  # forgotten at once, never looked up
                self.refuse_typed_cpr()
                return
            self.scan(self._typed)
            return
        if key == "backspace":
            self._typed = self._typed[:-1]
        elif len(key) == 1 and key.isalnum() and len(self._typed) < MAX_CARD_CHARS:
            self._typed += key
        self.typed_mask = masked(self._typed)

    def _pin_key(self, key: str) -> None:
        if key == "ok":
            if self._pin:
                self.submit()
            return
        if key == "backspace":
            self._pin = self._pin[:-1]
        elif key.isdigit() and len(key) == 1 and len(self._pin) < MAX_PIN_DIGITS:
            self._pin += key
        self.pin_mask = masked(self._pin)
