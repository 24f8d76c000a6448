"""The shell of the building's evening: carries out the evening core's effects.

Outputs and the panel switch at once (gpiozero, or a publish to the building automation); the
progress goes to the controller's own database; announcements play on one thread of their own,
in order, so a 20-second message never holds up a door's event or the next step.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from hardware.audio import Speaker
from hardware.building_devices import BuildingDevices
from hardware.core import effects as fx
from services.store.building import load_progress, save_progress

log = logging.getLogger(__name__)


class SavedProgress:
    """The evening's progress in the controller's database."""

    def __init__(self, sessions: sessionmaker[Session], site_id: str) -> None:
        self._sessions, self.site_id = sessions, site_id

    def load(self) -> dict[str, Any] | None:
        """What was saved last; None when nothing was or it cannot be read (logged)."""
        try:
            with self._sessions() as session:
                return load_progress(session, self.site_id)
        except SQLAlchemyError as exc:
            log.error("building progress not read, starting afresh: %s", type(exc).__name__)
            return None

    def save(self, phase: str, progress: Mapping[str, Any], now: datetime) -> None:
        """Keep the progress; a failure is logged, and the next change writes it again."""
        try:
            with self._sessions.begin() as session:
                save_progress(session, self.site_id, phase, progress, now)
        except SQLAlchemyError as exc:
            log.error("building progress not saved: %s", type(exc).__name__)


class BuildingShell:
    """Executes SetOutput, SetPanel, Announce, PublishBuilding and SaveProgress."""

    def __init__(
        self,
        devices: BuildingDevices,
        speaker: Speaker,
        saved: SavedProgress | None,
        publish_state: Callable[[bytes], None],
        wall: Callable[[], datetime],
    ) -> None:
        self.devices, self.speaker, self.saved = devices, speaker, saved
        self._publish_state, self.wall = publish_state, wall
        self._audio = ThreadPoolExecutor(1, thread_name_prefix="announce")
        self.played: list[Future[Path | None]] = []  # the announcements, for wait_announced

    def load(self) -> Mapping[str, Any] | None:
        """The progress saved before this start."""
        return None if self.saved is None else self.saved.load()

    def execute(self, effect: fx.Effect) -> None:
        """Carry out one of the evening's effects."""
        match effect:
            case fx.SetOutput(kind, name, on):
                self.devices.set_output(kind, name, on)
            case fx.SetPanel(armed, restore):
                self.devices.set_panel(armed, restore=restore)
            case fx.Announce(message):
                self.played.append(self._audio.submit(self._announce, message))
            case fx.PublishBuilding(state):
                payload = {**state, "updated": self.wall().isoformat()}
                self._publish_state(json.dumps(payload, ensure_ascii=False).encode())
            case fx.SaveProgress(phase, progress):
                if self.saved is not None:
                    self.saved.save(phase, progress, self.wall())

    def _announce(self, message: str) -> Path | None:
        try:
            return self.speaker.announce(message)
        except Exception:
            log.exception("announcement %r failed", message)
            return None

    def wait_announced(self, timeout: float = 60.0) -> list[Path | None]:
        """Wait for every announcement so far (tests, the demo); their files."""
        return [f.result(timeout) for f in list(self.played)]

    def close(self) -> None:
        """Stop the audio thread (the service releases the pins)."""
        self._audio.shutdown(wait=False, cancel_futures=True)
