"""Statistics on SQLite and PostgreSQL, in the site's time zone."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session, sessionmaker

from services.core.events import Event, EventType
from services.core.holidays import DanishHolidays
from services.core.schedule import Schedule
from services.recorder.stats import (
    ALL_SITES,
    Attendance,
    BranchFigures,
    DayPeak,
    EntryCount,
    OpeningCount,
    Period,
    YearFigures,
    activity_attendance,
    branch_figures,
    branch_years,
    entries,
    entries_by_opening,
    peak_occupancy,
    tailgating_on,
    write_csv,
    yearly_figures,
)
from services.runtime.holidays_dk import public_holidays
from services.settings import ScheduleSettings, WeeklyHours
from services.store.recorder import event_row, insert_events

CPH = ZoneInfo("Europe/Copenhagen")
SITE = "glo"


def utc(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def local(day: int, hour: int, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=CPH)


def ev(etype: EventType, ts: datetime, source: str = "main", **kw: object) -> Event:
    reason = kw.pop("reason", None)
    return Event(etype, source, ts, reason=reason if isinstance(reason, str) else None, details=kw)


DAY = [
    ev(EventType.OCCUPANCY_IN, utc(2, 5, 30), inside=1),  # before any opening state: unknown
    ev(EventType.OPENING_CHANGED, utc(2, 6), "site", reason="self-service"),  # 07:00 local
    ev(EventType.ACCESS_GRANTED, utc(2, 6, 30)),
    ev(EventType.OCCUPANCY_IN, utc(2, 6, 31), inside=2),
    ev(EventType.OPENING_CHANGED, utc(2, 9), "site", reason="staffed"),  # 10:00 local
    ev(EventType.OCCUPANCY_IN, utc(2, 9, 10), inside=3),
    ev(EventType.ACCESS_GRANTED, utc(2, 9, 15)),
    ev(EventType.OCCUPANCY_IN, utc(2, 9, 20), inside=5),
    ev(EventType.OCCUPANCY_OUT, utc(2, 9, 40), inside=4),
    ev(EventType.OCCUPANCY_IN, utc(2, 10, 5), inside=5),
    ev(EventType.OPENING_CHANGED, utc(2, 17), "site", reason="closed"),
    ev(EventType.OPENING_CHANGED, utc(3, 6), "site", reason="self-service"),
    ev(EventType.OCCUPANCY_IN, utc(3, 8), inside=1),
    # e1's check-ins were stored before the key was activity_uid.
    ev(EventType.ACTIVITY_CHECKIN, utc(3, 17), "kiosk-1", event_id="e1", title="Strikkecafé"),
    ev(EventType.ACTIVITY_CHECKIN, utc(3, 17, 5), "kiosk-1", event_id="e1", title="Strikkecafé"),
    ev(
        EventType.ACTIVITY_CHECKIN,
        utc(3, 18),
        "kiosk-2",
        activity_uid="e2",
        title="Lektiehjælp",
        head_count=3,
    ),
]


@pytest.fixture
def db(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    other = ev(EventType.OCCUPANCY_IN, utc(2, 9, 30), inside=99)
    with sessions.begin() as session:
        insert_events(session, [event_row(e, SITE, e.ts) for e in DAY])
        insert_events(session, [event_row(other, "another-branch", other.ts)])
    return sessions


def test_entries_per_local_hour_include_the_empty_hours(db: sessionmaker[Session]) -> None:
    with db() as session:
        rows = entries(session, SITE, local(2, 6), local(2, 12), Period.HOUR, CPH)
    assert rows == [
        EntryCount(local(2, 6), 0, 1),
        EntryCount(local(2, 7), 1, 1),
        EntryCount(local(2, 8), 0, 0),
        EntryCount(local(2, 9), 0, 0),
        EntryCount(local(2, 10), 1, 2),
        EntryCount(local(2, 11), 0, 1),
    ]


def test_entries_per_day_week_and_month(db: sessionmaker[Session]) -> None:
    with db() as session:
        days = entries(session, SITE, local(2, 0), local(4, 0), Period.DAY, CPH)
        weeks = entries(session, SITE, local(1, 0), local(10, 0), Period.WEEK, CPH)
        months = entries(session, SITE, local(1, 0), local(1, 0, month=5), Period.MONTH, CPH)
    assert days == [EntryCount(local(2, 0), 2, 5), EntryCount(local(3, 0), 0, 1)]
    assert weeks == [
        EntryCount(datetime(2026, 2, 23, tzinfo=CPH), 0, 0),  # Sunday 1 March's week
        EntryCount(local(2, 0), 2, 6),
        EntryCount(local(9, 0), 0, 0),
    ]
    assert months == [EntryCount(local(1, 0), 2, 6), EntryCount(local(1, 0, month=4), 0, 0)]


def test_hours_of_the_night_summer_time_ends_stay_apart(
    sessions: sessionmaker[Session],
) -> None:
    first = ev(EventType.OCCUPANCY_IN, utc(25, 0, 30, month=10), inside=1)  # 02:30 CEST
    second = ev(EventType.OCCUPANCY_IN, utc(25, 1, 30, month=10), inside=2)  # 02:30 CET
    with sessions.begin() as session:
        insert_events(session, [event_row(e, SITE, e.ts) for e in (first, second)])
    with sessions() as session:
        start = utc(25, 0, month=10)
        rows = entries(session, SITE, start, start + timedelta(hours=2), Period.HOUR, CPH)
    assert [r.counted_entries for r in rows] == [1, 1]
    assert [r.start.utcoffset() for r in rows] == [timedelta(hours=2), timedelta(hours=1)]
    assert {r.start.replace(tzinfo=None) for r in rows} == {datetime(2026, 10, 25, 2)}


def test_entries_are_split_by_the_opening_state_in_force(db: sessionmaker[Session]) -> None:
    with db() as session:
        split = entries_by_opening(session, SITE, local(1, 0), local(5, 0))
        later = entries_by_opening(session, SITE, utc(2, 9, 12), local(5, 0))
    assert split == [
        OpeningCount("staffed", 1, 3),
        OpeningCount("self-service", 1, 2),
        OpeningCount("closed", 0, 0),
        OpeningCount("unknown", 0, 1),
    ]
    # A period starting inside staffed hours finds the state in force before it.
    assert later[0] == OpeningCount("staffed", 1, 2)


def test_peak_occupancy_per_local_day(db: sessionmaker[Session]) -> None:
    with db() as session:
        peaks = peak_occupancy(session, SITE, local(1, 0), local(5, 0), CPH)
    assert peaks == [DayPeak(date(2026, 3, 2), 5), DayPeak(date(2026, 3, 3), 1)]


def test_attendance_counts_kiosk_checkins_per_activity_old_and_new_key(
    db: sessionmaker[Session],
) -> None:
    with db() as session:
        rows = activity_attendance(session, SITE, local(1, 0), local(5, 0))
    assert rows == [Attendance("e1", "Strikkecafé", 2), Attendance("e2", "Lektiehjælp", 3)]


def test_yearly_figures_count_visits_by_the_people_counter_and_weekly_hours(
    db: sessionmaker[Session],
) -> None:
    every_day = {d: "07:00-22:00" for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    weekdays = {d: "10:00-18:00" for d in ("mon", "tue", "wed", "thu", "fri")}
    settings = ScheduleSettings(
        self_service=WeeklyHours(**every_day),
        staffed=WeeklyHours(**weekdays),
        public_holidays_closed=False,
    )
    schedule = Schedule(settings.opening_hours(), CPH, DanishHolidays(public_holidays))
    with db() as session:
        figures = yearly_figures(session, SITE, 2026, schedule)
        empty = yearly_figures(session, SITE, 2025, schedule)
    assert figures == YearFigures(2026, 6, 2, 40.0, 65.0, 52)
    assert (empty.visits, empty.card_entries) == (0, 0)


def test_csv_export_has_a_header_and_iso_dates() -> None:
    out = io.StringIO()
    write_csv([DayPeak(date(2026, 3, 2), 5), DayPeak(date(2026, 3, 3), 1)], out)
    assert out.getvalue().splitlines() == ["day,peak", "2026-03-02,5", "2026-03-03,1"]


def _schedule(self_service: str, staffed: str) -> Schedule:
    days = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    settings = ScheduleSettings(
        self_service=WeeklyHours(**{d: self_service for d in days}),
        staffed=WeeklyHours(**{d: staffed for d in days}),
        public_holidays_closed=False,
    )
    return Schedule(settings.opening_hours(), CPH, DanishHolidays(public_holidays))


def test_entries_before_the_first_opening_change_are_classified_by_the_schedule(
    db: sessionmaker[Session],
) -> None:
    # 06:30 local on 2 March, before any opening.changed was recorded; self-service from 06:00.
    schedule = _schedule("06:00-22:00", "10:00-18:00")
    with db() as session:
        split = entries_by_opening(session, SITE, local(1, 0), local(5, 0), schedule)
        early = entries_by_opening(session, SITE, local(2, 0), local(2, 7), schedule)
    assert split[:2] == [OpeningCount("staffed", 1, 3), OpeningCount("self-service", 1, 3)]
    assert split[3] == OpeningCount("unknown", 0, 0)
    assert early[1] == OpeningCount("self-service", 0, 1)
    # A schedule closed at that hour says closed, not unknown.
    with db() as session:
        closed = entries_by_opening(session, SITE, local(2, 0), local(2, 7), _schedule("", ""))
    assert closed[2] == OpeningCount("closed", 0, 1)


def test_tailgating_of_a_day_is_counted_from_the_stored_events(
    sessions: sessionmaker[Session],
) -> None:
    events = [
        ev(EventType.DOOR_TAILGATING, utc(2, 18)),
        ev(EventType.DOOR_TAILGATING, utc(2, 20)),
        ev(EventType.DOOR_TAILGATING, utc(2, 23, 30)),  # 00:30 local on 3 March
    ]
    with sessions.begin() as session:
        insert_events(session, [event_row(e, SITE, e.ts) for e in events])
        insert_events(
            session, [event_row(ev(EventType.DOOR_TAILGATING, utc(2, 19)), "b", utc(2, 19))]
        )
    with sessions() as session:
        assert tailgating_on(session, SITE, date(2026, 3, 2), CPH) == 2
        assert tailgating_on(session, SITE, date(2026, 3, 3), CPH) == 1
        assert tailgating_on(session, "b", date(2026, 3, 2), CPH) == 1


def test_figures_per_branch_and_summed_for_the_municipality(db: sessionmaker[Session]) -> None:
    schedule = _schedule("06:00-22:00", "10:00-18:00")
    with db() as session:
        rows = branch_figures(
            session,
            [(SITE, "Glostrup"), ("another-branch", "Vallensbæk")],
            local(1, 0),
            local(5, 0),
            schedule,
        )
        years = branch_years(
            session,
            [(SITE, "Glostrup", schedule), ("another-branch", "Vallensbæk", schedule)],
            2026,
        )
    glo, other, total = rows
    assert (glo.counted_entries, glo.card_entries, glo.peak, glo.attendance) == (6, 2, 5, 5)
    assert (glo.staffed_entries, glo.self_service_entries) == (3, 3)
    assert (other.counted_entries, other.staffed_entries, other.peak) == (1, 1, 99)
    assert total == BranchFigures(ALL_SITES, "", 2, 7, 4, 3, 99, 5)
    assert [y.visits for y in years] == [6, 1, 7]
    assert years[-1].site == ALL_SITES
    assert years[-1].staffed_hours_per_week == 2 * years[0].staffed_hours_per_week
