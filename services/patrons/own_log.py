"""A patron's own log (GDPR art. 15; Datatilsynet 2024): every event still held for them, as CSV.

Staff type the card or CPR number; the server computes its keyed pseudonym and exports the
events that carry it. Only the patron's own entries are exported, and of their details only
what describes the patron's own passage, so nothing identifies other people. Each export is
audited.
"""

from __future__ import annotations

import csv
from typing import TextIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.core.credentials import Credential, SiteKey
from services.patrons.access_lists import audit_export
from services.store.recorder import EventRecord

COLUMNS = ("time", "event", "where", "reason", "message", "reader", "companions")
# The details that describe the patron's own passage; anything else an event carries stays out.
_OWN_DETAILS = ("message", "reader", "companions")


def write_own_log(
    session: Session, key: SiteKey, actor: str, credential: Credential, out: TextIO
) -> int:
    """Write the CSV of every event held for ``credential`` to ``out``; how many rows."""
    pseudonym = key.pseudonym(credential)
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    rows = 0
    query = select(EventRecord).where(EventRecord.credential == pseudonym).order_by(EventRecord.ts)
    for event in session.scalars(query):
        details = event.details or {}
        writer.writerow(
            [
                event.ts.isoformat(),
                event.type,
                event.source,
                event.reason or "",
                *(details.get(name, "") for name in _OWN_DETAILS),
            ]
        )
        rows += 1
    audit_export(session, actor, pseudonym, rows)
    return rows
