"""Search as you type with the on-screen keyboard (layout in search.kv)."""

from __future__ import annotations

from kivy.properties import ObjectProperty
from kivy.uix.screenmanager import Screen

from kiosk.screens import KV_DIR

KV = KV_DIR / "search.kv"


class SearchScreen(Screen):  # type: ignore[misc]
    """Binds search.kv to its view model, vm."""

    vm = ObjectProperty(None)
