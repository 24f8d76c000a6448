"""Writing checked records to the catalogue: update, insert, replace copies, withdraw.

One batch at a time, in the caller's transaction: ``importer.apply_import`` holds one for a
whole file, ``staged`` one per batch. A copy the file gives without a status keeps the one it
has (``ImportedCopy.status_given``).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from services.catalogue import fulltext
from services.catalogue.report import ImportReport
from services.store.catalogue import (
    CatalogueCopy,
    CatalogueRecord,
    CopyStatus,
    ImportedCopy,
    ImportedRecord,
)


def _row(record: ImportedRecord) -> dict[str, Any]:
    return {
        "record_id": record.record_id,
        "title": record.title,
        "subtitle": record.subtitle,
        "author": record.author,
        "contributors": "; ".join(record.contributors),
        "year": record.year,
        "isbns": " ".join(record.isbns),
        "publisher": record.publisher,
        "dk5": record.dk5,
        "fiction": record.fiction,
        "subjects": "; ".join(record.subjects),
        "abstract": record.abstract,
        "shelf_mark": record.shelf_mark,
    }


def _document(key: int, record: ImportedRecord) -> fulltext.Document:
    return fulltext.document(
        key,
        title=f"{record.title} {record.subtitle}",
        author=" ".join((record.author, *record.contributors)),
        subjects=record.subjects,
        isbns=record.isbns,
    )


def apply_batch(session: Session, batch: list[ImportedRecord], report: ImportReport) -> None:
    """Write checked records: update existing ids, insert new ones, replace copies, delete."""
    existing: dict[str, int] = {
        rid: key
        for rid, key in session.execute(
            select(CatalogueRecord.record_id, CatalogueRecord.id).where(
                CatalogueRecord.record_id.in_([r.record_id for r in batch])
            )
        )
    }
    live = [r for r in batch if not r.deleted]
    kept = _kept_statuses(session, live)
    touched = list(existing.values())
    if touched:
        session.execute(delete(CatalogueCopy).where(CatalogueCopy.record_key.in_(touched)))
    barcodes = [c.barcode for r in live for c in r.copies]
    if barcodes:
        # A copy moved here from a title that is not in this file leaves that title.
        session.execute(delete(CatalogueCopy).where(CatalogueCopy.barcode.in_(barcodes)))
    gone = [existing[r.record_id] for r in batch if r.deleted and r.record_id in existing]
    if gone:
        fulltext.delete_documents(session, gone)
        session.execute(delete(CatalogueRecord).where(CatalogueRecord.id.in_(gone)))
    report.deleted += len(gone)
    _upsert(session, live, existing, report, kept)


Kept = dict[str, tuple[CopyStatus, date | None]]


def _kept_statuses(session: Session, live: list[ImportedRecord]) -> Kept:
    """The stored status of each copy the file gives without one (kept over a re-import)."""
    silent = [c.barcode for r in live for c in r.copies if not c.status_given]
    if not silent:
        return {}
    rows = session.execute(
        select(CatalogueCopy.barcode, CatalogueCopy.status, CatalogueCopy.due_date).where(
            CatalogueCopy.barcode.in_(silent)
        )
    )
    return {barcode: (status, due) for barcode, status, due in rows}


def _copy_row(key: int, copy: ImportedCopy, kept: Kept) -> dict[str, Any]:
    status, due = kept.get(copy.barcode, (copy.status, copy.due_date))
    return {
        "record_key": key,
        "barcode": copy.barcode,
        "department": copy.department,
        "shelf_mark": copy.shelf_mark,
        "status": status,
        "due_date": due,
    }


def _upsert(
    s: Session,
    live: list[ImportedRecord],
    existing: dict[str, int],
    report: ImportReport,
    kept: Kept,
) -> None:
    updates = [r for r in live if r.record_id in existing]
    inserts = [r for r in live if r.record_id not in existing]
    keys = dict(existing)
    if updates:
        s.execute(update(CatalogueRecord), [{"id": keys[r.record_id], **_row(r)} for r in updates])
    if inserts:
        returned = s.execute(
            insert(CatalogueRecord).returning(CatalogueRecord.record_id, CatalogueRecord.id),
            [_row(r) for r in inserts],
        )
        keys.update((rid, key) for rid, key in returned)
    copies = [_copy_row(keys[r.record_id], c, kept) for r in live for c in r.copies]
    if copies:
        s.execute(insert(CatalogueCopy), copies)
    fulltext.add_documents(s, [_document(keys[r.record_id], r) for r in updates], replace=True)
    fulltext.add_documents(s, [_document(keys[r.record_id], r) for r in inserts], replace=False)
    report.updated += len(updates)
    report.added += len(inserts)
    report.copies += len(copies)
