"""The idle poster: the week's programme with QR codes (layout in poster.kv)."""

from __future__ import annotations

from kivy.properties import ObjectProperty
from kivy.uix.screenmanager import Screen

from kiosk import qr as _qr  # noqa: F401  (registers QrCode for the kv rules)
from kiosk.screens import KV_DIR

KV = KV_DIR / "poster.kv"


class PosterScreen(Screen):  # type: ignore[misc]
    """Binds poster.kv to its view model, vm."""

    vm = ObjectProperty(None)
