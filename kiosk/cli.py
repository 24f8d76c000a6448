"""``aabent kiosk`` runs the patron kiosk.

Kivy is imported only inside the handler, so building the ``aabent`` parser (and the door
controller) never opens a window or loads a GL library.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from services.settings import Settings

STARTED = time.perf_counter()


def add_commands(sub: Any) -> None:
    """Register ``kiosk``."""
    kiosk = sub.add_parser("kiosk", help="run the patron kiosk (touchscreen, Kivy)")
    kiosk.add_argument("--windowed", action="store_true", help="a window instead of full screen")
    kiosk.add_argument("--first-frame", action="store_true", help=argparse.SUPPRESS)
    kiosk.set_defaults(handler=_kiosk)


def _kiosk(args: argparse.Namespace, settings: Settings) -> int:
    from kiosk.boot import configure_kivy

    if args.windowed or args.first_frame:
        kiosk = settings.kiosk.model_copy(update={"fullscreen": False})
        settings = settings.model_copy(update={"kiosk": kiosk})
    configure_kivy(settings.kiosk)
    from kiosk.wiring import open_services

    services = open_services(settings)
    from kiosk.app import KioskApp

    app: KioskApp | None = None

    def first_frame() -> None:
        # The benchmark's probe: how long to the first frame of Home, and how much memory.
        print(json.dumps({"first_frame_s": time.perf_counter() - STARTED, "rss_mb": rss_mb()}))
        sys.stdout.flush()
        assert app is not None
        app.stop()

    app = KioskApp(services, first_frame=first_frame if args.first_frame else None)
    app.run()
    return 0


def rss_mb() -> float:
    """This process's resident memory now, from /proc (Linux)."""
    for line in Path(f"/proc/{os.getpid()}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0
