"""Opening state at any instant: staffed, self-service or closed. Pure; the clock is a parameter.

Hours are wall-clock times in the site's time zone. Each interval becomes one continuous span of
real time: it begins the first time the clock reads its start and ends the first time the clock
reads its end. So on the night summer time ends, "01:00-02:30" closes at the first 02:30 and stays
closed through the repeated hour, and on the night summer time begins, a time the clock skips
(02:30) takes effect when the clock jumps to 03:00. ``parse_intervals`` (in
:mod:`services.core.hours`) stores "24:00" as 23:59; an interval ending at 23:59 runs to
midnight, so "00:00-24:00" every day is open without a gap.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from services.core.holidays import DanishHolidays
from services.core.hours import ExceptionHours, Interval, OpeningHours

LOOK_AHEAD = timedelta(days=14)
END_OF_DAY = time(23, 59)
_DAY = timedelta(days=1)
_Span = tuple[datetime, datetime]


class OpeningState(StrEnum):
    """What the building is at one instant."""

    STAFFED = "staffed"
    SELF_SERVICE = "self-service"
    CLOSED = "closed"


@dataclass(frozen=True)
class Opening:
    """The state at an instant, and when and into what it next changes (None beyond look-ahead)."""

    state: OpeningState
    until: datetime | None
    next_state: OpeningState | None


@dataclass(frozen=True)
class DayHours:
    """One date's hours as they apply, after holidays and exception days; for the week view."""

    date: date
    self_service: tuple[Interval, ...]
    staffed: tuple[Interval, ...]
    note: str = ""

    @property
    def closed(self) -> bool:
        """True when the building opens neither for self-service nor with staff that day."""
        return not self.self_service and not self.staffed


@dataclass(frozen=True)
class WeekTotals:
    """Opening hours in the 7 days from ``start``, as Danmarks Statistik asks for them.

    ``staffed`` counts every staffed hour; ``self_service_only`` the self-service hours without
    staff. Durations are the published wall-clock hours, so a DST night does not change them.
    """

    start: date
    staffed: timedelta
    self_service_only: timedelta


class Schedule:
    """The opening schedule of one site: weekly hours, Danish public holidays and exception days.

    An exception day overrides both the holiday and the week: ``closed = true`` closes the day;
    ``self_service`` replaces the day's self-service hours, and then the staffed hours are the
    exception's ``staffed`` (missing or "" = no staff that day); ``staffed`` alone replaces only
    the staffed hours; neither (just a note) opens the day with the weekly hours, e.g. a holiday
    the library opens after all. Inside a staffed interval the state is STAFFED even outside the
    self-service hours, since the building is open whenever staff are there.
    """

    def __init__(self, hours: OpeningHours, tz: ZoneInfo, holidays: DanishHolidays) -> None:
        self._tz = tz
        self._self_service = hours.self_service
        self._staffed = hours.staffed
        self._holidays_closed = hours.public_holidays_closed
        self._holidays = holidays
        self._exceptions = dict(hours.exceptions)
        # One entry per date asked about: a few hundred a year, so no eviction is needed.
        self._days: dict[date, DayHours] = {}
        self._spans: dict[date, tuple[tuple[_Span, ...], tuple[_Span, ...]]] = {}

    @property
    def timezone(self) -> ZoneInfo:
        """The site's time zone; the hours are wall-clock times in it."""
        return self._tz

    def day(self, day: date) -> DayHours:
        """The hours that apply on ``day``, with the holiday's or exception's note."""
        found = self._days.get(day)
        if found is None:
            found = self._days[day] = self._resolve(day)
        return found

    def week(self, start: date) -> list[DayHours]:
        """The 7 days from ``start``, for the kiosk's week view."""
        return [self.day(start + n * _DAY) for n in range(7)]

    def weekly_hours(self, start: date) -> WeekTotals:
        """Staffed and self-service-only hours in the 7 days from ``start``."""
        staffed = unstaffed = 0
        for hours in self.week(start):
            staffed += sum(_length(iv) for iv in hours.staffed)
            overlap = sum(_overlap(a, b) for a in hours.self_service for b in hours.staffed)
            unstaffed += sum(_length(iv) for iv in hours.self_service) - overlap
        return WeekTotals(start, timedelta(minutes=staffed), timedelta(minutes=unstaffed))

    def at(self, now: datetime) -> Opening:
        """The state at ``now`` (aware, any zone) and the next change within ``LOOK_AHEAD``."""
        if now.utcoffset() is None:
            raise ValueError(f"now must be timezone-aware, got {now.isoformat()}")
        instant = now.astimezone(UTC)
        state = self._state(instant)
        for change in self._boundaries(instant, instant + LOOK_AHEAD):
            after = self._state(change)
            if after is not state:
                return Opening(state, change.astimezone(self._tz), after)
        return Opening(state, None, None)

    def _resolve(self, day: date) -> DayHours:
        weekday = day.weekday()
        holiday = self._holidays.name(day)
        exception = self._exceptions.get(day)
        if exception is not None:
            return _apply(
                exception, day, self._self_service[weekday], self._staffed[weekday], holiday or ""
            )
        if holiday is not None and self._holidays_closed:
            return DayHours(day, (), (), holiday)
        return DayHours(day, self._self_service[weekday], self._staffed[weekday], holiday or "")

    def _state(self, instant: datetime) -> OpeningState:
        """The state at a UTC instant, from the spans of the local date and its neighbours."""
        local = instant.astimezone(self._tz).date()
        # Neighbouring dates too: a span can reach past midnight's instant when DST moves midnight.
        days = [self._day_spans(local + n * _DAY) for n in (-1, 0, 1)]
        if any(_covers(staffed, instant) for _, staffed in days):
            return OpeningState.STAFFED
        if any(_covers(self_service, instant) for self_service, _ in days):
            return OpeningState.SELF_SERVICE
        return OpeningState.CLOSED

    def _boundaries(self, after: datetime, until: datetime) -> list[datetime]:
        """Every span start and end in (after, until], in time order."""
        first = after.astimezone(self._tz).date() - _DAY
        last = until.astimezone(self._tz).date() + _DAY
        found: set[datetime] = set()
        for n in range((last - first).days + 1):
            for spans in self._day_spans(first + n * _DAY):
                found.update(edge for span in spans for edge in span)
        return sorted(edge for edge in found if after < edge <= until)

    def _day_spans(self, day: date) -> tuple[tuple[_Span, ...], tuple[_Span, ...]]:
        """The day's self-service and staffed intervals as spans of UTC instants."""
        found = self._spans.get(day)
        if found is None:
            hours = self.day(day)
            found = self._spans[day] = (
                tuple(self._span(day, iv) for iv in hours.self_service),
                tuple(self._span(day, iv) for iv in hours.staffed),
            )
        return found

    def _span(self, day: date, interval: Interval) -> _Span:
        start, end = interval
        end_wall = (
            datetime.combine(day + _DAY, time())
            if end == END_OF_DAY
            else (datetime.combine(day, end))
        )
        return _instant(datetime.combine(day, start), self._tz), _instant(end_wall, self._tz)


def _instant(wall: datetime, tz: ZoneInfo) -> datetime:
    """The first UTC instant at which the clock in ``tz`` reads ``wall`` or later."""
    earlier, later = sorted(wall.replace(tzinfo=tz, fold=f).astimezone(UTC) for f in (0, 1))
    if earlier == later or earlier.astimezone(tz).replace(tzinfo=None) == wall:
        # An ordinary time, or one the clock shows twice: take the first showing.
        return earlier
    # The clock skips ``wall``: it first reads a later time when the offset changes, which is
    # between the two readings of ``wall``; bisect to the second (tzdata changes on seconds).
    lo, hi = int(earlier.timestamp()), int(later.timestamp())
    before = earlier.astimezone(tz).utcoffset()
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, tz).utcoffset() == before:
            lo = mid
        else:
            hi = mid
    return datetime.fromtimestamp(hi, UTC)


def _covers(spans: Iterable[_Span], instant: datetime) -> bool:
    return any(start <= instant < end for start, end in spans)


def _minutes(t: time, *, end: bool = False) -> int:
    return 24 * 60 if end and t == END_OF_DAY else t.hour * 60 + t.minute


def _length(interval: Interval) -> int:
    return _minutes(interval[1], end=True) - _minutes(interval[0])


def _overlap(a: Interval, b: Interval) -> int:
    start = max(_minutes(a[0]), _minutes(b[0]))
    end = min(_minutes(a[1], end=True), _minutes(b[1], end=True))
    return max(0, end - start)


def _apply(
    exception: ExceptionHours,
    day: date,
    self_service: tuple[Interval, ...],
    staffed: tuple[Interval, ...],
    holiday: str,
) -> DayHours:
    """The day's hours after an exception; see ``Schedule`` for the rules."""
    note = exception.note or holiday
    if exception.closed:
        return DayHours(day, (), (), note)
    if exception.self_service is not None:
        return DayHours(day, exception.self_service, exception.staffed or (), note)
    if exception.staffed is not None:
        return DayHours(day, self_service, exception.staffed, note)
    return DayHours(day, self_service, staffed, note)
