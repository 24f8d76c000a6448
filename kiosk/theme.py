"""Colours and text size: a calm normal mode and a large-text, high-contrast mode.

The library is certified dementia-friendly: plain backgrounds, strong contrast, no colour that
carries meaning on its own (every state also has words). The ``.kv`` rules bind to these
properties, so a tap on "Stor tekst" restyles every screen at once.
"""

from __future__ import annotations

from typing import Any

from kivy.event import EventDispatcher
from kivy.properties import BooleanProperty, ListProperty, NumericProperty

# (background, panel, text, muted text, button, button text, accent, good, bad)
_NORMAL = (
    (0.97, 0.96, 0.94, 1),
    (1, 1, 1, 1),
    (0.10, 0.10, 0.12, 1),
    (0.30, 0.30, 0.34, 1),
    (0.09, 0.29, 0.52, 1),
    (1, 1, 1, 1),
    (0.95, 0.61, 0.07, 1),
    (0.06, 0.45, 0.22, 1),
    (0.70, 0.10, 0.10, 1),
)
_CONTRAST = (
    (0, 0, 0, 1),
    (0.08, 0.08, 0.08, 1),
    (1, 1, 1, 1),
    (0.92, 0.92, 0.92, 1),
    (1, 0.84, 0, 1),
    (0, 0, 0, 1),
    (1, 0.84, 0, 1),
    (0.45, 1, 0.55, 1),
    (1, 0.45, 0.45, 1),
)
LARGE_SCALE = 1.35


class Theme(EventDispatcher):  # type: ignore[misc]
    """The current look; ``large`` switches text size and palette together."""

    large = BooleanProperty(False)
    scale = NumericProperty(1.0)
    bg = ListProperty(_NORMAL[0])
    panel = ListProperty(_NORMAL[1])
    fg = ListProperty(_NORMAL[2])
    muted = ListProperty(_NORMAL[3])
    button = ListProperty(_NORMAL[4])
    button_fg = ListProperty(_NORMAL[5])
    accent = ListProperty(_NORMAL[6])
    good = ListProperty(_NORMAL[7])
    bad = ListProperty(_NORMAL[8])

    def on_large(self, _instance: Any, large: bool) -> None:
        """Apply the palette and scale of the mode."""
        palette = _CONTRAST if large else _NORMAL
        names = ("bg", "panel", "fg", "muted", "button", "button_fg", "accent", "good", "bad")
        for name, colour in zip(names, palette, strict=True):
            setattr(self, name, list(colour))
        self.scale = LARGE_SCALE if large else 1.0

    def toggle(self) -> None:
        """Normal <-> large text and high contrast."""
        self.large = not self.large
