"""Statistics from the events table: entries, staffed vs self-service, peaks, attendance, yearly.

Plain queries that return plain dataclasses. Grouping by local hour, day, week and month happens
here in Python on the fetched timestamps, not in SQL: the site's time zone (with its DST nights)
then counts the same on SQLite and PostgreSQL, with no dialect's date functions. Only the events
of the asked period and types are fetched, through the ``ts`` and ``type`` indexes.

Visits count the people counter (``occupancy.in``): card entries (``access.granted``) miss the
guests who walk in with a card holder, and the whole open house in staffed hours.
"""

from __future__ import annotations

import csv
import dataclasses
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.core.events import EventType
from services.core.schedule import Schedule
from services.store.recorder import EventRecord

CARD = str(EventType.ACCESS_GRANTED)
COUNTED = str(EventType.OCCUPANCY_IN)
UNKNOWN = "unknown"  # before the first recorded opening.changed, with no schedule to go by
ALL_SITES = "*"  # the municipality's sum line of the tables per branch


class Period(StrEnum):
    """How entries are grouped."""

    HOUR = "hour"
    DAY = "day"
    WEEK = "week"  # ISO weeks, from Monday
    MONTH = "month"


@dataclass(frozen=True, slots=True)
class EntryCount:
    """Entries in one period: by card and by the people counter."""

    start: datetime  # local start of the period
    card_entries: int
    counted_entries: int


@dataclass(frozen=True, slots=True)
class OpeningCount:
    """Entries while the building was in one opening state."""

    state: str  # staffed, self-service, closed or unknown
    card_entries: int
    counted_entries: int


@dataclass(frozen=True, slots=True)
class DayPeak:
    """The most people inside at once on a day."""

    day: date
    peak: int


@dataclass(frozen=True, slots=True)
class Attendance:
    """Check-ins at one activity of the programme."""

    activity_uid: str
    title: str
    checkins: int


@dataclass(frozen=True, slots=True)
class YearFigures:
    """The figures Danmarks Statistik asks of a library for one year."""

    year: int
    visits: int  # people counter
    card_entries: int
    staffed_hours_per_week: float  # average over the year's weeks (Mondays in the year)
    self_service_hours_per_week: float  # self-service hours without staff
    weeks: int


def _rows(
    session: Session, site: str, types: Iterable[str], start: datetime, end: datetime
) -> Iterator[Any]:
    query = (
        select(EventRecord.ts, EventRecord.type, EventRecord.details, EventRecord.reason)
        .where(
            EventRecord.site == site,
            EventRecord.type.in_(list(types)),
            EventRecord.ts >= start,
            EventRecord.ts < end,
        )
        .order_by(EventRecord.ts)
    )
    return iter(session.execute(query.execution_options(yield_per=5000)))


def _day_key(ts: datetime, period: Period, tz: ZoneInfo) -> date:
    day = ts.astimezone(tz).date()
    if period is Period.WEEK:
        return day - timedelta(days=day.weekday())
    if period is Period.MONTH:
        return day.replace(day=1)
    return day


def _key(ts: datetime, period: Period, tz: ZoneInfo) -> datetime | date:
    if period is Period.HOUR:  # Danish offsets are whole hours: a UTC hour is a local hour
        return ts.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return _day_key(ts, period, tz)


def _keys(start: datetime, end: datetime, period: Period, tz: ZoneInfo) -> list[datetime | date]:
    keys: list[datetime | date] = []
    if period is Period.HOUR:
        hour = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        while hour < end:
            keys.append(hour)
            hour += timedelta(hours=1)
        return keys
    key, last = _day_key(start, period, tz), _day_key(end - timedelta(microseconds=1), period, tz)
    while key <= last:
        keys.append(key)
        if period is Period.MONTH:
            key = (key.replace(day=28) + timedelta(days=4)).replace(day=1)
        else:
            key += timedelta(days=7 if period is Period.WEEK else 1)
    return keys


def _local_start(key: datetime | date, tz: ZoneInfo) -> datetime:
    if isinstance(key, datetime):
        return key.astimezone(tz)
    return datetime.combine(key, time(0), tzinfo=tz)


def entries(
    session: Session, site: str, start: datetime, end: datetime, period: Period, tz: ZoneInfo
) -> list[EntryCount]:
    """Card and counted entries per period in ``[start, end)``, empty periods included."""
    cards: Counter[datetime | date] = Counter()
    counted: Counter[datetime | date] = Counter()
    for row in _rows(session, site, (CARD, COUNTED), start, end):
        (cards if row.type == CARD else counted)[_key(row.ts, period, tz)] += 1
    return [
        EntryCount(_local_start(k, tz), cards[k], counted[k]) for k in _keys(start, end, period, tz)
    ]


def entries_by_opening(
    session: Session, site: str, start: datetime, end: datetime, schedule: Schedule | None = None
) -> list[OpeningCount]:
    """Entries split by the opening state in force: the last ``opening.changed`` before each.

    Before the first opening change recorded at all (a new installation, or detail purged),
    the state is the one ``schedule`` says for the entry's instant; without a schedule it is
    ``unknown``."""
    before = session.scalar(
        select(EventRecord.reason)
        .where(
            EventRecord.site == site,
            EventRecord.type == str(EventType.OPENING_CHANGED),
            EventRecord.ts < start,
        )
        .order_by(EventRecord.ts.desc())
        .limit(1)
    )
    state = before or UNKNOWN
    cards: Counter[str] = Counter()
    counted: Counter[str] = Counter()
    types = (CARD, COUNTED, str(EventType.OPENING_CHANGED))
    for row in _rows(session, site, types, start, end):
        if row.type == str(EventType.OPENING_CHANGED):
            state = row.reason or UNKNOWN
        else:
            known = state
            if known == UNKNOWN and schedule is not None:
                known = str(schedule.at(row.ts).state)
            (cards if row.type == CARD else counted)[known] += 1
    states = ["staffed", "self-service", "closed", UNKNOWN]
    states += sorted((set(cards) | set(counted)) - set(states))
    return [OpeningCount(s, cards[s], counted[s]) for s in states]


def peak_occupancy(
    session: Session, site: str, start: datetime, end: datetime, tz: ZoneInfo
) -> list[DayPeak]:
    """The highest count inside per local day (days with nobody counted are left out)."""
    peaks: dict[date, int] = {}
    for row in _rows(session, site, (COUNTED,), start, end):
        inside = (row.details or {}).get("inside")
        if isinstance(inside, int) and not isinstance(inside, bool):
            day = row.ts.astimezone(tz).date()
            peaks[day] = max(peaks.get(day, 0), inside)
    return [DayPeak(day, peak) for day, peak in sorted(peaks.items())]


def activity_attendance(
    session: Session, site: str, start: datetime, end: datetime
) -> list[Attendance]:
    """People per programme event, from the kiosks' ``event.checkin`` events.

    Each check-in brings ``details.head_count`` people (a family checking in as guests counts
    as all of them); a check-in without it counts one.
    """
    counts: Counter[str] = Counter()
    titles: dict[str, str] = {}
    for row in _rows(session, site, (str(EventType.ACTIVITY_CHECKIN),), start, end):
        details = row.details or {}
        # Check-ins stored before the programme's entries were called activities say event_id.
        uid = details.get("activity_uid", details.get("event_id"))
        if uid is None:
            continue
        head_count = details.get("head_count")
        counts[str(uid)] += head_count if isinstance(head_count, int) and head_count > 0 else 1
        title = details.get("title")
        if isinstance(title, str):
            titles[str(uid)] = title
    return [Attendance(e, titles.get(e, ""), n) for e, n in sorted(counts.items())]


def tailgating_on(session: Session, site: str, day: date, tz: ZoneInfo) -> int:
    """How many times several people came in on one card on the local ``day``: counted from
    the stored events, so a server restart in the evening forgets none."""
    start = datetime.combine(day, time(0), tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
    return _count(session, site, str(EventType.DOOR_TAILGATING), start, end)


@dataclass(frozen=True, slots=True)
class BranchFigures:
    """One branch's figures over a span, a line of the municipality's table."""

    site: str
    name: str
    card_entries: int
    counted_entries: int
    staffed_entries: int  # counted entries while staffed
    self_service_entries: int  # counted entries in self-service hours
    peak: int  # the most inside at once
    attendance: int  # people checked in at activities


def branch_figures(
    session: Session,
    sites: Sequence[tuple[str, str]],
    start: datetime,
    end: datetime,
    schedule: Schedule | None = None,
) -> list[BranchFigures]:
    """The figures of each (site, name) over ``[start, end)``, with the municipality's sum
    last (site ``*``)."""
    rows = []
    for site, name in sites:
        split = {o.state: o for o in entries_by_opening(session, site, start, end, schedule)}
        tz = schedule.timezone if schedule is not None else ZoneInfo("UTC")
        peaks = peak_occupancy(session, site, start, end, tz)
        rows.append(
            BranchFigures(
                site=site,
                name=name,
                card_entries=sum(o.card_entries for o in split.values()),
                counted_entries=sum(o.counted_entries for o in split.values()),
                staffed_entries=split["staffed"].counted_entries,
                self_service_entries=split["self-service"].counted_entries,
                peak=max((p.peak for p in peaks), default=0),
                attendance=sum(a.checkins for a in activity_attendance(session, site, start, end)),
            )
        )
    return [*rows, _sum_branches(rows)]


def _sum_branches(rows: Sequence[BranchFigures]) -> BranchFigures:
    # Peaks at different branches happen at different times, so adding them would claim a
    # crowd nobody saw: the sum line gives the highest branch's peak.
    return BranchFigures(
        site=ALL_SITES,
        name="",
        card_entries=sum(r.card_entries for r in rows),
        counted_entries=sum(r.counted_entries for r in rows),
        staffed_entries=sum(r.staffed_entries for r in rows),
        self_service_entries=sum(r.self_service_entries for r in rows),
        peak=max((r.peak for r in rows), default=0),
        attendance=sum(r.attendance for r in rows),
    )


@dataclass(frozen=True, slots=True)
class BranchYear:
    """Danmarks Statistik's figures of one branch for a year (site ``*``: the sum)."""

    site: str
    name: str
    year: int
    visits: int
    card_entries: int
    staffed_hours_per_week: float
    self_service_hours_per_week: float
    weeks: int


def branch_years(
    session: Session, sites: Sequence[tuple[str, str, Schedule]], year: int
) -> list[BranchYear]:
    """The yearly figures of each (site, name, its schedule), then their sum (site ``*``):
    visits and card entries add up, and so do the opening hours of the branches."""
    rows = []
    for site, name, schedule in sites:
        f = yearly_figures(session, site, year, schedule)
        rows.append(
            BranchYear(
                site,
                name,
                year,
                f.visits,
                f.card_entries,
                f.staffed_hours_per_week,
                f.self_service_hours_per_week,
                f.weeks,
            )
        )
    total = BranchYear(
        ALL_SITES,
        "",
        year,
        sum(r.visits for r in rows),
        sum(r.card_entries for r in rows),
        round(sum(r.staffed_hours_per_week for r in rows), 2),
        round(sum(r.self_service_hours_per_week for r in rows), 2),
        max((r.weeks for r in rows), default=0),
    )
    return [*rows, total]


def _count(session: Session, site: str, etype: str, start: datetime, end: datetime) -> int:
    query = select(func.count()).where(
        EventRecord.site == site,
        EventRecord.type == etype,
        EventRecord.ts >= start,
        EventRecord.ts < end,
    )
    return int(session.scalar(query) or 0)


def yearly_figures(session: Session, site: str, year: int, schedule: Schedule) -> YearFigures:
    """Visits, card entries and weekly opening hours with and without staff for ``year``."""
    tz = schedule.timezone
    start = datetime(year, 1, 1, tzinfo=tz)
    end = datetime(year + 1, 1, 1, tzinfo=tz)
    first_monday = date(year, 1, 1) + timedelta(days=(7 - date(year, 1, 1).weekday()) % 7)
    mondays = [first_monday + timedelta(weeks=w) for w in range(54)]
    weeks = [schedule.weekly_hours(m) for m in mondays if m.year == year]
    hours = 3600.0 * len(weeks)
    return YearFigures(
        year=year,
        visits=_count(session, site, COUNTED, start, end),
        card_entries=_count(session, site, CARD, start, end),
        staffed_hours_per_week=round(sum(w.staffed.total_seconds() for w in weeks) / hours, 2),
        self_service_hours_per_week=round(
            sum(w.self_service_only.total_seconds() for w in weeks) / hours, 2
        ),
        weeks=len(weeks),
    )


# A spreadsheet runs a cell starting with one of these as a formula (OWASP: CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value  # shown as text; the quote is visible, so nothing is hidden
    return value


def write_csv(rows: Sequence[Any], out: TextIO) -> None:
    """Write dataclass rows as CSV with a header of their field names (ISO dates)."""
    if not rows:
        return
    names = [f.name for f in dataclasses.fields(rows[0])]
    writer = csv.writer(out)
    writer.writerow(names)
    for row in rows:
        writer.writerow([_cell(getattr(row, name)) for name in names])
