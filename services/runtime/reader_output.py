"""Where a reader's results go: counted, logged, handed on, and never fatal to the reader."""

from __future__ import annotations

import logging
from collections.abc import Callable

from services.core.readers import ReaderFault, ReaderInput

logger = logging.getLogger(__name__)


class ReaderOutput:
    """Hands one reader's results to the controller; a bug downstream must not stop the reader."""

    def __init__(self, reader_id: str, on_input: Callable[[str, ReaderInput], None]) -> None:
        self.reader_id = reader_id
        self.errors = 0
        self._on_input = on_input

    def __call__(self, result: ReaderInput) -> None:
        """Count and log a fault (its text names the problem, never the card), then pass it on."""
        if isinstance(result, ReaderFault):
            self.errors += 1
            logger.warning("reader %s: %s", self.reader_id, result.problem)
        try:
            self._on_input(self.reader_id, result)
        except Exception:
            logger.exception("reader %s: on_input failed", self.reader_id)
