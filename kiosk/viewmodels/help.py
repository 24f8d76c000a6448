"""Need help? The library's phone number, when staff are here, and what to do out of hours.

The phone number and the out-of-hours words are the site's (``[kiosk] help_*``); where a site
says nothing about out of hours, the kiosk's own words (the locale) are used. Today's staffed
hours come from the schedule, so the screen never promises staff who are not there.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from kivy.properties import ListProperty, StringProperty

from kiosk.background import Runner
from kiosk.i18n import Translator
from kiosk.viewmodels.base import ViewModel
from services.core.schedule import Schedule


class HelpViewModel(ViewModel):
    """``phone``: the call line (empty without a number); ``lines``: what to do and when."""

    phone = StringProperty("")
    lines = ListProperty([])

    def __init__(
        self,
        tr: Translator,
        runner: Runner,
        *,
        schedule: Schedule,
        clock: Callable[[], datetime],
        phone: str,
        out_of_hours: dict[str, str],
        **kwargs: Any,
    ) -> None:
        super().__init__(tr, runner, **kwargs)
        self._schedule, self._clock = schedule, clock
        self._phone, self._out_of_hours = phone.strip(), out_of_hours
        self.relabel()

    def relabel(self) -> None:
        """The texts in the current language, with today's staffed hours."""
        cat = self.tr.catalog
        self.phone = cat.text("help.phone", phone=self._phone) if self._phone else ""
        today = self._clock().astimezone(self._schedule.timezone).date()
        staffed = self._schedule.day(today).staffed
        if staffed:
            spans = ", ".join(f"{cat.time_text(a)}–{cat.time_text(b)}" for a, b in staffed)
            here = cat.text("help.staff_today", hours=spans)
        else:
            here = cat.text("help.no_staff_today")
        own = self._out_of_hours.get(self.tr.lang, "").strip()
        self.lines = [
            here,
            own or cat.text("help.out_of_hours"),
            cat.text("help.emergency"),
        ]
