"""A patron's loans and reservations read from SIP2 item lists (the types are in
:mod:`services.core.account`). Pure.

The SIP2 spec makes an item list entry (AU charged, AT overdue, AS hold, CD unavailable hold, BM
renewed, BN unrenewed) just an item identifier; Koha and Evergreen send exactly that, and the kiosk
asks 17 Item Information for title and due date. FBS packs the details into the entry itself,
``%``-separated, and those are read here without further round trips:

- AU/AT/BU/BM  ``item%due YYYYMMDD%title%author%…``
- BN           ``item%reason%due%title%author%…``
- AS           ``record%item%pickup number%pickup by%agency - pickup branch%title%author%…``
- CD           ``record%item%interest date%title%author%…``
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from services.core.account import Loan, Reservation
from services.sip2.messages import parse_date

_AGENCY_PREFIX = re.compile(r"^[A-Z]{2,3}-\d{6}\s*-\s*")  # "DK-775100 - Hovedbiblioteket"


@dataclass(frozen=True, slots=True)
class Entry:
    """One item list entry, with whatever details the library system put into it."""

    item_id: str
    title: str = ""
    due: date | None = None
    reason: str | None = None

    @property
    def complete(self) -> bool:
        """True if the entry names a title and a due date (no 17 Item Information needed)."""
        return bool(self.title) and self.due is not None


def _parts(text: str, width: int) -> list[str]:
    parts = text.split("%")
    return parts + [""] * (width - len(parts))


def item_entry(text: str) -> Entry:
    """An AU/AT/BU/BM entry: a bare item id, or FBS ``item%due%title%…``."""
    if "%" not in text:
        return Entry(text.strip())
    item, due, title = _parts(text, 3)[:3]
    return Entry(item.strip(), title.strip(), parse_date(due))


def unrenewed_entry(text: str) -> Entry:
    """A BN entry: a bare item id, or FBS ``item%reason%due%title%…``."""
    if "%" not in text:
        return Entry(text.strip())
    item, reason, due, title = _parts(text, 4)[:4]
    return Entry(item.strip(), title.strip(), parse_date(due), reason.strip() or None)


def hold_entry(text: str, ready: bool) -> Reservation:
    """An AS (ready) or CD (not yet) entry as a reservation."""
    if "%" not in text:
        return Reservation(item_id=text.strip(), title="", ready=ready)
    if ready:
        record, item, number, by, where, title = _parts(text, 6)[:6]
        return Reservation(
            item_id=item.strip() or record.strip(),
            title=title.strip(),
            ready=True,
            pickup_location=_AGENCY_PREFIX.sub("", where).strip() or None,
            pickup_number=number.strip() or None,
            pickup_by=parse_date(by),
        )
    record, item, _interest, title = _parts(text, 4)[:4]
    return Reservation(item_id=item.strip() or record.strip(), title=title.strip(), ready=False)


def loans(charged: list[Entry], overdue_ids: set[str], today: date) -> list[Loan]:
    """Loans in due-date order (undated last), overdue if listed in AT or due before ``today``."""
    out = [
        Loan(
            item_id=e.item_id,
            title=e.title,
            due=e.due,
            overdue=e.item_id in overdue_ids or (e.due is not None and e.due < today),
        )
        for e in charged
    ]
    return sorted(out, key=lambda loan: (loan.due is None, loan.due or today, loan.title))
