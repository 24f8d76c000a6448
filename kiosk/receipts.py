"""The e-mail receipts the kiosk offers, and the words of a programme check-in's receipt.

Every receipt goes out the one way, ``KioskServices.send_receipt`` (``services/runtime/mail.py``,
the alarm e-mails' SMTP path); a view model only composes subject and body in the patron's
language and never shows the address. Pure: the catalogue and the time zone come in.
"""

from __future__ import annotations

from collections.abc import Callable
from zoneinfo import ZoneInfo

from kiosk.i18n import Catalog
from services.program.store import ProgramItem

SendReceipt = Callable[[str, str, str], object]  # to, subject, body; raises if not sent


def checkin_receipt(
    cat: Catalog, library: str, item: ProgramItem, head_count: int, tz: ZoneInfo
) -> tuple[str, str]:
    """Subject and body of the receipt for a check-in to ``item``: the activity, its day and
    time, its place and how many were checked in. Nothing that names the card or its holder."""
    starts, ends = item.starts.astimezone(tz), item.ends.astimezone(tz)
    subject = cat.text("receipt.checkin_subject", library=library, title=item.title)
    when = cat.text("receipt.checkin_when", date=cat.date_text(starts.date()),
                    start=cat.time_text(starts), end=cat.time_text(ends))  # fmt: skip
    lines = [cat.text("receipt.checkin_greeting"), "",
             cat.text("receipt.checkin_activity", title=item.title), when]  # fmt: skip
    if item.location:
        lines.append(cat.text("receipt.checkin_place", place=item.location))
    lines.append(cat.plural("receipt.checkin_people", head_count))
    lines += ["", cat.text("receipt.footer", library=library)]
    return subject, "\n".join(lines) + "\n"
