"""Events: the coming days, check-in and registration (layout in events.kv)."""

from __future__ import annotations

from typing import Any

from kivy.properties import ObjectProperty
from kivy.uix.screenmanager import Screen

from kiosk.screens import KV_DIR

KV = KV_DIR / "events.kv"


class EventsScreen(Screen):  # type: ignore[misc]
    """Binds events.kv to its view model, vm."""

    vm = ObjectProperty(None)

    def on_kv_post(self, _base: Any) -> None:
        """Follow the view model's ``mode`` with the inner screen manager."""
        # Not a kv binding: kv would set ``current`` before the inner screens exist.
        self.vm.bind(mode=self._follow)
        self._follow(self.vm, self.vm.mode)

    def _follow(self, _vm: Any, value: str) -> None:
        self.ids.modes.current = value
