"""The import a running library uses: staged in short transactions, applied in short ones.

``import_file`` holds one transaction, and with it SQLite's write lock, for a whole file
(≈ 60 s per 100,000 records), so a kiosk check-in meanwhile waits out its timeout. Here no
transaction lasts longer than one batch, and the file is still applied all or nothing:

1. *staging*: the file is read and checked (``importer.check_entries``), and its good records
   are written as JSON batches to ``catalogue_import_batches``, a transaction per batch. The live
   catalogue is not touched; a ``--strict`` failure, an unreadable file or a crash here leaves
   it as it was (the staged rows are discarded by the next import).
2. *applying*: batch by batch, each in one transaction that also counts it as applied in
   ``catalogue_imports``. A crash here leaves the journal saying how far it got, and the next
   import (or ``resume``) applies the rest before it starts: the file ends up applied whole.

Searches in the minutes of step 2 see some titles already new and some not yet; that is the
price of never holding the lock, and a title is never half written.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import fields
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from services.catalogue.importer import (
    ImportProgress,
    ImportReport,
    Progress,
    apply_batch,
    check_entries,
    open_source,
)
from services.store.catalogue import (
    CatalogueImport,
    CatalogueImportBatch,
    CopyStatus,
    Entry,
    ImportedCopy,
    ImportedRecord,
    ImportState,
)

# Positional JSON: field names once here, not in every one of a million records.
_RECORD_FIELDS = tuple(f.name for f in fields(ImportedRecord))
_TUPLES = {"contributors", "isbns", "subjects", "warnings"}


def _copy_row(copy: ImportedCopy) -> list[str | bool | None]:
    due = copy.due_date.isoformat() if copy.due_date else None
    return [copy.barcode, copy.department, copy.shelf_mark, copy.status.value, due,
            copy.status_given]  # fmt: skip


def _encode(batch: list[ImportedRecord]) -> str:
    rows = []
    for record in batch:
        row: list[Any] = [getattr(record, name) for name in _RECORD_FIELDS]
        row[_RECORD_FIELDS.index("copies")] = [_copy_row(c) for c in record.copies]
        rows.append(row)
    return json.dumps(rows, ensure_ascii=False)


def _copy(row: list[Any]) -> ImportedCopy:
    barcode, department, shelf_mark, status, due, given = row
    return ImportedCopy(
        barcode=barcode,
        department=department,
        shelf_mark=shelf_mark,
        status=CopyStatus(status),
        due_date=date.fromisoformat(due) if due else None,
        status_given=given,
    )


def _decode(payload: str) -> list[ImportedRecord]:
    records = []
    for row in json.loads(payload):
        data = dict(zip(_RECORD_FIELDS, row, strict=True))
        data["copies"] = tuple(_copy(c) for c in data["copies"])
        for name in _TUPLES:
            data[name] = tuple(data[name])
        records.append(ImportedRecord(**data))
    return records


# Records per staged batch: one batch is one transaction while applying, so this bounds how
# long another writer (a check-in) waits; ≈ 0.1 s on a Raspberry Pi-class SQLite device.
BATCH = 500


def _discard_staging(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        stale = list(
            session.scalars(
                select(CatalogueImport.id).where(CatalogueImport.state == ImportState.STAGING)
            )
        )
        if stale:
            session.execute(
                delete(CatalogueImportBatch).where(CatalogueImportBatch.import_id.in_(stale))
            )
            session.execute(delete(CatalogueImport).where(CatalogueImport.id.in_(stale)))


def _apply(engine: Engine, import_id: int, report: ImportReport, progress: Progress | None) -> None:
    """Apply the staged batches of ``import_id`` not applied yet, one transaction each."""
    applied_records = 0
    while True:
        with Session(engine) as session, session.begin():
            journal = session.get_one(CatalogueImport, import_id)
            batch = session.scalar(
                select(CatalogueImportBatch).where(
                    CatalogueImportBatch.import_id == import_id,
                    CatalogueImportBatch.seq == journal.applied,
                )
            )
            if batch is None:
                journal.state = ImportState.DONE
                return
            records = _decode(batch.payload)
            apply_batch(session, records, report)
            session.delete(batch)
            journal.applied += 1
            total = max(journal.batches, 1)
            done = journal.applied / total
        applied_records += len(records)
        if progress is not None:
            progress(ImportProgress(applied_records, len(report.skipped), done))


def resume(engine: Engine, progress: Progress | None = None) -> ImportReport | None:
    """Finish an import cut off while applying and discard one cut off while staging.

    Returns what the finished import did, or None when there was nothing to finish.
    """
    _discard_staging(engine)
    with Session(engine) as session:
        pending = session.scalar(
            select(CatalogueImport.id).where(CatalogueImport.state == ImportState.APPLYING)
        )
    if pending is None:
        return None
    report = ImportReport()
    _apply(engine, pending, report, progress)
    return report


def run_import(
    engine: Engine,
    path: Path | str,
    *,
    format: str | None = None,
    strict: bool = False,
    progress: Progress | None = None,
    encoding: str | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> ImportReport:
    """Import a catalogue file without holding the write lock; ``ImportFailed`` if it cannot be.

    Same file formats, checks and report as ``importer.import_file``.
    """
    path = Path(path)
    return run_entries(
        engine,
        str(path),
        lambda: open_source(path, format, encoding),
        strict=strict,
        progress=progress,
        clock=clock,
    )


Source = Callable[[], AbstractContextManager[tuple[Iterator[Entry], Callable[[], float | None]]]]


def run_entries(
    engine: Engine,
    name: str,
    source: Source,
    *,
    strict: bool = False,
    progress: Progress | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> ImportReport:
    """Stage, then apply, the entries ``source`` opens (a file, an OAI-PMH harvest).

    ``name`` goes into the journal (``catalogue_imports.source``), with the time it started.
    """
    resume(engine)
    with Session(engine) as session, session.begin():
        journal = CatalogueImport(
            source=name, state=ImportState.STAGING, started_at=clock(), batches=0, applied=0
        )
        session.add(journal)
        session.flush()
        import_id = journal.id
    staged = 0

    def stage(batch: list[ImportedRecord]) -> None:
        nonlocal staged
        with Session(engine) as session, session.begin():
            session.add(
                CatalogueImportBatch(import_id=import_id, seq=staged, payload=_encode(batch))
            )
        staged += 1

    try:
        with source() as (entries, fraction):
            report = check_entries(
                entries, stage, strict=strict, progress=progress, fraction=fraction, batch=BATCH
            )
    except BaseException:
        _discard_staging(engine)
        raise
    with Session(engine) as session, session.begin():
        staged_import = session.get_one(CatalogueImport, import_id)
        staged_import.state, staged_import.batches = ImportState.APPLYING, staged
    _apply(engine, import_id, report, progress)
    return report


def last_done(engine: Engine, name: str) -> datetime | None:
    """When the last complete import of ``name`` started (an incremental harvest's "from")."""
    with Session(engine) as session:
        started = session.scalar(
            select(CatalogueImport.started_at)
            .where(CatalogueImport.source == name, CatalogueImport.state == ImportState.DONE)
            .order_by(CatalogueImport.started_at.desc())
            .limit(1)
        )
    if started is not None and started.tzinfo is None:
        started = started.replace(tzinfo=UTC)  # SQLite keeps no zone; it was written in UTC
    return started
