"""The attract screen: opening state, people inside, today's programme (layout in home.kv)."""

from __future__ import annotations

from kivy.properties import ObjectProperty
from kivy.uix.screenmanager import Screen

from kiosk.screens import KV_DIR

KV = KV_DIR / "home.kv"


class HomeScreen(Screen):  # type: ignore[misc]
    """Binds home.kv to its view model, vm."""

    vm = ObjectProperty(None)
