"""``aabent kiosk`` runs the patron kiosk; ``aabent program import|list`` keeps the event program.

Kivy is imported only inside the ``kiosk`` handler, so the other commands (and the door
controller) never open a window or load a GL library.
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
    """Register ``kiosk`` and ``program``."""
    kiosk = sub.add_parser("kiosk", help="run the patron kiosk (touchscreen, Kivy)")
    kiosk.add_argument("--windowed", action="store_true", help="a window instead of full screen")
    kiosk.add_argument("--first-frame", action="store_true", help=argparse.SUPPRESS)
    kiosk.set_defaults(handler=_kiosk)

    program = sub.add_parser("program", help="the library's event program")
    jobs = program.add_subparsers(dest="program_command", required=True, metavar="JOB")
    p = jobs.add_parser("import", help="import events from iCalendar (.ics) or CSV")
    p.add_argument("file", type=Path)
    p.add_argument("--weeks", type=int, default=12, help="expand recurring events this far ahead")
    p.set_defaults(handler=_import)
    p = jobs.add_parser("list", help="the coming events with seats and attendance")
    p.add_argument("--days", type=int, default=14)
    p.set_defaults(handler=_list)


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


def _database(settings: Settings) -> Any:
    from services.store.schema import open_database

    return open_database(settings.database_url)


def _import(args: argparse.Namespace, settings: Settings) -> int:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from sqlalchemy.exc import SQLAlchemyError

    from services.program.importer import ImportWindow, ProgramImportError, import_file
    from services.store.engine import make_sessionmaker

    engine = _database(settings)
    tz = ZoneInfo(settings.site.timezone)
    window = ImportWindow.around(datetime.now(tz), tz, args.weeks)
    try:
        with make_sessionmaker(engine).begin() as session:
            report = import_file(session, args.file, window)
    except ProgramImportError as exc:
        print(f"aabent: program import failed: {exc}", file=sys.stderr)
        return 1
    except SQLAlchemyError as exc:
        print(f"aabent: program import failed, nothing imported: {exc}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    print(report.summary())
    for problem in report.skipped:
        print(f"  skipped: {problem}")
    return 0


def _list(args: argparse.Namespace, settings: Settings) -> int:
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from services.program.store import events_between
    from services.store.engine import make_sessionmaker

    engine = _database(settings)
    tz = ZoneInfo(settings.site.timezone)
    now = datetime.now(tz)
    with make_sessionmaker(engine)() as session:
        items = events_between(session, now, now + timedelta(days=args.days))
    engine.dispose()
    for i in items:
        seats = "" if i.capacity is None else f"  {i.seats_taken}/{i.capacity} seats"
        when = i.starts.astimezone(tz).strftime("%a %d %b %H:%M")
        print(f"{when}  {i.title}  [{i.location}]{seats}  {i.attendance} checked in")
    if not items:
        print("no events")
    return 0
