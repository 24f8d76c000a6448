"""After closing: the library is closed, when it opens, the week's hours (layout in closed.kv)."""

from __future__ import annotations

from kivy.properties import ObjectProperty
from kivy.uix.screenmanager import Screen

from kiosk.screens import KV_DIR

KV = KV_DIR / "closed.kv"


class ClosedScreen(Screen):  # type: ignore[misc]
    """Binds closed.kv to its view model, vm."""

    vm = ObjectProperty(None)
