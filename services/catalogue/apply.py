"""Writing checked records to the catalogue: update, insert, replace copies, withdraw.

One batch at a time, in the caller's transaction: ``importer.apply_import`` holds one for a
whole file, ``staged`` one per batch. A copy the file gives without a status keeps the one it
has (``ImportedCopy.status_given``).

A batch is first turned into plain rows (``rows_of``): the table rows, the copies and the
folded full-text documents, computed once, and JSON-ready so that ``staged`` keeps them as they
are and applies them without rebuilding records. ``write_rows`` then costs a fixed handful of
statements per batch whatever its size: one SELECT for the ids already there, one DELETE per
kind, updates through SQLAlchemy Core, and inserts as executemany of the driver itself
(``insert_many``), the statements with lists compiled once (expanding parameters).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, delete, select, update
from sqlalchemy.orm import Session

from services.catalogue import fulltext
from services.catalogue.report import ImportReport
from services.store.catalogue import (
    CatalogueCopy,
    CatalogueRecord,
    ImportedRecord,
)

_RECORDS = cast(Table, CatalogueRecord.__table__)
_COPIES = cast(Table, CatalogueCopy.__table__)
# The order of a record row; ``record_id`` first.
RECORD_COLUMNS = ("record_id", "title", "subtitle", "author", "contributors", "year", "isbns",
                  "publisher", "dk5", "fiction", "subjects", "abstract", "shelf_mark")  # fmt: skip
# A copy row: record id, barcode, department, shelf mark, status, due date (ISO), status given.
CopyRow = list[Any]


@dataclass
class BatchRows:
    """A batch as rows: live records, withdrawn record ids, copies and index documents.

    ``documents`` are (record id, title, author, subjects, isbn), folded, one per live record.
    """

    records: list[list[Any]] = field(default_factory=list)
    withdrawn: list[str] = field(default_factory=list)
    copies: list[CopyRow] = field(default_factory=list)
    documents: list[list[str]] = field(default_factory=list)

    def as_json(self) -> list[Any]:
        """The rows as one JSON-ready list (what ``staged`` stores)."""
        return [self.records, self.withdrawn, self.copies, self.documents]

    @classmethod
    def from_json(cls, data: list[Any]) -> BatchRows:
        """The rows ``as_json`` gave."""
        records, withdrawn, copies, documents = data
        return cls(records, withdrawn, copies, documents)


def rows_of(batch: list[ImportedRecord]) -> BatchRows:
    """The rows of ``batch``; its records are checked already (``importer.FileChecks``)."""
    rows = BatchRows()
    for r in batch:
        if r.deleted:
            rows.withdrawn.append(r.record_id)
            continue
        rows.records.append(
            [r.record_id, r.title, r.subtitle, r.author, "; ".join(r.contributors), r.year,
             " ".join(r.isbns), r.publisher, r.dk5, r.fiction, "; ".join(r.subjects),
             r.abstract, r.shelf_mark]
        )  # fmt: skip
        for c in r.copies:
            due = c.due_date.isoformat() if c.due_date else None
            rows.copies.append(
                [r.record_id, c.barcode, c.department, c.shelf_mark, c.status.value, due,
                 c.status_given]
            )  # fmt: skip
        title, author, subjects, isbn = fulltext.document(
            f"{r.title} {r.subtitle}", " ".join((r.author, *r.contributors)), r.subjects, r.isbns
        )
        rows.documents.append([r.record_id, title, author, subjects, isbn])
    return rows


def apply_batch(session: Session, batch: list[ImportedRecord], report: ImportReport) -> None:
    """Write checked records: update existing ids, insert new ones, replace copies, delete."""
    write_rows(session, rows_of(batch), report)


def _ids(connection: Connection, record_ids: list[str]) -> dict[str, int]:
    if not record_ids:
        return {}
    return {rid: key for rid, key in connection.execute(_SELECT_IDS, {"values": record_ids})}


def _in(column: Any) -> Any:
    # An expanding parameter: the statement is compiled once, not once per batch and list.
    return column.in_(bindparam("values", expanding=True))


_SELECT_IDS = select(_RECORDS.c.record_id, _RECORDS.c.id).where(_in(_RECORDS.c.record_id))
_DELETE_COPIES_OF = delete(_COPIES).where(_in(_COPIES.c.record_key))
_DELETE_COPIES = delete(_COPIES).where(_in(_COPIES.c.barcode))
_DELETE_RECORDS = delete(_RECORDS).where(_in(_RECORDS.c.id))
_KEPT = select(_COPIES.c.barcode, _COPIES.c.status, _COPIES.c.due_date).where(
    _in(_COPIES.c.barcode)
)
_COPY_COLUMNS = ("record_key", "barcode", "department", "shelf_mark", "status", "due_date")


def insert_many(
    connection: Connection, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """INSERT ``rows`` (values in the order of ``columns``) as one executemany of the driver.

    Through SQLAlchemy each row's parameters are processed one by one in Python, which cost
    as much as SQLite's own work when applying an import; the values here are what the driver
    takes as they are (text, numbers, booleans, dates as ISO text).
    """
    if not rows:
        return
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    names = ", ".join(columns)
    marks = ", ".join([mark] * len(columns))
    statement = f"INSERT INTO {table.name} ({names}) VALUES ({marks})"
    connection.exec_driver_sql(statement, [tuple(row) for row in rows])


def write_rows(session: Session, rows: BatchRows, report: ImportReport) -> None:
    """Write a batch's rows in the session's transaction, a fixed number of statements."""
    connection = session.connection()
    existing = _ids(connection, [r[0] for r in rows.records] + rows.withdrawn)
    kept = _kept_statuses(connection, rows.copies)
    if existing:
        connection.execute(_DELETE_COPIES_OF, {"values": list(existing.values())})
    if rows.copies:
        # A copy moved here from a title that is not in this file leaves that title.
        connection.execute(_DELETE_COPIES, {"values": [c[1] for c in rows.copies]})
    gone = [existing[rid] for rid in rows.withdrawn if rid in existing]
    if gone:
        fulltext.delete_documents(session, gone)
        connection.execute(_DELETE_RECORDS, {"values": gone})
    report.deleted += len(gone)

    updates = [dict(zip(RECORD_COLUMNS, r, strict=True)) for r in rows.records if r[0] in existing]
    inserts = [r for r in rows.records if r[0] not in existing]
    if updates:
        for row in updates:
            row["key"] = existing[row["record_id"]]
        statement = update(_RECORDS).where(_RECORDS.c.id == bindparam("key"))
        connection.execute(statement, updates)
    keys = dict(existing)
    if inserts:
        insert_many(connection, _RECORDS, RECORD_COLUMNS, inserts)
        keys.update(_ids(connection, [row[0] for row in inserts]))
    insert_many(connection, _COPIES, _COPY_COLUMNS, [_copy_row(keys, c, kept) for c in rows.copies])
    documents = [(keys[d[0]], d[1], d[2], d[3], d[4]) for d in rows.documents]
    if updates:
        updated = {keys[row["record_id"]] for row in updates}
        fulltext.add_documents(session, [d for d in documents if d[0] in updated], replace=True)
        documents = [d for d in documents if d[0] not in updated]
    fulltext.add_documents(session, documents, replace=False)
    report.updated += len(updates)
    report.added += len(inserts)
    report.copies += len(rows.copies)


Kept = dict[str, tuple[str, date | None]]


def _kept_statuses(connection: Connection, copies: list[CopyRow]) -> Kept:
    """The stored status of each copy the file gives without one (kept over a re-import)."""
    silent = [c[1] for c in copies if not c[6]]
    if not silent:
        return {}
    rows = connection.execute(_KEPT, {"values": silent})
    return {barcode: (status.value, due) for barcode, status, due in rows}


def _copy_row(keys: dict[str, int], copy: CopyRow, kept: Kept) -> tuple[Any, ...]:
    record_id, barcode, department, shelf_mark, status, due, _given = copy
    if barcode in kept:
        status, due_date = kept[barcode]
        due = due_date.isoformat() if due_date else None
    return (keys[record_id], barcode, department, shelf_mark, status, due)
