"""Scanner input for the kiosk: keyboard-wedge scanners among typed keys, and serial scanners.

A wedge scanner types its barcode as key presses, a few milliseconds apart, and ends with Enter;
a person types far slower. :class:`ScanClassifier` tells the two apart from the times of the keys
alone (pure; the clock is a parameter), holding keys back for ``max_gap_s`` at most before it
passes them on as typing. :class:`KeyboardWedge` feeds it from Kivy's window key activities.
Serial scanners reuse the door's reader (``services.runtime.serial_reader``) and parser
(``services.core.readers.parse_line``). A card number is never logged or shown.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from services.catalogue.folding import normalise_isbn
from services.core.card_rules import card_problem
from services.core.credentials import Credential, CredentialKind
from services.core.readers import CardRead, ReaderFault, ReaderInput, parse_line

# Scanners send a key every 1-50 ms (many cheap wedges 40-50 ms, and Kivy adds its own jitter);
# a person at the kiosk types on the screen's keyboard, and on a real one rarely under 100 ms.
MAX_GAP_S = 0.085
MIN_SCAN_CHARS = 4
ENTER_KEYS = (13, 271)  # Return, keypad Enter
BACKSPACE_KEY = 8


@dataclass(frozen=True, slots=True)
class Typed:
    """Keys a person typed, to go to the field in use."""

    text: str


@dataclass(frozen=True, slots=True)
class Scanned:
    """A complete scan; ``repr`` hides it, as it may be a card number."""

    text: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class Pressed:
    """Enter or backspace pressed by a person."""

    key: str


KeyInput = Typed | Scanned | Pressed


class ScanClassifier:
    """Sorts key activities into typing and scans by their timing; feed it every key in order."""

    def __init__(self, max_gap_s: float = MAX_GAP_S, min_chars: int = MIN_SCAN_CHARS) -> None:
        self._max_gap, self._min_chars = max_gap_s, min_chars
        self._burst: list[str] = []
        self._last = 0.0

    @property
    def deadline(self) -> float | None:
        """When :meth:`flush` should be called to release held-back keys, or None."""
        return self._last + self._max_gap if self._burst else None

    def _release(self) -> list[KeyInput]:
        out: list[KeyInput] = [Typed("".join(self._burst))] if self._burst else []
        self._burst = []
        return out

    def key(self, text: str, now: float) -> list[KeyInput]:
        """A printable key at ``now`` (seconds); returns what is decided by it."""
        out = self._release() if self._burst and now - self._last > self._max_gap else []
        self._burst.append(text)
        self._last = now
        return out

    def enter(self, now: float) -> list[KeyInput]:
        """Enter at ``now``: the end of a scan if the burst was fast and long enough."""
        fast = self._burst and now - self._last <= self._max_gap
        if fast and len("".join(self._burst)) >= self._min_chars:
            scan = "".join(self._burst)
            self._burst = []
            return [Scanned(scan)]
        return [*self._release(), Pressed("enter")]

    def backspace(self, now: float) -> list[KeyInput]:
        """Backspace: never part of a scan."""
        return [*self._release(), Pressed("backspace")]

    def flush(self, now: float) -> list[KeyInput]:
        """Release keys held back longer than the gap: they were typed."""
        if self._burst and now - self._last > self._max_gap:
            return self._release()
        return []


def read_card(text: str) -> Credential | None:
    """The library card or CPR number in a scan or typed number; None for anything else.

    The same rules as the door's barcode reader (``parse_line``), plus the card rule of
    registering (``services.core.card_rules``), so a scan of a book's price label is "card not
    recognised", not a wrong card.
    """
    try:
        raw = text.strip().encode("ascii")
    except UnicodeEncodeError:
        return None
    return card_from(parse_line(raw))


def scan_target(screen: str, text: str, *, program_takes_it: bool) -> str:
    """Where a scan on ``screen`` goes: ``"account"``, ``"program"`` or ``"search"``.

    What the patron meant: on Search or a title an ISBN is a search (checked before the card
    rules, which a 13-digit ISBN would pass); any card opens My account, never the search box,
    where its number would show; on the programme a card checks in or registers when the screen is
    waiting for one or shows an activity open for it. Anything else goes to My account, which says
    "card not recognised".
    """
    if screen in ("search", "item") and normalise_isbn(text.strip()) is not None:
        return "search"
    if screen == "program" and program_takes_it:
        return "program"
    if screen in ("search", "item") and read_card(text) is None and text.strip():
        return "search"
    return "account"


def card_from(result: ReaderInput) -> Credential | None:
    """The credential of a serial reader's result, if it is a usable card."""
    if not isinstance(result, CardRead):
        return None
    credential = result.credential
    if credential.kind is CredentialKind.CPR or card_problem(credential.number) is None:
        return credential
    return None


class KeyboardWedge:
    """Feeds the Kivy window's key activities to a :class:`ScanClassifier`; results go to ``sink``.

    Runs on the Kivy thread only. ``clock`` is injectable so tests control the timing.
    """

    def __init__(
        self,
        sink: Callable[[KeyInput], None],
        *,
        clock: Callable[[], float] = time.monotonic,
        classifier: ScanClassifier | None = None,
    ) -> None:
        self._sink, self._clock = sink, clock
        self._classifier = classifier or ScanClassifier()
        self._window: Any = None
        self._timer: Any = None

    def attach(self, window: Any) -> None:
        """Listen to ``window``'s key activities."""
        from kivy.clock import Clock

        self._window = window
        window.bind(on_textinput=self._on_text, on_key_down=self._on_key)
        self._timer = Clock.schedule_interval(self._flush, MAX_GAP_S)

    def detach(self) -> None:
        """Stop listening."""
        if self._window is not None:
            self._window.unbind(on_textinput=self._on_text, on_key_down=self._on_key)
        if self._timer is not None:
            self._timer.cancel()

    def _emit(self, results: list[KeyInput]) -> None:
        for result in results:
            self._sink(result)

    def _on_text(self, _window: Any, text: str) -> bool:
        now = self._clock()
        for char in text:
            if char.isprintable():
                self._emit(self._classifier.key(char, now))
        return True

    def _on_key(self, _window: Any, key: int, *_args: Any) -> bool:
        if key in ENTER_KEYS:
            self._emit(self._classifier.enter(self._clock()))
            return True
        if key == BACKSPACE_KEY:
            self._emit(self._classifier.backspace(self._clock()))
            return True
        return False

    def _flush(self, _dt: float) -> None:
        self._emit(self._classifier.flush(self._clock()))


__all__ = [
    "KeyInput",
    "KeyboardWedge",
    "Pressed",
    "ReaderFault",
    "ScanClassifier",
    "Scanned",
    "Typed",
    "card_from",
    "read_card",
    "scan_target",
]
