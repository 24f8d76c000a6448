"""``aabent program import FILE``: the event program from iCalendar (.ics) or CSV.

iCalendar: each VEVENT with SUMMARY and DTSTART (DTEND or DURATION, else one hour); RRULE, RDATE
and EXDATE are expanded inside the import window by ``recurring_ical_events``, each occurrence its
own event (uid ``UID/date``), so a weekly strikkecafé becomes one event per week. An occurrence
moved or cancelled on its own (RECURRENCE-ID) keeps the uid of the date it was planned for.
Two aabent properties carry what iCalendar has no field for: ``X-AABENT-CAPACITY:20`` and
``X-AABENT-REGISTRATION:TRUE``. Cancelled events (STATUS:CANCELLED) are skipped. The calendar
speaks for every series it holds: an occurrence imported before that the calendar no longer has in
the window (cancelled, excluded, moved) is withdrawn, with its registrations. A series that cannot
be read is skipped whole and leaves what was stored. Times are kept as instants; floating times
are site time.

CSV (``,`` or ``;``): ``title,start,end`` and optionally ``uid, location, capacity,
registration, description, category``. ``start`` is ``2026-03-05 10:00`` or relative to the day
of import, ``+2 10:00`` (in two days); ``end`` is a time that day or a full date and time.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from services.program.store import ActivitySpec, upsert_activities, withdraw_activities

DEFAULT_WEEKS = 12
_ONE_HOUR = timedelta(hours=1)
_RELATIVE = re.compile(r"^\+(\d{1,3})\s+(\d{1,2}):(\d{2})$")
_TRUE = {"1", "true", "yes", "ja", "x"}


class ProgramImportError(Exception):
    """The file cannot be imported at all; the message names the file and the problem."""


@dataclass
class ProgramImportReport:
    """What an import did: events added and updated, rows or events skipped and why."""

    added: int = 0
    updated: int = 0
    withdrawn: int = 0
    skipped: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line for the operator."""
        counts = f"{self.added} added, {self.updated} updated, {len(self.skipped)} skipped"
        return counts + (f", {self.withdrawn} withdrawn" if self.withdrawn else "")


@dataclass(frozen=True)
class ImportWindow:
    """Recurring events expand between ``start`` and ``end``; times without a zone are ``tz``."""

    start: datetime
    end: datetime
    tz: ZoneInfo

    @classmethod
    def around(cls, now: datetime, tz: ZoneInfo, weeks: int = DEFAULT_WEEKS) -> ImportWindow:
        """From the start of today (site time) to ``weeks`` weeks ahead."""
        today = datetime.combine(now.astimezone(tz).date(), time(), tz)
        return cls(today, today + timedelta(weeks=weeks), tz)


def import_file(session: Session, path: Path, window: ImportWindow) -> ProgramImportReport:
    """Read ``path`` (.ics or .csv) and upsert its events; the caller owns the transaction."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ProgramImportError(f"{path}: {exc.strerror}") from None
    report = ProgramImportReport()
    if path.suffix.lower() in (".ics", ".ical", ".ifb") or raw.lstrip().startswith(b"BEGIN:"):
        calendar = read_ics(raw, window, report.skipped, str(path))
        specs = calendar.specs
        keep = {spec.uid for spec in specs}
        report.withdrawn = withdraw_activities(
            session, calendar.series, keep, window.start, window.end
        )
    else:
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ProgramImportError(f"{path}: not UTF-8: {exc.reason}") from None
        specs = list(read_csv(text, window, report.skipped, str(path)))
    report.added, report.updated = upsert_activities(session, specs)
    return report


# --- iCalendar ----------------------------------------------------------------------------------


@dataclass
class CalendarRead:
    """The occurrences of a calendar inside the window, and the series (UIDs) read whole.

    The file speaks for those series: an occurrence of theirs in the window that is not among
    ``specs`` has been cancelled, excluded or moved, and is withdrawn. A series that could not be
    read is not listed, so a broken entry never removes what an earlier import stored.
    """

    specs: list[ActivitySpec] = field(default_factory=list)
    series: list[str] = field(default_factory=list)


def read_ics(raw: bytes, window: ImportWindow, skipped: list[str], name: str) -> CalendarRead:
    """The events of an iCalendar file, recurring ones expanded inside ``window``."""
    from icalendar import Calendar

    try:
        calendar = Calendar.from_ical(raw)
    except ValueError as exc:
        raise ProgramImportError(f"{name}: not an iCalendar file: {exc}") from None
    read = CalendarRead()
    for number, series in enumerate(_series(calendar.walk("VEVENT")), start=1):
        try:
            uid, occurrences = _occurrences(series, window)
        except ValueError as exc:  # recurring_ical_events' errors are ValueErrors too
            skipped.append(f"{name}: event {number}: {exc}")
            continue
        read.series.append(uid)
        read.specs.extend(occurrences)
    return read


def _series(components: list[Any]) -> Iterator[list[Any]]:
    """VEVENTs grouped by UID, in file order: a recurring event and its moved occurrences."""
    groups: dict[str, list[Any]] = {}
    for index, component in enumerate(components):
        uid = str(component.get("UID", "")).strip() or f"#{index}"
        groups.setdefault(uid, []).append(component)
    yield from groups.values()


def _occurrences(series: list[Any], window: ImportWindow) -> tuple[str, list[ActivitySpec]]:
    """The series' uid and its occurrences in the window, or ValueError for the whole series."""
    import recurring_ical_events
    from icalendar import Calendar

    master = next((c for c in series if c.get("RECURRENCE-ID") is None), series[0])
    title = str(master.get("SUMMARY", "")).strip()
    if not title:
        raise ValueError("no SUMMARY")
    for component in series:
        if component.get("DTSTART") is None:
            raise ValueError(f"{title!r} has no DTSTART")
    uid = str(master.get("UID", "")).strip()
    if not uid:
        uid = f"{title}@{_wall(master.get('DTSTART').dt, window.tz).isoformat()}"
    calendar = Calendar()
    for component in series:
        calendar.add_component(component)
    recurring = any(c.get("RRULE") or c.get("RDATE") or c.get("RECURRENCE-ID") for c in series)
    # The library applies RRULE, RDATE, EXDATE and moved or cancelled single occurrences
    # (RECURRENCE-ID), expanding in the event's own zone so 10:00 stays 10:00 across DST.
    found = recurring_ical_events.of(calendar).between(window.start, window.end)
    occurrences: list[ActivitySpec] = []
    for occurrence in found:
        if str(occurrence.get("STATUS", "")).upper() == "CANCELLED":
            continue
        start = _wall(occurrence.get("DTSTART").dt, window.tz)
        length = _length(occurrence, start, window.tz, title)
        # A moved occurrence keeps the uid of the date it was planned for, and so its seats.
        planned = occurrence.get("RECURRENCE-ID")
        day = _wall(planned.dt, window.tz).date() if planned is not None else start.date()
        occurrences.append(
            ActivitySpec(
                uid=f"{uid}/{day.isoformat()}" if recurring else uid,
                starts=start.replace(tzinfo=window.tz),
                ends=(start + length).replace(tzinfo=window.tz),
                **_ics_fields(occurrence, str(occurrence.get("SUMMARY", "")).strip() or title),
            )
        )
    return uid, occurrences


def _length(occurrence: Any, start: datetime, tz: ZoneInfo, title: str) -> timedelta:
    if occurrence.get("DTEND") is not None:
        length = _wall(occurrence.get("DTEND").dt, tz) - start
    elif occurrence.get("DURATION") is not None:
        length = occurrence.get("DURATION").dt
    else:
        length = _ONE_HOUR
    if length <= timedelta(0):
        raise ValueError(f"{title!r} ends before it starts")
    return length


def _wall(value: date | datetime, tz: ZoneInfo) -> datetime:
    """A DTSTART/DTEND value as naive wall-clock time in the site's zone (dates are midnight)."""
    if not isinstance(value, datetime):
        return datetime.combine(value, time())
    if value.tzinfo is None:
        return value
    return value.astimezone(tz).replace(tzinfo=None)


def _ics_fields(component: Any, title: str) -> dict[str, Any]:
    categories = component.get("CATEGORIES")
    if isinstance(categories, list):
        categories = categories[0] if categories else None
    category = str(categories.cats[0]) if categories is not None and categories.cats else ""
    capacity = component.get("X-AABENT-CAPACITY")
    registration = str(component.get("X-AABENT-REGISTRATION", "")).strip().lower()
    return {
        "title": title,
        "description": str(component.get("DESCRIPTION", "")).strip(),
        "location": str(component.get("LOCATION", "")).strip(),
        "category": category[:60],
        "capacity": _capacity(str(capacity)) if capacity is not None else None,
        "registration": registration in _TRUE,
        "url": web_address(str(component.get("URL", ""))),
    }


def web_address(text: str) -> str:
    """An http(s) address as it is, anything else (``javascript:``, a bare word) as ""."""
    text = text.strip()
    parsed = urlsplit(text)
    return text if parsed.scheme in ("http", "https") and parsed.netloc else ""


def _capacity(text: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"capacity {text!r} is not a positive whole number")
    return int(text)


# --- CSV ----------------------------------------------------------------------------------------


def read_csv(
    text: str, window: ImportWindow, skipped: list[str], name: str
) -> Iterator[ActivitySpec]:
    """The events of a CSV file; a bad row is skipped with its row number and the reason."""
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    columns = {c.strip().lower() for c in reader.fieldnames or ()}
    missing = {"title", "start", "end"} - columns
    if missing:
        raise ProgramImportError(f"{name}: missing columns: {', '.join(sorted(missing))}")
    today = window.start.astimezone(window.tz).date()
    for row in reader:
        cells = {k.strip().lower(): (v or "").strip() for k, v in row.items() if k}
        try:
            yield _csv_event(cells, today, window.tz)
        except ValueError as exc:
            skipped.append(f"{name}: row {reader.line_num}: {exc}")


def _csv_event(cells: dict[str, str], today: date, tz: ZoneInfo) -> ActivitySpec:
    title = cells.get("title", "")
    if not title:
        raise ValueError("no title")
    start = _csv_start(cells["start"], today, tz)
    end = _csv_end(cells["end"], start, tz)
    if end <= start:
        raise ValueError(f"end {cells['end']!r} is not after the start")
    return ActivitySpec(
        uid=cells.get("uid") or f"{title}@{start.isoformat(timespec='minutes')}",
        title=title,
        starts=start.replace(tzinfo=tz),
        ends=end.replace(tzinfo=tz),
        description=cells.get("description", ""),
        location=cells.get("location", ""),
        category=cells.get("category", "")[:60],
        capacity=_capacity(cells.get("capacity", "")),
        registration=cells.get("registration", "").lower() in _TRUE,
        url=web_address(cells.get("url", "")),
    )


def _csv_start(text: str, today: date, tz: ZoneInfo) -> datetime:
    relative = _RELATIVE.match(text)
    if relative:
        days, hour, minute = (int(g) for g in relative.groups())
        try:
            return datetime.combine(today + timedelta(days=days), time(hour, minute))
        except ValueError:
            raise ValueError(f"start {text!r} is not a time of day") from None
    try:
        return _wall(datetime.fromisoformat(text), tz)
    except ValueError:
        raise ValueError(f"start {text!r} is not YYYY-MM-DD HH:MM or +DAYS HH:MM") from None


def _csv_end(text: str, start: datetime, tz: ZoneInfo) -> datetime:
    try:
        return datetime.combine(start.date(), time.fromisoformat(text))
    except ValueError:
        pass
    try:
        return _wall(datetime.fromisoformat(text), tz)
    except ValueError:
        raise ValueError(f"end {text!r} is not HH:MM or YYYY-MM-DD HH:MM") from None
