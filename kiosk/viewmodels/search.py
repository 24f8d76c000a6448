"""Search as you type on the on-screen keyboard, and one title with where it stands.

The search waits for a short pause in typing (``debounce_s``) and runs off the Kivy thread; a
result that arrives after the query has changed again is dropped, so the list always matches
what the patron sees in the field.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from kivy.clock import Clock
from kivy.properties import BooleanProperty, ListProperty, ObjectProperty, StringProperty

from kiosk.background import Runner
from kiosk.floorplan import FloorPlan
from kiosk.i18n import Catalog, Translator
from kiosk.viewmodels.base import ViewModel
from services.catalogue.search import MIN_QUERY_CHARS, CopyDetail, Hit, ItemDetail, Results
from services.store.catalogue import CopyStatus

log = logging.getLogger(__name__)
MAX_QUERY_CHARS = 60


def availability(cat: Catalog, available: int, copies: int) -> str:
    """``2 af 3 hjemme`` / ``Alle er udlånt`` / ``Biblioteket har ikke et eksemplar``."""
    if copies == 0:
        return cat.text("search.no_copies")
    if available == 0:
        return cat.text("search.all_out")
    return cat.text("search.available", available=available, copies=copies)


class SearchViewModel(ViewModel):
    """The query, the status line and the result rows."""

    query = StringProperty("")
    status = StringProperty("")
    results = ListProperty([])
    busy = BooleanProperty(False)

    def __init__(
        self,
        tr: Translator,
        runner: Runner,
        *,
        search: Callable[[str], Results],
        debounce_s: float = 0.3,
        **kwargs: Any,
    ) -> None:
        super().__init__(tr, runner, **kwargs)
        self._search, self._failed = search, False
        self._hits: list[Hit] = []
        self._total, self._more = 0, False
        self._debounce = debounce_s
        self._trigger = Clock.create_trigger(lambda _dt: self.search_now(), debounce_s)
        self.relabel()

    def key(self, key: str) -> None:
        """A key of the on-screen keyboard: a letter, ``space``, ``backspace`` or ``clear``."""
        if key == "backspace":
            self.query = self.query[:-1]
        elif key == "clear":
            self.query = ""
        elif key == "space":
            self.type_text(" ")
        else:
            self.type_text(key)

    def type_text(self, text: str) -> None:
        """Typed or scanned text goes to the end of the query."""
        self.query = (self.query + text)[:MAX_QUERY_CHARS]

    def on_query(self, _instance: Any, _query: str) -> None:
        """Search after a pause in typing."""
        self.forget()  # whatever is still running answers an older query
        if self._debounce <= 0:
            self.search_now()
        else:
            self._trigger()

    def search_now(self) -> None:
        """Search for the current query at once."""
        self._trigger.cancel()
        query = self.query.strip()
        if len(query.replace(" ", "")) < MIN_QUERY_CHARS:
            self._hits, self._failed, self.busy = [], False, False
            self.relabel()
            return
        self.busy = True
        self.status = self.tr._("search.searching")
        self.start(lambda: self._search(query), self._found, self._broken)

    def _found(self, results: Results) -> None:
        self._hits, self._failed, self.busy = results.hits, False, False
        self._total, self._more = results.total, results.more
        self.relabel()

    def _broken(self, error: BaseException) -> None:
        log.warning("search failed: %s", error.__class__.__name__)
        self._hits, self._failed, self.busy = [], True, False
        self.relabel()

    def relabel(self) -> None:
        """Status line and rows in the current language."""
        cat = self.tr.catalog
        if self._failed:
            self.status = cat.text("search.unavailable")
        elif len(self.query.strip()) == 0:
            self.status = cat.text("search.prompt")
        elif len(self.query.strip().replace(" ", "")) < MIN_QUERY_CHARS:
            self.status = cat.text("search.type_more")
        elif not self.busy:
            if not self._hits:
                self.status = cat.text("search.none")
            elif self._more:
                self.status = cat.text("search.count_over", n=cat.number_text(self._total))
            else:
                self.status = cat.plural("search.count", self._total)
        self.results = [
            {
                "record_id": h.record_id,
                "title": h.title + (f": {h.subtitle}" if h.subtitle else ""),
                "byline": " · ".join(str(x) for x in (h.author, h.year) if x),
                "availability": availability(cat, h.available, h.copies),
                "available": h.available > 0,
            }
            for h in self._hits
        ]

    def reset(self) -> None:
        """Empty field, no results."""
        super().reset()
        self._trigger.cancel()
        self._hits, self._failed, self.busy = [], False, False
        self.query = ""
        self.forget()
        self.relabel()


def copy_status(cat: Catalog, copy: CopyDetail) -> str:
    """A copy's status in words."""
    if copy.status is CopyStatus.ON_LOAN:
        if copy.due_date is None:
            return cat.text("item.on_loan_no_date")
        return cat.text("item.on_loan", date=cat.date_text(copy.due_date, weekday=False))
    return cat.text(f"item.{copy.status.value}")


def _copy_row(cat: Catalog, copy: CopyDetail, title_mark: str) -> dict[str, Any]:
    place = " · ".join(x for x in (copy.department, copy.shelf_mark or title_mark) if x)
    available = copy.status is CopyStatus.AVAILABLE
    return {"place": place, "status": copy_status(cat, copy), "available": available}


class ItemViewModel(ViewModel):
    """One title: what it is about, its copies, and where the patron finds one on the floor."""

    record_id = StringProperty("")
    title = StringProperty("")
    byline = StringProperty("")
    about = StringProperty("")
    availability = StringProperty("")
    where = StringProperty("")
    note = StringProperty("")
    copies = ListProperty([])
    plan = ObjectProperty(None, allownone=True)
    room = ListProperty([])  # x, y, w, h in plan metres; empty when not on the plan
    shelf = ListProperty([])

    def __init__(
        self,
        tr: Translator,
        runner: Runner,
        *,
        item: Callable[[str], ItemDetail],
        plan: FloorPlan | None,
        **kwargs: Any,
    ) -> None:
        super().__init__(tr, runner, **kwargs)
        self._item, self._missing = item, False
        self._detail: ItemDetail | None = None
        self.plan = plan

    def open(self, record_id: str) -> None:
        """Show the title ``record_id`` (looked up in the background)."""
        self.reset()
        self.record_id = record_id
        self.start(lambda: self._item(record_id), self._show, self._not_found)

    def _show(self, detail: ItemDetail) -> None:
        self._detail, self._missing = detail, False
        self.relabel()

    def _not_found(self, error: BaseException) -> None:
        log.info("title not shown: %s", error.__class__.__name__)
        self._detail, self._missing = None, True
        self.relabel()

    def _pick(self, detail: ItemDetail) -> CopyDetail | None:
        """The copy to send the patron to: one on the shelf, if any, on the floor plan first."""
        on_shelf = [c for c in detail.copies if c.status is CopyStatus.AVAILABLE]
        candidates = on_shelf or list(detail.copies)
        if self.plan is not None:
            for copy in candidates:
                if self.plan.locate(copy.department, copy.shelf_mark).found:
                    return copy
        return candidates[0] if candidates else None

    def relabel(self) -> None:
        """Texts and the floor-plan highlight in the current language."""
        cat, d = self.tr.catalog, self._detail
        self.title = cat.text("item.not_found") if self._missing else (d.title if d else "")
        if d is None:
            self.byline = self.about = self.availability = self.where = self.note = ""
            self.copies, self.room, self.shelf = [], [], []
            return
        self.byline = " · ".join(str(x) for x in (d.author, d.year, d.publisher) if x)
        self.about = d.abstract
        self.availability = availability(cat, d.available, len(d.copies))
        self.copies = [_copy_row(cat, c, d.shelf_mark) for c in d.copies]
        self._locate(cat, d)

    def _locate(self, cat: Catalog, d: ItemDetail) -> None:
        copy = self._pick(d)
        location = None
        if copy is not None and self.plan is not None:
            location = self.plan.locate(copy.department, copy.shelf_mark or d.shelf_mark)
        if copy is None:
            self.where, self.room, self.shelf = "", [], []
            self.note = cat.text("item.no_copies")
            return
        if location is None or not location.found:
            # Not on the floor plan (a local 096 shelf mark, say): the mark still helps staff.
            mark = copy.shelf_mark or d.shelf_mark
            self.where = " · ".join(x for x in (copy.department, mark) if x)
            self.room, self.shelf = [], []
            self.note = cat.text("item.ask_staff")
            return
        mark = copy.shelf_mark or d.shelf_mark
        label = location.shelf.label if location.shelf else ""
        self.where = " · ".join(x for x in (copy.department, label, mark) if x)
        self.room = list(location.room.rect) if location.room else []
        self.shelf = list(location.shelf.rect) if location.shelf else []
        self.note = "" if copy.status is CopyStatus.AVAILABLE else cat.text("item.all_out")

    def reset(self) -> None:
        """No title shown."""
        super().reset()
        self._detail, self._missing = None, False
        self.record_id = ""
        self.relabel()
