"""Patrons from a CSV file into the local registry: every row checked first, then all or nothing.

The file format and its checks are in :mod:`services.patrons.csv_rows`. A row whose card or
CPR number is already registered updates that patron (a new card replaces the patron's old
one); an empty cell leaves the stored value as it is. Conflicts with stored patrons are found
before the first write, so a failed import leaves the registry as it was.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from services.core.credentials import SiteKey
from services.core.patrons import PatronStatus
from services.patrons.csv_rows import (
    PatronImportError,
    PatronRow,
    Source,
    column_of,
    read_patron_rows,
)
from services.patrons.registry import (
    credentials_by_hash,
    new_patron_id,
    put_credential,
    set_pin_hash,
)
from services.store.patrons import PatronRecord

__all__ = ["ImportSummary", "PatronImportError", "import_patrons"]


@dataclass(frozen=True, slots=True)
class ImportSummary:
    """What an import did: patrons added, patrons updated, data rows read."""

    added: int
    updated: int
    rows: int


def import_patrons(session: Session, key: SiteKey, source: Source) -> ImportSummary:
    """Add or update the patrons of a CSV file; nothing is written if any row is bad.

    The caller owns the transaction (``with sessions() as s, s.begin():``).
    """
    name, rows = read_patron_rows(source)
    hashes = {row.line: [key.credential_hash(c) for c in row.credentials] for row in rows}
    holders = _match_patrons(session, name, rows, hashes)
    added = 0
    for row in rows:
        record = holders.get(row.line)
        if record is None:
            record = _new_record(row)
            session.add(record)
            added += 1
        _update_record(key, record, row)
        for credential, digest in zip(row.credentials, hashes[row.line], strict=True):
            put_credential(record, credential.kind, digest)
    session.flush()
    return ImportSummary(added=added, updated=len(rows) - added, rows=len(rows))


def _match_patrons(
    session: Session, name: str, rows: list[PatronRow], hashes: dict[int, list[str]]
) -> dict[int, PatronRecord]:
    """The stored patron each row updates, by line; conflicts raise before anything is written."""
    stored = credentials_by_hash(session, (h for hs in hashes.values() for h in hs))
    statement = select(PatronRecord).where(
        PatronRecord.id.in_({c.patron_pk for c in stored.values()})
    )
    records = {
        r.id: r for r in session.scalars(statement.options(selectinload(PatronRecord.credentials)))
    }
    problems: list[str] = []
    matched: dict[int, PatronRecord] = {}
    first_line: dict[int, int] = {}
    for row in rows:
        found = {stored[h].patron_pk: stored[h].kind for h in hashes[row.line] if h in stored}
        where = f"{name}:{row.line}"
        if len(found) > 1:
            problems.append(f"{where}: cpr: card and CPR number belong to two patrons")
            continue
        for pk, kind in found.items():
            if pk in first_line:
                problems.append(
                    f"{where}: {column_of(kind)}: the same patron is on line {first_line[pk]}"
                )
            first_line.setdefault(pk, row.line)
            matched[row.line] = records[pk]
    if problems:
        raise PatronImportError(problems)
    return matched


def _new_record(row: PatronRow) -> PatronRecord:
    return PatronRecord(
        patron_id=new_patron_id(),
        name=row.name,
        status=PatronStatus.ACTIVE,
        guardian_consent=False,
        credentials=[],
    )


def _update_record(key: SiteKey, record: PatronRecord, row: PatronRow) -> None:
    record.name = row.name
    # An unchanged PIN keeps its hash, so re-importing the same file changes nothing. A new PIN
    # lifts a PIN block unless the row sets the status itself (applied after it).
    if row.pin is not None and not (record.pin_hash and key.verify_pin(row.pin, record.pin_hash)):
        set_pin_hash(key, record, row.pin)
    if row.birth_date is not None:
        record.birth_date = row.birth_date
    if row.expires is not None:
        record.expires = row.expires
    if row.status is not None:
        record.status = row.status
    if row.guardian_consent is not None:
        record.guardian_consent = row.guardian_consent
