"""One title: its copies, and where it stands on the floor plan (layout in item.kv)."""

from __future__ import annotations

from kivy.properties import ObjectProperty
from kivy.uix.screenmanager import Screen

from kiosk.screens import KV_DIR

KV = KV_DIR / "item.kv"


class ItemScreen(Screen):  # type: ignore[misc]
    """Binds item.kv to its view model, vm."""

    vm = ObjectProperty(None)
