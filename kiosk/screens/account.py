"""My account: card and PIN, loans, reservations and renewals (layout in account.kv)."""

from __future__ import annotations

from typing import Any

from kivy.properties import ObjectProperty
from kivy.uix.screenmanager import Screen

from kiosk.screens import KV_DIR

KV = KV_DIR / "account.kv"


class AccountScreen(Screen):  # type: ignore[misc]
    """Binds account.kv to its view model, vm."""

    vm = ObjectProperty(None)

    def on_kv_post(self, _base: Any) -> None:
        """Follow the view model's ``step`` with the inner screen manager."""
        # Not a kv binding: kv would set ``current`` before the inner screens exist.
        self.vm.bind(step=self._follow)
        self._follow(self.vm, self.vm.step)

    def _follow(self, _vm: Any, value: str) -> None:
        self.ids.steps.current = value
