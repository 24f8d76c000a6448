"""The attract screen: is the library staffed, self-service or closed, how full, what is on today.

The opening state comes live from the retained ``opening`` topic the door controller publishes
and the count from ``occupancy``; without a broker (or with a stale message) the schedule itself
answers, so the screen is never blank and never wrong for long.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from kivy.properties import BooleanProperty, ListProperty, StringProperty

from kiosk.background import Runner
from kiosk.i18n import Translator, capital
from kiosk.viewmodels.base import ViewModel
from services.core.schedule import OpeningState, Schedule
from services.program.store import ProgramItem

log = logging.getLogger(__name__)

_STATE_KEYS = {
    OpeningState.STAFFED: ("home.staffed_until", "home.staffed", "home.then_staffed"),
    OpeningState.SELF_SERVICE: (
        "home.self_service_until",
        "home.self_service",
        "home.then_self_service",
    ),
}


class HomeViewModel(ViewModel):
    """Opening state, occupancy and today's programme, in the patron's language."""

    state = StringProperty(str(OpeningState.CLOSED))
    opening_text = StringProperty("")
    next_text = StringProperty("")
    date_text = StringProperty("")
    occupancy_text = StringProperty("")
    full = BooleanProperty(False)
    activities = ListProperty([])
    program_title = StringProperty("")

    def __init__(
        self,
        tr: Translator,
        runner: Runner,
        *,
        schedule: Schedule,
        clock: Callable[[], datetime],
        program: Callable[[], list[ProgramItem]],
        **kwargs: Any,
    ) -> None:
        super().__init__(tr, runner, **kwargs)
        self._schedule, self._clock, self._program = schedule, clock, program
        self._live: tuple[OpeningState, datetime | None] | None = None
        self._occupancy: tuple[int, int] | None = None
        self._today: list[ProgramItem] = []
        self.refresh()

    def on_opening(self, payload: bytes) -> None:
        """A retained ``opening`` message: ``{"state": "staffed", "until": "…"}``."""
        try:
            data = json.loads(payload)
            state = OpeningState(data["state"])
            until = datetime.fromisoformat(data["until"]) if data.get("until") else None
            if until is not None and until.tzinfo is None:
                raise ValueError("until has no UTC offset")
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring an opening message: %s", exc)
            return
        self._live = (state, until)
        self.refresh()

    def on_occupancy(self, payload: bytes) -> None:
        """A retained ``occupancy`` message: ``{"inside": 42, "capacity": 150}``."""
        try:
            data = json.loads(payload)
            inside, capacity = int(data["inside"]), int(data["capacity"])
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring an occupancy message: %s", exc)
            return
        self._occupancy = (max(0, inside), capacity)
        self.relabel()

    def load_program(self) -> None:
        """Fetch today's programme (in the background)."""
        self.start(self._program, self._got_program, self._no_program)

    def _got_program(self, items: list[ProgramItem]) -> None:
        today = self._clock().date()
        tz = self._schedule.timezone
        self._today = [i for i in items if i.starts.astimezone(tz).date() == today]
        self.relabel()

    def _no_program(self, error: BaseException) -> None:
        log.warning("today's programme could not be read: %s", error)
        self._today = []
        self.relabel()

    def _current(self, now: datetime) -> tuple[OpeningState, datetime | None]:
        """The live state while it is believable, else the schedule's."""
        if self._live is not None:
            state, until = self._live
            if until is None or until > now:
                return state, until
        opening = self._schedule.at(now)
        return opening.state, opening.until

    def refresh(self) -> None:
        """Recompute the opening state for now (called on a timer and on every message)."""
        self.relabel()

    def relabel(self) -> None:
        """Every text in the current language."""
        cat, now = self.tr.catalog, self._clock()
        tz = self._schedule.timezone
        local_now = now.astimezone(tz)
        state, until = self._current(now)
        self.state = str(state)
        self.date_text = capital(cat.date_text(local_now.date()))
        self.opening_text, self.next_text = self._opening_texts(state, until, local_now)
        if self._occupancy is None:
            self.occupancy_text, self.full = "", False
        else:
            inside, capacity = self._occupancy
            self.full = inside >= capacity
            key = "home.full" if self.full else "home.inside"
            self.occupancy_text = cat.text(key, inside=inside, capacity=capacity)
        self.program_title = cat.text("home.today_program")
        self.activities = [
            {
                "time": f"{cat.time_text(i.starts.astimezone(tz))}–"
                f"{cat.time_text(i.ends.astimezone(tz))}",
                "title": i.title,
                "place": i.location,
            }
            for i in self._today
            if i.ends > now
        ]

    def _opening_texts(
        self, state: OpeningState, until: datetime | None, now: datetime
    ) -> tuple[str, str]:
        cat, tz = self.tr.catalog, self._schedule.timezone
        if state is OpeningState.CLOSED:
            if until is None:
                return cat.text("home.closed"), ""
            when = cat.when(until.astimezone(tz), now.date())
            return cat.text("home.closed_opens", time=when), ""
        until_key, plain_key, _ = _STATE_KEYS[state]
        if until is None:
            return cat.text(plain_key), ""
        first = cat.text(until_key, time=cat.when(until.astimezone(tz), now.date()))
        after = self._schedule.at(until)
        if after.state is OpeningState.CLOSED:
            return first, cat.text("home.then_closed")
        if after.until is None:
            return first, ""
        then_key = _STATE_KEYS[after.state][2]
        return first, cat.text(then_key, time=cat.when(after.until.astimezone(tz), now.date()))
