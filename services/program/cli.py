"""``aabent program import|list``: the library's event programme, from its calendar or a CSV.

The server keeps the programme as well as the kiosk, so these commands need neither Kivy nor a
display.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from services.settings import Settings


def add_commands(sub: Any) -> None:
    """Register ``program``."""
    program = sub.add_parser("program", help="the library's event program")
    jobs = program.add_subparsers(dest="program_command", required=True, metavar="JOB")
    p = jobs.add_parser("import", help="import events from iCalendar (.ics) or CSV")
    p.add_argument("file", type=Path)
    p.add_argument("--weeks", type=int, default=12, help="expand recurring events this far ahead")
    p.set_defaults(handler=_import)
    p = jobs.add_parser("list", help="the coming events with seats and attendance")
    p.add_argument("--days", type=int, default=14)
    p.set_defaults(handler=_list)


def _database(settings: Settings) -> Any:
    from services.store.schema import open_database

    return open_database(settings.database_url, settings.site.id)


def _import(args: argparse.Namespace, settings: Settings) -> int:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from sqlalchemy.exc import SQLAlchemyError

    from services.program.importer import ImportWindow, ProgramImportError, import_file
    from services.store.engine import error_line, make_sessionmaker

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
        print(
            f"aabent: program import failed, nothing imported: {error_line(exc)}", file=sys.stderr
        )
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

    from services.program.store import activities_between
    from services.store.engine import make_sessionmaker

    engine = _database(settings)
    tz = ZoneInfo(settings.site.timezone)
    now = datetime.now(tz)
    with make_sessionmaker(engine)() as session:
        items = activities_between(session, now, now + timedelta(days=args.days))
    engine.dispose()
    for i in items:
        seats = "" if i.capacity is None else f"  {i.seats_taken}/{i.capacity} seats"
        when = i.starts.astimezone(tz).strftime("%a %d %b %H:%M")
        print(f"{when}  {i.title}  [{i.location}]{seats}  {i.attendance} checked in")
    if not items:
        print("no events")
    return 0
