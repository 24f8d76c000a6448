"""The live feed's start: a site's newest recorded events, so a restart leaves it not empty."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.store.recorder import EventRecord


def recent_feed(session: Session, site: str, limit: int) -> list[dict[str, Any]]:
    """The site's newest recorded events, newest first, as the live feed shows them."""
    rows = session.scalars(
        select(EventRecord)
        .where(EventRecord.site == site)
        .order_by(EventRecord.ts.desc(), EventRecord.id)
        .limit(limit)
    )
    return [
        {
            "id": e.id,
            "type": e.type,
            "source": e.source,
            "ts": e.ts.isoformat(),
            "reason": e.reason,
            "credential": e.credential,
            "details": e.details,
        }
        for e in rows
    ]
