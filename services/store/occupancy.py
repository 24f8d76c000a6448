"""The door controller's count of people inside, kept in its own database across restarts.

It is needed at closing (the "people still inside" alarm), for the capacity limit and on the
dashboard; a controller that restarts mid-evening must not forget three people in the reading
room. One row per site; the controller writes it after every change, and only closing time
resets it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, Session, mapped_column

from services.store.base import Base, UtcDateTime


class OccupancyCount(Base):
    """How many people a site's controller counted inside, and when it last changed."""

    __tablename__ = "occupancy_counts"

    site_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    inside: Mapped[int]
    updated: Mapped[datetime] = mapped_column(UtcDateTime)


def load_inside(session: Session, site_id: str) -> int:
    """The count last saved for ``site_id``; 0 when none was."""
    row = session.get(OccupancyCount, site_id)
    return 0 if row is None else max(row.inside, 0)


def save_inside(session: Session, site_id: str, inside: int, now: datetime) -> None:
    """Keep ``inside`` as the count of ``site_id``."""
    row = session.get(OccupancyCount, site_id)
    if row is None:
        session.add(OccupancyCount(site_id=site_id, inside=inside, updated=now))
    else:
        row.inside, row.updated = inside, now
