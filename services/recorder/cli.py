"""``aabent recorder`` records the site until SIGTERM; ``aabent retention run`` purges once;
``aabent stats yearly YEAR`` prints the year's figures for Danmarks Statistik as CSV."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from services.settings import Settings

log = logging.getLogger(__name__)


def add_commands(sub: Any) -> None:
    """Register ``recorder``, ``retention`` and ``stats``."""
    rec = sub.add_parser(
        "recorder", help="record every event and state of the site; alarms, discovery, retention"
    )
    rec.set_defaults(handler=_recorder)

    ret = sub.add_parser("retention", help="remove identifiable detail past the retention period")
    acts = ret.add_subparsers(dest="action", required=True, metavar="ACTION")
    acts.add_parser("run", help="purge once, now")
    ret.set_defaults(handler=_retention)

    stats = sub.add_parser("stats", help="statistics from the recorded events, as CSV")
    kinds = stats.add_subparsers(dest="kind", required=True, metavar="KIND")
    yearly = kinds.add_parser("yearly", help="visits and weekly opening hours of one year")
    yearly.add_argument("year", type=int)
    stats.set_defaults(handler=_stats)


def _now() -> datetime:
    return datetime.now(UTC)


def open_sessions(settings: Settings) -> sessionmaker[Session]:
    """Migrate the database to the newest schema and return its sessions."""
    from services.store.engine import make_sessionmaker
    from services.store.schema import open_database

    return make_sessionmaker(open_database(settings.database_url, settings.site.id))


def run_recorder(settings: Settings, done: threading.Event) -> int:
    """Record until ``done`` is set: recorder, notifier, discovery and the daily purge."""
    from services.recorder.service import RecorderService

    service = RecorderService(settings, open_sessions(settings))
    service.start()
    print(f"recorder ready: site {settings.site.id}, database {_safe_url(settings)}", flush=True)
    try:
        done.wait()
    finally:
        service.stop()
    log.info("recorder stopped: %s", service.recorder.counters())
    return 0


def _safe_url(settings: Settings) -> str:
    from sqlalchemy.engine import make_url

    return make_url(settings.database_url).render_as_string(hide_password=True)


def _recorder(_args: argparse.Namespace, settings: Settings) -> int:
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    return run_recorder(settings, done)


def _retention(_args: argparse.Namespace, settings: Settings) -> int:
    from services.recorder.retention import run_once

    result = run_once(open_sessions(settings), _now(), settings.retention.days)
    print(
        f"retention: {result.events} events stripped, {result.pin_rows} PIN rows deleted "
        f"(before {result.cutoff.isoformat()})"
    )
    return 0


def _stats(args: argparse.Namespace, settings: Settings) -> int:
    from services.recorder.stats import write_csv, yearly_figures
    from services.runtime.holiday_file import site_schedule

    schedule = site_schedule(settings)
    with open_sessions(settings)() as session:
        figures = yearly_figures(session, settings.site.id, args.year, schedule)
    write_csv([figures], sys.stdout)
    return 0
