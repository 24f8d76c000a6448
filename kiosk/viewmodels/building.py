"""The building's evening as the kiosk shows it: the closing banner, the closed screen, its own
screen's power.

Everything comes from the door controller's building (``hardware/building_shell.py``): the
retained ``building`` state (phase, equipment) and the building-wide ``closing.announced`` and
``equipment.changed`` events. The banner says the site's own announcement in the patron's
language (``[building.messages]``), so the words on the screen are the words from the speaker.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from kivy.properties import BooleanProperty, StringProperty

from kiosk.background import Runner
from kiosk.i18n import Translator
from kiosk.viewmodels.base import ViewModel
from services.core.events import EventType
from services.core.schedule import OpeningState, Schedule

log = logging.getLogger(__name__)

# After closing: the sweep, the arming and the armed building are closed to patrons as well.
CLOSED_PHASES = frozenset({"closed", "sweep", "arming", "armed"})
BANNER_PHASES = frozenset({"closing", "last_entry"})


class BuildingViewModel(ViewModel):
    """``banner``: the latest closing announcement; ``closed``: after closing; ``screen_on``."""

    banner = StringProperty("")
    closed = BooleanProperty(False)
    screen_on = BooleanProperty(True)
    reopens = StringProperty("")  # "Opens again tomorrow at 07:00", for the closed screen

    def __init__(
        self,
        tr: Translator,
        runner: Runner,
        *,
        messages: Mapping[str, Mapping[str, str]],
        equipment_group: str | None,
        schedule: Schedule,
        clock: Callable[[], datetime],
        **kwargs: Any,
    ) -> None:
        super().__init__(tr, runner, **kwargs)
        self._messages, self._group = messages, equipment_group
        self._schedule, self._clock = schedule, clock
        self._message: str | None = None
        self._phase = "open"
        self.relabel()

    def on_state(self, payload: bytes) -> None:
        """The retained ``building`` state: ``{"phase": …, "equipment": {group: on}, …}``."""
        try:
            data = json.loads(payload)
            phase = str(data["phase"])
            equipment = data.get("equipment") or {}
            if not isinstance(equipment, dict):
                raise TypeError("equipment is not an object")
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring a building state: %s", exc)
            return
        self._phase = phase
        if phase not in BANNER_PHASES:
            self._message = None  # open again, or closed: the closed screen says it instead
        self.closed = phase in CLOSED_PHASES
        if self._group is not None and self._group in equipment:
            self.screen_on = bool(equipment[self._group])
        self.relabel()

    def on_site_event(self, payload: bytes) -> None:
        """A building-wide event; the kiosk cares for announcements and its equipment group."""
        try:
            data = json.loads(payload)
            kind, details = data["type"], data.get("details") or {}
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring a site event: %s", exc)
            return
        if kind == EventType.CLOSING_ANNOUNCED:
            message = details.get("message")
            if isinstance(message, str) and message in self._messages:
                self._message = message
                self.relabel()
        elif kind == EventType.EQUIPMENT_CHANGED and self._group is not None:
            names = details.get("names") or []
            if self._group in names and isinstance(details.get("on"), bool):
                self.screen_on = details["on"]

    def relabel(self) -> None:
        """The banner in the current language (the site's Danish where it has no English)."""
        words = self._messages.get(self._message or "", {})
        self.banner = words.get(self.tr.lang) or words.get("da", "")
        opens = self._opens(self._clock())
        cat, tz = self.tr.catalog, self._schedule.timezone
        if opens is None:
            self.reopens = ""
        else:
            when = cat.when(opens.astimezone(tz), self._clock().astimezone(tz).date())
            self.reopens = cat.text("closed.opens", time=when)

    def _opens(self, now: datetime) -> datetime | None:
        """The schedule's next opening: after the closed spell now, or after the next one (the
        building may close before the schedule does, or staff may have extended the evening)."""
        opening = self._schedule.at(now)
        for _ in range(8):  # staffed, self-service, closed: a few spells reach the next night
            if opening.until is None or opening.state is OpeningState.CLOSED:
                return opening.until
            opening = self._schedule.at(opening.until)
        return None

    def reset(self) -> None:
        """A patron leaving changes nothing of the building's evening."""
        super().reset()
