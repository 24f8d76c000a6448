"""Need help? The phone number and what to do out of hours (layout in help.kv)."""

from __future__ import annotations

from kivy.properties import ObjectProperty
from kivy.uix.screenmanager import Screen

from kiosk.screens import KV_DIR

KV = KV_DIR / "help.kv"


class HelpScreen(Screen):  # type: ignore[misc]
    """Binds help.kv to its view model, vm."""

    vm = ObjectProperty(None)
