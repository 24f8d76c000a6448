"""Home when nobody is at the kiosk: the week's programme as a poster, each activity with a QR
code to its page on the library's site (the iCal URL or the CSV's ``url``)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from kivy.properties import ListProperty, StringProperty

from kiosk.background import Runner
from kiosk.i18n import Catalog, Translator, capital
from kiosk.viewmodels.base import ViewModel
from services.program.store import ProgramItem

log = logging.getLogger(__name__)
POSTER_DAYS = 7
POSTER_MAX = 6  # a poster, not a list: what fits large enough to read across the foyer


class PosterViewModel(ViewModel):
    """``activities``: the week's next activities (day, time, title, place, url)."""

    title = StringProperty("")
    empty = StringProperty("")
    activities = ListProperty([])

    def __init__(
        self,
        tr: Translator,
        runner: Runner,
        *,
        program: Callable[[int], list[ProgramItem]],
        clock: Callable[[], datetime],
        tz: ZoneInfo,
        **kwargs: Any,
    ) -> None:
        super().__init__(tr, runner, **kwargs)
        self._program, self._clock, self._tz = program, clock, tz
        self._items: list[ProgramItem] = []
        self.relabel()

    def load(self) -> None:
        """Read the week's programme (in the background)."""
        self.start(lambda: self._program(POSTER_DAYS), self._loaded, self._failed)

    def _loaded(self, items: list[ProgramItem]) -> None:
        self._items = items
        self.relabel()

    def _failed(self, error: BaseException) -> None:
        log.warning("the week's programme could not be read: %s", error.__class__.__name__)
        self._items = []
        self.relabel()

    def relabel(self) -> None:
        """The poster in the current language."""
        cat, now = self.tr.catalog, self._clock()
        self.title = cat.text("poster.title")
        coming = [i for i in self._items if i.ends > now][:POSTER_MAX]
        self.empty = "" if coming else cat.text("poster.none")
        self.activities = [self._card(cat, i, now) for i in coming]

    def _card(self, cat: Catalog, item: ProgramItem, now: datetime) -> dict[str, Any]:
        starts, ends = item.starts.astimezone(self._tz), item.ends.astimezone(self._tz)
        today = now.astimezone(self._tz).date()
        if starts.date() == today:
            day = capital(cat.text("format.today"))
        elif (starts.date() - today).days == 1:
            day = capital(cat.text("format.tomorrow"))
        else:
            day = capital(cat.date_text(starts.date()))
        return {
            "when": f"{day} {cat.time_text(starts)}–{cat.time_text(ends)}",
            "title": item.title,
            "place": item.location,
            "url": item.url,
            "scan": cat.text("poster.scan") if item.url else "",
        }
