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

import gc
import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, delete, select
from sqlalchemy.orm import Session

from services.catalogue.apply import BatchRows, rows_of, write_rows
from services.catalogue.importer import (
    ImportProgress,
    ImportReport,
    Progress,
    check_entries,
    open_source,
)
from services.store.catalogue import (
    CatalogueImport,
    CatalogueImportBatch,
    Entry,
    ImportedRecord,
    ImportState,
)


def _encode(batch: list[ImportedRecord]) -> str:
    # The rows as they will be written, folded once here: applying only loads and executes.
    return json.dumps(rows_of(batch).as_json(), ensure_ascii=False)


# Records per staged batch: one batch is one transaction while applying, so this bounds how
# long another writer (a check-in) waits; ≈ 0.1 s on a Raspberry Pi-class SQLite device.
BATCH = 500


@contextmanager
def _connection(engine: Engine) -> Iterator[Connection]:
    """The one connection an import runs on; on SQLite its commits skip the fsync until the end.

    In WAL mode ``synchronous=NORMAL`` keeps the database consistent through a power cut and
    only may lose the last commits; here they carry the journal with them, so the import
    resumes from the last one that survived. ``_durable`` goes back to the engine's setting
    before the commit that marks the import done, whose fsync makes everything before it
    durable too. Without the fsync a batch's transaction, and the wait of a check-in behind
    it, is shorter by a disk flush (10-20 ms on an SD card or a busy disk).
    """
    with engine.connect() as connection:
        if connection.dialect.name != "sqlite":
            yield connection
            return
        setting = connection.exec_driver_sql("PRAGMA synchronous").scalar()
        connection.exec_driver_sql("PRAGMA synchronous=NORMAL")
        connection.commit()
        try:
            yield connection
        finally:
            _durable(connection, setting)


def _durable(connection: Connection, setting: Any = None) -> None:
    if connection.dialect.name == "sqlite":
        if connection.in_transaction():
            connection.rollback()
        connection.exec_driver_sql(f"PRAGMA synchronous={int(setting or 2)}")
        connection.commit()


def _discard_staging(connection: Connection) -> None:
    with Session(connection) as session, session.begin():
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


def _apply(
    connection: Connection, import_id: int, report: ImportReport, progress: Progress | None
) -> None:
    """Apply the staged batches of ``import_id`` not applied yet, one transaction each."""
    applied_records = 0
    while True:
        with Session(connection) as session, session.begin():
            journal = session.get_one(CatalogueImport, import_id)
            batch = session.scalar(
                select(CatalogueImportBatch).where(
                    CatalogueImportBatch.import_id == import_id,
                    CatalogueImportBatch.seq == journal.applied,
                )
            )
            if batch is None:
                break
            rows = BatchRows.from_json(json.loads(batch.payload))
            write_rows(session, rows, report)
            session.delete(batch)
            journal.applied += 1
            total = max(journal.batches, 1)
            done = journal.applied / total
        applied_records += len(rows.records) + len(rows.withdrawn)
        if progress is not None:
            progress(ImportProgress(applied_records, len(report.skipped), done))
    _durable(connection)
    with Session(connection) as session, session.begin():
        session.get_one(CatalogueImport, import_id).state = ImportState.DONE


def resume(engine: Engine, progress: Progress | None = None) -> ImportReport | None:
    """Finish an import cut off while applying and discard one cut off while staging.

    Returns what the finished import did, or None when there was nothing to finish.
    """
    with _connection(engine) as connection:
        return _resume(connection, progress)


def _resume(connection: Connection, progress: Progress | None) -> ImportReport | None:
    _discard_staging(connection)
    with Session(connection) as session:
        pending = session.scalar(
            select(CatalogueImport.id).where(CatalogueImport.state == ImportState.APPLYING)
        )
    if pending is None:
        return None
    report = ImportReport()
    _apply(connection, pending, report, progress)
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
    with _connection(engine) as connection, _fewer_collections():
        return _run(connection, name, source, strict, progress, clock)


@contextmanager
def _fewer_collections() -> Iterator[None]:
    """Python's cyclic garbage collector run less often while records are read and written.

    An import allocates a few dozen short-lived containers per record, so by default the
    collector runs every few records and, every so often, walks every live object of the
    process; 10-20 % of an import's time went there. Nothing an import makes is kept in a
    cycle, so collecting every 50,000 allocations instead loses no memory worth having.
    """
    thresholds = gc.get_threshold()
    gc.set_threshold(50_000, *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)


def _run(
    connection: Connection,
    name: str,
    source: Source,
    strict: bool,
    progress: Progress | None,
    clock: Callable[[], datetime],
) -> ImportReport:
    _resume(connection, None)
    with Session(connection) as session, session.begin():
        journal = CatalogueImport(
            source=name, state=ImportState.STAGING, started_at=clock(), batches=0, applied=0
        )
        session.add(journal)
        session.flush()
        import_id = journal.id
    staged = 0

    def stage(batch: list[ImportedRecord]) -> None:
        nonlocal staged
        payload = _encode(batch)  # before the transaction: it holds the write lock
        with Session(connection) as session, session.begin():
            session.add(CatalogueImportBatch(import_id=import_id, seq=staged, payload=payload))
        staged += 1

    try:
        with source() as (entries, fraction):
            report = check_entries(
                entries, stage, strict=strict, progress=progress, fraction=fraction, batch=BATCH
            )
    except BaseException:
        if connection.in_transaction():
            connection.rollback()
        _discard_staging(connection)
        raise
    with Session(connection) as session, session.begin():
        staged_import = session.get_one(CatalogueImport, import_id)
        staged_import.state, staged_import.batches = ImportState.APPLYING, staged
    _apply(connection, import_id, report, progress)
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
