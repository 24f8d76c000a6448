"""Kivy's settings, applied before the window exists (Kivy reads them when it opens it)."""

from __future__ import annotations

import logging
import os

from services.settings import KioskSettings


def prepare_environment() -> None:
    """Environment Kivy reads on import: no argv parsing, logging through Python's ``logging``."""
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    # PYTHON mode: Kivy neither takes over the root logger nor captures stderr.
    os.environ.setdefault("KIVY_LOG_MODE", "PYTHON")
    os.environ.setdefault("KIVY_NO_FILELOG", "1")
    logging.getLogger("kivy").setLevel(logging.WARNING)


def configure_kivy(kiosk: KioskSettings) -> None:
    """Window size, full screen and input for the kiosk; call before importing ``kiosk.app``."""
    prepare_environment()
    from kivy.config import Config

    Config.set("graphics", "width", str(kiosk.width))
    Config.set("graphics", "height", str(kiosk.height))
    Config.set("graphics", "fullscreen", "auto" if kiosk.fullscreen else "0")
    Config.set("graphics", "show_cursor", "0" if kiosk.fullscreen else "1")
    Config.set("graphics", "resizable", "0")
    # No multisampling: the screens are axis-aligned boxes and text the font renderer already
    # smooths, and 2x MSAA costs a second set of full-screen colour, depth and stencil buffers
    # (35 MB at 1280x800 under Mesa; GPU memory on a Pi).
    Config.set("graphics", "multisamples", "0")
    Config.set("kivy", "exit_on_escape", "0")  # a patron's Esc must not end the kiosk
    Config.set("kivy", "keyboard_mode", "system")  # our own on-screen keyboard, not Kivy's
    # A mouse in the demo and tests: no red multitouch dots on right-clicks.
    Config.set("input", "mouse", "mouse,disable_multitouch")
