"""Opening hours for the week, the special days ahead, and how to get in: help for everyone."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Any

from kivy.properties import ListProperty, StringProperty

from kiosk.background import Runner
from kiosk.i18n import Catalog, Translator, capital
from kiosk.viewmodels.base import ViewModel
from services.core.schedule import DayHours, Schedule

SPECIAL_DAYS_AHEAD = 60
Interval = tuple[time, time]


class HoursViewModel(ViewModel):
    """Seven days from today, special days within two months, and the help texts."""

    days = ListProperty([])
    special = ListProperty([])
    special_title = StringProperty("")
    help = ListProperty([])

    def __init__(
        self,
        tr: Translator,
        runner: Runner,
        *,
        schedule: Schedule,
        clock: Callable[[], datetime],
        min_age: int,
        **kwargs: Any,
    ) -> None:
        super().__init__(tr, runner, **kwargs)
        self._schedule, self._clock, self._min_age = schedule, clock, min_age
        self.relabel()

    def _span(self, cat: Catalog, intervals: tuple[Interval, ...]) -> str:
        def end(t: time) -> str:
            return "24:00" if t == time(23, 59) else cat.time_text(t)

        return ", ".join(f"{cat.time_text(a)}–{end(b)}" for a, b in intervals)

    def _lines(self, cat: Catalog, hours: DayHours) -> list[str]:
        if hours.closed:
            return [cat.text("hours.closed")]
        lines = []
        if hours.staffed:
            lines.append(cat.text("hours.staffed", hours=self._span(cat, hours.staffed)))
        if hours.self_service:
            lines.append(cat.text("hours.self_service", hours=self._span(cat, hours.self_service)))
        return lines

    def relabel(self) -> None:
        """Rebuild the week, the special days and the help in the current language."""
        cat = self.tr.catalog
        today = self._clock().astimezone(self._schedule.timezone).date()
        self.days = [
            {
                "day": capital(cat.date_text(h.date)),
                "hours": "\n".join(self._lines(cat, h)),
                "note": h.note,
                "today": h.date == today,
                "closed": h.closed,
            }
            for h in self._schedule.week(today)
        ]
        ahead = (self._schedule.day(today + timedelta(days=n)) for n in range(SPECIAL_DAYS_AHEAD))
        self.special = [
            {
                "day": capital(cat.date_text(h.date)),
                "note": h.note,
                "hours": " · ".join(self._lines(cat, h)),
            }
            for h in ahead
            if h.note
        ]
        self.special_title = cat.text(
            "hours.special_days" if self.special else "hours.no_special_days"
        )
        self.help = [
            cat.text("hours.help_self_service"),
            cat.text("hours.help_age", age=self._min_age),
            cat.text("hours.help_staff"),
            cat.text("hours.help_fire"),
        ]
