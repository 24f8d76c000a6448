"""The programme: the coming days, check-in and registration (layout in program.kv)."""

from __future__ import annotations

from typing import Any

from kivy.properties import ObjectProperty
from kivy.uix.screenmanager import Screen

from kiosk.screens import KV_DIR

KV = KV_DIR / "program.kv"


class ProgramScreen(Screen):  # type: ignore[misc]
    """Binds program.kv to its view model, vm."""

    vm = ObjectProperty(None)

    def on_kv_post(self, _base: Any) -> None:
        """Follow the view model's ``mode`` with the inner screen manager."""
        # Not a kv binding: kv would set ``current`` before the inner screens exist.
        self.vm.bind(mode=self._follow)
        self._follow(self.vm, self.vm.mode)

    def _follow(self, _vm: Any, value: str) -> None:
        self.ids.modes.current = value
