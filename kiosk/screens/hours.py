"""Opening hours for the week, special days and help (layout in hours.kv)."""

from __future__ import annotations

from kivy.properties import ObjectProperty
from kivy.uix.screenmanager import Screen

from kiosk.screens import KV_DIR

KV = KV_DIR / "hours.kv"


class HoursScreen(Screen):  # type: ignore[misc]
    """Binds hours.kv to its view model, vm."""

    vm = ObjectProperty(None)
