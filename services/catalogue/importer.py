"""Applying an import: every good record of a file in one transaction, the bad ones reported.

What "skipped" and "abort" mean:

- A corrupt record (unparseable MARC, a CSV row with a bad date, no title, a record id or
  barcode already used earlier in the same file) is *skipped*: it is left out and reported
  with its position; everything else in the file is applied. With ``strict=True`` any skipped
  record fails the import instead.
- A file that cannot be read as a whole (not UTF-8, XML that is not well-formed, an unknown
  CSV column) raises ``ImportFailed``; so does a database error. The caller's transaction is
  then rolled back and nothing of the file is applied.

A record whose id is already in the catalogue is updated in place and its copies replaced; a
record marked deleted (danMARC2 004 *r d, MARC21 leader/05 d) is removed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from sqlalchemy.orm import Session

from services.catalogue.apply import apply_batch
from services.catalogue.csv_import import read_csv
from services.catalogue.marc_files import looks_like_xml, read_marc
from services.catalogue.report import ImportProgress, ImportReport, Progress
from services.store.catalogue import (
    Entry,
    FileNotice,
    ImportedRecord,
    ImportFailed,
    Problem,
)

__all__ = ["BATCH", "ImportProgress", "ImportReport", "Progress", "apply_batch", "apply_import",
           "check_entries", "import_file", "open_source"]  # fmt: skip

BATCH = 2000
_MARC_SUFFIXES = {".mrc", ".marc", ".iso", ".iso2709", ".dat", ".xml", ".marcxml"}


class FileChecks:
    """Checks records against the rest of the file and hands them on in batches to ``write``.

    The checks need only the file; where the batches go (the caller's transaction, or the
    staging table of ``staged.py``) is ``write``'s business.
    """

    def __init__(
        self,
        report: ImportReport,
        write: Callable[[list[ImportedRecord]], None],
        batch: int = BATCH,
    ) -> None:
        self.report, self.write, self.batch = report, write, batch
        self.ids: dict[str, str] = {}
        self.barcodes: dict[str, str] = {}
        self.pending: list[ImportedRecord] = []

    def add(self, record: ImportedRecord) -> None:
        """Queue ``record``, or skip it if its id or a barcode was used earlier in the file."""
        problem = self._conflict(record)
        if problem is not None:
            self.report.skipped.append(problem)
            return
        self.ids[record.record_id] = record.position
        for copy in record.copies:
            self.barcodes[copy.barcode] = record.record_id
        if record.warnings:
            self.report.warnings.extend(Problem(record.position, w) for w in record.warnings)
        self.pending.append(record)
        if len(self.pending) >= self.batch:
            self.flush()

    def _conflict(self, record: ImportedRecord) -> Problem | None:
        if record.record_id in self.ids:
            first = self.ids[record.record_id]
            return Problem(record.position, f"record id {record.record_id} repeats ({first})")
        seen: set[str] = set()
        for copy in record.copies:
            owner = self.barcodes.get(copy.barcode)
            if owner is not None or copy.barcode in seen:
                other = f"record {owner}" if owner else "this record"
                return Problem(
                    record.position,
                    f"record {record.record_id}: barcode {copy.barcode} is already used by {other}",
                )
            seen.add(copy.barcode)
        return None

    def flush(self) -> None:
        """Hand the queued records to ``write``."""
        batch, self.pending = self.pending, []
        if batch:
            self.write(batch)


def check_entries(
    entries: Iterable[Entry],
    write: Callable[[list[ImportedRecord]], None],
    *,
    strict: bool,
    progress: Progress | None,
    fraction: Callable[[], float | None],
    batch: int = BATCH,
) -> ImportReport:
    """Check every entry of a file and hand the good ones to ``write``; ``strict`` fails on any bad.

    ``ImportFailed`` (strict, a bad record) comes after everything was read, so the message
    counts them all.
    """
    report = ImportReport()
    checks = FileChecks(report, write, batch)
    for entry in entries:
        if isinstance(entry, FileNotice):
            report.warnings.append(entry)
            continue
        report.read += 1
        if isinstance(entry, Problem):
            report.skipped.append(entry)
        else:
            checks.add(entry)
        if progress is not None and report.read % BATCH == 0:
            progress(ImportProgress(report.read, len(report.skipped), fraction()))
    checks.flush()
    if progress is not None:
        progress(ImportProgress(report.read, len(report.skipped), fraction()))
    if strict and report.skipped:
        first = report.skipped[0]
        raise ImportFailed(
            f"{len(report.skipped)} corrupt records, the first at {first}; nothing imported"
        )
    return report


def apply_import(
    session: Session,
    entries: Iterable[Entry],
    *,
    strict: bool = False,
    progress: Progress | None = None,
    fraction: Callable[[], float | None] = lambda: None,
) -> ImportReport:
    """Store every good record of ``entries`` in ``session``; the caller commits or rolls back.

    One transaction holds the database's write lock for the whole file: right for tests and
    small files; ``staged.run_import`` is the way for a running library.
    """
    counts = ImportReport()

    def write(batch: list[ImportedRecord]) -> None:
        apply_batch(session, batch, counts)

    report = check_entries(entries, write, strict=strict, progress=progress, fraction=fraction)
    report.added, report.updated, report.deleted = counts.added, counts.updated, counts.deleted
    report.copies = counts.copies
    return report


def _reader(
    path: Path, stream: BinaryIO, format: str | None, encoding: str | None
) -> Iterator[Entry]:
    if format is None:
        head = stream.read(64)
        stream.seek(0)
        suffix = path.suffix.lower()
        marc = suffix in _MARC_SUFFIXES or looks_like_xml(head) or head[:5].isdigit()
        format = "marc" if marc and suffix != ".csv" else "csv"
    if format == "marc":
        return read_marc(stream, encoding)
    if format == "csv":
        return read_csv(stream)
    raise ImportFailed(f"unknown format {format!r} (use marc or csv)")


@contextmanager
def open_source(
    path: Path, format: str | None = None, encoding: str | None = None
) -> Iterator[tuple[Iterator[Entry], Callable[[], float | None]]]:
    """The entries of a catalogue file and how much of it has been read; ``ImportFailed`` names
    the file and why it cannot be read."""
    try:
        with path.open("rb") as stream:
            size = path.stat().st_size

            def fraction() -> float | None:
                return stream.tell() / size if size and not stream.closed else None

            entries = _reader(path, stream, format, encoding)
            try:
                yield entries, fraction
            finally:
                # A reader left half-way (a failed or cut-off import) is closed before its file.
                close = getattr(entries, "close", None)
                if close is not None:
                    close()
    except ImportFailed as exc:
        raise ImportFailed(f"{path}: {exc}") from None
    except OSError as exc:
        raise ImportFailed(f"{path}: {exc.strerror or exc}") from None


def import_file(
    session: Session,
    path: Path | str,
    *,
    format: str | None = None,
    strict: bool = False,
    progress: Progress | None = None,
    encoding: str | None = None,
) -> ImportReport:
    """Import a MARC (ISO 2709, MARCXML) or CSV file; ``ImportFailed`` names the file and why.

    ``encoding`` overrides the detected character set of ISO 2709 records (``encoding.py``).
    """
    with open_source(Path(path), format, encoding) as (entries, fraction):
        return apply_import(session, entries, strict=strict, progress=progress, fraction=fraction)
