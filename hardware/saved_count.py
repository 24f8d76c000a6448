"""The occupancy count in the controller's own database: read at start, written on change."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from services.store.occupancy import load_inside, save_inside

log = logging.getLogger(__name__)


class SavedCount:
    """How many people are inside, kept across restarts of the controller."""

    def __init__(self, sessions: sessionmaker[Session], site_id: str) -> None:
        self._sessions, self.site_id = sessions, site_id

    def load(self) -> int:
        """The count saved last; 0 when none was, or when it cannot be read (said in the log)."""
        try:
            with self._sessions() as session:
                return load_inside(session, self.site_id)
        except SQLAlchemyError as exc:
            log.error("occupancy count not read, starting from 0: %s", exc.__class__.__name__)
            return 0

    def save(self, inside: int, now: datetime) -> None:
        """Keep ``inside``; a failure is logged, and the next change writes it again."""
        try:
            with self._sessions.begin() as session:
                save_inside(session, self.site_id, inside, now)
        except SQLAlchemyError as exc:
            log.error("occupancy count not saved: %s", exc.__class__.__name__)
