"""Book a room: today's bookings without names, card and PIN, free slots, own bookings
(layout in rooms.kv)."""

from __future__ import annotations

from typing import Any

from kivy.properties import ObjectProperty
from kivy.uix.screenmanager import Screen

from kiosk.screens import KV_DIR

KV = KV_DIR / "rooms.kv"


class RoomsScreen(Screen):  # type: ignore[misc]
    """Binds rooms.kv to its view model, vm."""

    vm = ObjectProperty(None)

    def on_kv_post(self, _base: Any) -> None:
        """Follow the view model's ``step`` with the inner screen manager."""
        self.vm.bind(step=self._follow)
        self._follow(self.vm, self.vm.step)

    def _follow(self, _vm: Any, value: str) -> None:
        self.ids.steps.current = value
