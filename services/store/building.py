"""The building's evening progress on the door controller, kept across restarts.

One row per site: the phase last published and the progress (steps done, extensions, sweeps,
output levels) as the evening core gives it (``hardware/core/progress.py``). Written whenever
it changes; read at start, so a restarted controller neither replays nor forgets a step.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, Session, mapped_column

from services.store.base import Base, UtcDateTime


class BuildingProgress(Base):
    """Where a site's evening stands, as its controller saved it last."""

    __tablename__ = "building_progress"

    site_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    phase: Mapped[str] = mapped_column(String(32))
    progress: Mapped[str] = mapped_column(Text)
    updated: Mapped[datetime] = mapped_column(UtcDateTime)


def load_progress(session: Session, site_id: str) -> dict[str, Any] | None:
    """The progress saved for ``site_id``; None when none was or it is not a JSON object."""
    row = session.get(BuildingProgress, site_id)
    if row is None:
        return None
    try:
        data = json.loads(row.progress)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def save_progress(
    session: Session, site_id: str, phase: str, progress: Mapping[str, Any], now: datetime
) -> None:
    """Keep ``progress`` (and the ``phase`` it left the evening in) for ``site_id``."""
    text = json.dumps(progress, sort_keys=True, separators=(",", ":"))
    row = session.get(BuildingProgress, site_id)
    if row is None:
        session.add(BuildingProgress(site_id=site_id, phase=phase, progress=text, updated=now))
    else:
        row.phase, row.progress, row.updated = phase, text, now
