"""``aabent catalogue import|search|show``: load a catalogue file, try a search, show a title."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from services.settings import Settings

SHOWN_PROBLEMS = 50


def add_commands(sub: Any) -> None:
    """Register ``catalogue`` with its subcommands."""
    catalogue = sub.add_parser("catalogue", help="import and search the library catalogue")
    jobs = catalogue.add_subparsers(dest="catalogue_command", required=True, metavar="JOB")
    p = jobs.add_parser("import", help="import a MARC (ISO 2709, MARCXML) or CSV file")
    p.add_argument("file", type=Path)
    p.add_argument("--format", choices=("marc", "csv"), help="default: from name and content")
    p.add_argument("--strict", action="store_true", help="import nothing if a record is corrupt")
    p.add_argument(
        "--encoding",
        choices=("utf-8", "latin-1", "marc-8"),
        help="character set of ISO 2709 records (default: detected per record)",
    )
    p.set_defaults(handler=_import)
    p = jobs.add_parser("harvest", help="apply what changed at an OAI-PMH endpoint since last time")
    p.add_argument("endpoint", help="the repository's base URL")
    p.add_argument("--prefix", default="marc21", help="metadataPrefix (default: marc21)")
    p.add_argument("--set", dest="set_", help="harvest only this set")
    p.set_defaults(handler=_harvest)
    p = jobs.add_parser("search", help="search as the kiosk does")
    p.add_argument("query")
    p.add_argument("--limit", type=int, default=20)
    p.set_defaults(handler=_search)
    p = jobs.add_parser("show", help="one title and its copies")
    p.add_argument("record_id")
    p.set_defaults(handler=_show)


class ProgressBar:
    """A plain-text progress bar: redrawn in place on a terminal, a line per 10% elsewhere."""

    def __init__(self, out: TextIO, clock: Callable[[], float] = time.monotonic) -> None:
        self.out, self.clock = out, clock
        self.started = clock()
        self.tty = out.isatty()
        self.last_step = -1

    def __call__(self, progress: Any) -> None:
        """Show ``progress`` (an ``ImportProgress``)."""
        elapsed = max(self.clock() - self.started, 1e-9)
        done = progress.fraction or 0.0
        bar = "#" * int(done * 30)
        line = (
            f"[{bar:<30}] {done:4.0%} {progress.records:>9,} records "
            f"({progress.records / elapsed:,.0f}/s), {progress.skipped} skipped"
        )
        if self.tty:
            self.out.write("\r" + line)
        elif int(done * 10) > self.last_step:
            self.last_step = int(done * 10)
            self.out.write(line + "\n")
        self.out.flush()

    def close(self) -> None:
        """End the redrawn line."""
        if self.tty:
            self.out.write("\n")
            self.out.flush()


def _import(args: argparse.Namespace, settings: Settings) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from services.catalogue.staged import run_import
    from services.store.catalogue import ImportFailed
    from services.store.engine import error_line, make_engine
    from services.store.schema import create_schema

    engine = make_engine(settings.database_url)
    bar = ProgressBar(sys.stderr)
    try:
        create_schema(engine, settings.site.id)
        report = run_import(
            engine,
            args.file,
            format=args.format,
            strict=args.strict,
            progress=bar,
            encoding=args.encoding,
        )
    except (ImportFailed, SQLAlchemyError) as exc:
        bar.close()
        print(
            f"aabent: catalogue import failed, nothing imported: {error_line(exc)}", file=sys.stderr
        )
        return 1
    finally:
        engine.dispose()
    bar.close()
    print(report.summary())
    for label, problems in (("skipped", report.skipped), ("warning", report.warnings)):
        for problem in problems[:SHOWN_PROBLEMS]:
            print(f"  {label}: {problem}")
        if len(problems) > SHOWN_PROBLEMS:
            print(f"  ... and {len(problems) - SHOWN_PROBLEMS} more {label}")
    return 0


def _harvest(args: argparse.Namespace, settings: Settings) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from services.catalogue.oai import harvest
    from services.store.catalogue import ImportFailed
    from services.store.engine import error_line, make_engine
    from services.store.schema import create_schema

    engine = make_engine(settings.database_url)
    try:
        create_schema(engine, settings.site.id)
        report = harvest(engine, args.endpoint, metadata_prefix=args.prefix, set_=args.set_)
    except (ImportFailed, SQLAlchemyError) as exc:
        print(
            f"aabent: catalogue harvest failed, nothing applied: {error_line(exc)}", file=sys.stderr
        )
        return 1
    finally:
        engine.dispose()
    print(report.summary())
    return 0


def _search(args: argparse.Namespace, settings: Settings) -> int:
    from services.catalogue.search import search
    from services.store.engine import make_engine, make_sessionmaker

    engine = make_engine(settings.database_url)
    with make_sessionmaker(engine)() as session:
        hits = search(session, args.query, limit=args.limit)
    engine.dispose()
    for hit in hits:
        year = f" ({hit.year})" if hit.year else ""
        print(f"{hit.record_id:>10}  {hit.title}{year} - {hit.author or '?'}  [{hit.shelf_mark}]"
              f"  {hit.availability}")  # fmt: skip
    if not hits:
        print("no titles found")
    return 0


def _show(args: argparse.Namespace, settings: Settings) -> int:
    from services.catalogue.search import RecordNotFound, item
    from services.store.engine import make_engine, make_sessionmaker

    engine = make_engine(settings.database_url)
    try:
        with make_sessionmaker(engine)() as session:
            detail = item(session, args.record_id)
    except RecordNotFound as exc:
        print(f"aabent: {exc}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    print(f"{detail.title}{': ' + detail.subtitle if detail.subtitle else ''}")
    print(f"{detail.author}, {detail.year or 'no year'}; {detail.shelf_mark}")
    if detail.abstract:
        print(detail.abstract)
    for copy in detail.copies:
        due = f", due {copy.due_date.isoformat()}" if copy.due_date else ""
        print(f"  {copy.barcode}  {copy.department}  {copy.shelf_mark}  {copy.status.value}{due}")
    return 0
