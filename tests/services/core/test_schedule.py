"""The opening schedule: which state the building is in at an instant, and until when."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.core.holidays import DanishHolidays
from services.core.schedule import LOOK_AHEAD, Opening, OpeningState, Schedule
from services.runtime.holidays_dk import public_holidays
from services.settings import ExceptionDay, ScheduleSettings, WeeklyHours

CPH = ZoneInfo("Europe/Copenhagen")
STAFFED, SELF_SERVICE, CLOSED = (
    OpeningState.STAFFED,
    OpeningState.SELF_SERVICE,
    OpeningState.CLOSED,
)
# A typical branch: self-service 07-22 every day, staff on weekdays and Saturday mornings.
WEEK = WeeklyHours(**{d: "07:00-22:00" for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")})
STAFF = WeeklyHours(
    mon="10:00-17:00",
    tue="10:00-17:00",
    wed="10:00-17:00",
    thu="10:00-19:00",
    fri="10:00-17:00",
    sat="10:00-14:00",
)


def schedule(*exceptions: ExceptionDay, **changes: object) -> Schedule:
    """The typical branch, with exception days and settings changed as given."""
    fields: dict[str, object] = {"self_service": WEEK, "staffed": STAFF, "exceptions": exceptions}
    return Schedule(
        ScheduleSettings.model_validate(fields | changes).opening_hours(),
        ZoneInfo("Europe/Copenhagen"),
        DanishHolidays(public_holidays),
    )


def unchecked(**fields: object) -> Schedule:
    """Hours check-config refuses (staff sticking out of self-service): the core still copes."""
    return Schedule(
        ScheduleSettings.model_construct(**fields).opening_hours(),
        ZoneInfo("Europe/Copenhagen"),
        DanishHolidays(public_holidays),
    )


def local(y: int, m: int, d: int, hh: int = 0, mm: int = 0, ss: int = 0, fold: int = 0) -> datetime:
    """A wall-clock time in Copenhagen."""
    return datetime(y, m, d, hh, mm, ss, tzinfo=CPH, fold=fold)


def utc(y: int, m: int, d: int, hh: int = 0, mm: int = 0, ss: int = 0) -> datetime:
    """An instant in UTC."""
    return datetime(y, m, d, hh, mm, ss, tzinfo=UTC)


# --- state and the next change on an ordinary week (2026-03-02 is a Monday) ---


def test_self_service_hours_without_staff_are_self_service_until_staff_arrive() -> None:
    assert schedule().at(local(2026, 3, 2, 8)) == Opening(
        SELF_SERVICE, local(2026, 3, 2, 10), STAFFED
    )


def test_staffed_hours_are_staffed_until_staff_leave() -> None:
    assert schedule().at(local(2026, 3, 2, 12)) == Opening(
        STAFFED, local(2026, 3, 2, 17), SELF_SERVICE
    )


def test_an_interval_includes_its_start_and_excludes_its_end() -> None:
    s = schedule()
    assert s.at(local(2026, 3, 2, 6, 59, 59)).state is CLOSED
    assert s.at(local(2026, 3, 2, 7)).state is SELF_SERVICE
    assert s.at(local(2026, 3, 2, 21, 59, 59)).state is SELF_SERVICE
    assert s.at(local(2026, 3, 2, 22)) == Opening(CLOSED, local(2026, 3, 3, 7), SELF_SERVICE)


def test_staffed_hours_outside_self_service_hours_count_as_staffed() -> None:
    s = unchecked(
        self_service=WeeklyHours(mon="12:00-20:00"), staffed=WeeklyHours(mon="09:00-13:00")
    )
    assert s.at(local(2026, 3, 2, 8, 59)) == Opening(CLOSED, local(2026, 3, 2, 9), STAFFED)
    assert s.at(local(2026, 3, 2, 9, 30)) == Opening(STAFFED, local(2026, 3, 2, 13), SELF_SERVICE)


def test_saturday_night_is_closed_until_sunday_morning() -> None:
    assert schedule().at(local(2026, 3, 7, 22, 30)) == Opening(
        CLOSED, local(2026, 3, 8, 7), SELF_SERVICE
    )


def test_closed_until_runs_past_the_easter_holidays() -> None:
    # Påskedag (Sunday 5 April) and Anden påskedag (Monday 6 April) 2026 are closed.
    assert schedule().at(local(2026, 4, 4, 22, 30)) == Opening(
        CLOSED, local(2026, 4, 7, 7), SELF_SERVICE
    )


def test_until_is_none_when_nothing_changes_within_the_look_ahead() -> None:
    renovation = [ExceptionDay(date=f"2026-08-{d:02d}", closed=True) for d in range(1, 21)]
    s = schedule(*renovation)
    assert s.at(local(2026, 7, 31, 21)) == Opening(SELF_SERVICE, local(2026, 7, 31, 22), CLOSED)
    assert s.at(local(2026, 8, 1, 12)) == Opening(CLOSED, None, None)
    # The reopening is found as soon as it comes within the look-ahead.
    reopening = local(2026, 8, 21, 7)
    assert s.at(reopening - LOOK_AHEAD) == Opening(CLOSED, reopening, SELF_SERVICE)


def test_open_around_the_clock_has_no_gap_at_midnight() -> None:
    s = schedule(
        self_service=WeeklyHours(**{d: "00:00-24:00" for d in ("mon", "tue", "wed", "thu")}),
        staffed=WeeklyHours(),
    )
    assert s.at(local(2026, 3, 2, 23, 59, 30)) == Opening(SELF_SERVICE, local(2026, 3, 6), CLOSED)


def test_an_instant_in_utc_gives_until_in_the_site_time_zone() -> None:
    opening = schedule().at(utc(2026, 3, 2, 7))  # 08:00 in Copenhagen (CET, +01:00)
    assert opening == Opening(SELF_SERVICE, local(2026, 3, 2, 10), STAFFED)
    assert opening.until is not None
    assert opening.until.tzinfo == CPH
    assert opening.until.utcoffset() == timedelta(hours=1)


def test_a_naive_instant_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        schedule().at(datetime(2026, 3, 2, 12))


# --- Danish public holidays ---


def test_juledag_is_closed_and_named() -> None:
    s = schedule()
    juledag = s.day(date(2026, 12, 25))
    assert juledag.closed and juledag.note == "Juledag"
    assert s.at(local(2026, 12, 25, 12)).state is CLOSED


@pytest.mark.parametrize(
    ("day", "why"),
    [
        (date(2026, 6, 5), "Grundlovsdag"),
        (date(2026, 12, 24), "Juleaftensdag"),
        (date(2026, 12, 31), "Nytårsaftensdag"),
        (date(2025, 5, 1), "1. maj"),
    ],
)
def test_customary_days_off_are_not_helligdage_and_stay_open(day: date, why: str) -> None:
    hours = schedule().day(day)
    assert not hours.closed, why
    assert hours.note == ""


def test_store_bededag_closes_in_2023() -> None:
    hours = schedule().day(date(2023, 5, 5))
    assert hours.closed and hours.note == "Store bededag"


@pytest.mark.parametrize(
    "fourth_friday_after_easter",
    [date(2024, 4, 26), date(2025, 5, 16), date(2026, 5, 1), date(2027, 4, 23)],
)
def test_store_bededag_is_abolished_from_2024(fourth_friday_after_easter: date) -> None:
    hours = schedule().day(fourth_friday_after_easter)
    assert not hours.closed
    assert "bededag" not in hours.note.lower()


def test_holidays_keep_weekly_hours_when_not_closed_by_setting() -> None:
    s = schedule(public_holidays_closed=False)
    juledag = s.day(date(2026, 12, 25))  # a Friday
    assert juledag.note == "Juledag"
    assert juledag.self_service == ((time(7), time(22)),)
    assert s.at(local(2026, 12, 25, 12)).state is STAFFED


# --- exception days ---


def test_a_closed_exception_closes_an_ordinary_day_whatever_hours_it_gives() -> None:
    s = schedule(
        ExceptionDay(
            date="2026-03-04", closed=True, self_service="07:00-22:00", note="Personaledag"
        )
    )
    hours = s.day(date(2026, 3, 4))
    assert hours.closed and hours.note == "Personaledag"
    assert s.at(local(2026, 3, 3, 22)) == Opening(CLOSED, local(2026, 3, 5, 7), SELF_SERVICE)


def test_an_exception_without_hours_opens_a_holiday_with_the_weekly_hours() -> None:
    s = schedule(ExceptionDay(date="2026-12-26"))  # Anden juledag, a Saturday
    hours = s.day(date(2026, 12, 26))
    assert hours.note == "Anden juledag"
    assert hours.self_service == ((time(7), time(22)),)
    assert hours.staffed == ((time(10), time(14)),)


def test_exception_self_service_alone_means_no_staff_that_day() -> None:
    s = schedule(ExceptionDay(date="2026-03-02", self_service="09:00-15:00"))
    hours = s.day(date(2026, 3, 2))
    assert hours.self_service == ((time(9), time(15)),)
    assert hours.staffed == ()
    assert s.at(local(2026, 3, 2, 12)) == Opening(SELF_SERVICE, local(2026, 3, 2, 15), CLOSED)


def test_exception_with_both_replaces_both_and_can_close_early() -> None:
    s = schedule(
        ExceptionDay(
            date="2026-12-24",
            self_service="07:00-12:00",
            staffed="09:00-12:00",
            note="Juleaften: lukker kl. 12",
        )
    )
    assert s.day(date(2026, 12, 24)).note == "Juleaften: lukker kl. 12"
    assert s.at(local(2026, 12, 24, 11)) == Opening(STAFFED, local(2026, 12, 24, 12), CLOSED)
    # Then Juledag (Friday) and Anden juledag (Saturday) stay closed until Sunday morning.
    assert s.at(local(2026, 12, 24, 12)) == Opening(CLOSED, local(2026, 12, 27, 7), SELF_SERVICE)


def test_exception_staffed_alone_replaces_only_the_staffed_hours() -> None:
    s = schedule(
        ExceptionDay(date="2026-03-02", staffed="12:00-13:00"),
        ExceptionDay(date="2026-03-03", staffed=""),
    )
    monday, tuesday = s.day(date(2026, 3, 2)), s.day(date(2026, 3, 3))
    assert monday.self_service == tuesday.self_service == ((time(7), time(22)),)
    assert monday.staffed == ((time(12), time(13)),)
    assert tuesday.staffed == ()
    assert s.at(local(2026, 3, 3, 12)) == Opening(SELF_SERVICE, local(2026, 3, 3, 22), CLOSED)


@pytest.mark.parametrize(
    ("days", "message"),
    [
        (["2026-02-30"], "'2026-02-30' is not a date"),
        (["2026-03-02", "2026-03-02"], "2026-03-02 is listed twice"),
    ],
)
def test_a_bad_exception_date_is_named(days: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        schedule(*(ExceptionDay(date=d, closed=True) for d in days))


# --- daylight saving time in Europe/Copenhagen ---


def test_until_across_the_spring_change_is_summer_time() -> None:
    # Saturday 22:30 CET -> Sunday 29 March 07:00 CEST: 7.5 hours later, not 8.5.
    opening = schedule().at(local(2026, 3, 28, 22, 30))
    assert opening.state is CLOSED
    assert opening.until is not None
    assert opening.until.astimezone(UTC) == utc(2026, 3, 29, 5)
    assert opening.until.utcoffset() == timedelta(hours=2)


def test_until_across_the_autumn_change_is_winter_time() -> None:
    # Saturday 22:30 CEST -> Sunday 25 October 07:00 CET: 9.5 hours later, not 8.5.
    opening = schedule().at(local(2026, 10, 24, 22, 30))
    assert opening.until is not None
    assert opening.until.astimezone(UTC) == utc(2026, 10, 25, 6)
    assert opening.until.utcoffset() == timedelta(hours=1)


@pytest.mark.parametrize(
    ("instant", "state"),
    [
        (utc(2026, 3, 29, 4, 59, 59), CLOSED),
        (utc(2026, 3, 29, 5), SELF_SERVICE),  # 07:00 CEST
        (utc(2026, 10, 25, 5, 59, 59), CLOSED),
        (utc(2026, 10, 25, 6), SELF_SERVICE),  # 07:00 CET
    ],
)
def test_opening_follows_the_local_clock_on_change_days(
    instant: datetime, state: OpeningState
) -> None:
    assert schedule().at(instant).state is state


def test_hours_starting_in_the_skipped_spring_hour_open_when_the_clock_jumps() -> None:
    s = schedule(ExceptionDay(date="2026-03-29", self_service="02:30-05:00"))
    # 01:59:59 CET; the next second the clock reads 03:00 CEST, past 02:30.
    assert s.at(utc(2026, 3, 29, 0, 59, 59)) == Opening(CLOSED, local(2026, 3, 29, 3), SELF_SERVICE)
    assert s.at(utc(2026, 3, 29, 1)) == Opening(SELF_SERVICE, local(2026, 3, 29, 5), CLOSED)


def test_hours_ending_in_the_repeated_autumn_hour_end_at_its_first_showing() -> None:
    s = schedule(ExceptionDay(date="2026-10-25", self_service="01:00-02:30"))
    first = s.at(local(2026, 10, 25, 2, 15, fold=0))  # 02:15 CEST
    assert first.state is SELF_SERVICE
    assert first.until is not None
    assert first.until.astimezone(UTC) == utc(2026, 10, 25, 0, 30)
    assert (first.until.fold, first.until.utcoffset()) == (0, timedelta(hours=2))
    # 02:15 CET, the second showing: already closed, until Monday morning.
    assert s.at(local(2026, 10, 25, 2, 15, fold=1)) == Opening(
        CLOSED, local(2026, 10, 26, 7), SELF_SERVICE
    )


def test_hours_spanning_the_repeated_hour_run_continuously_through_it() -> None:
    s = schedule(ExceptionDay(date="2026-10-25", self_service="", staffed="01:30-03:30"))
    for instant in (utc(2026, 10, 24, 23, 30), utc(2026, 10, 25, 0, 45), utc(2026, 10, 25, 1, 45)):
        opening = s.at(instant)
        assert opening.state is STAFFED
        assert opening.until is not None
        assert opening.until.astimezone(UTC) == utc(2026, 10, 25, 2, 30)  # 03:30 CET


# --- the week view and the weekly statistics ---


def test_week_lists_seven_days_from_start_with_holiday_notes() -> None:
    week = schedule().week(date(2026, 12, 21))
    assert [d.date for d in week] == [date(2026, 12, 21) + timedelta(days=n) for n in range(7)]
    assert [(d.closed, d.note) for d in week[3:6]] == [
        (False, ""),
        (True, "Juledag"),
        (True, "Anden juledag"),
    ]


def test_weekly_hours_split_staffed_from_self_service_only() -> None:
    totals = schedule().weekly_hours(date(2026, 3, 2))
    # 7 x 15 h open; staffed 4 x 7 h + 9 h (Thursday) + 4 h (Saturday).
    assert totals.staffed == timedelta(hours=41)
    assert totals.self_service_only == timedelta(hours=105 - 41)


def test_weekly_hours_count_staff_outside_self_service_and_skip_holidays() -> None:
    s = unchecked(
        self_service=WeeklyHours(mon="12:00-20:00", fri="00:00-24:00"),
        staffed=WeeklyHours(mon="09:00-13:00", fri="09:30-10:00"),
    )
    totals = s.weekly_hours(date(2026, 3, 30))  # Friday 3 April is Langfredag
    assert totals.staffed == timedelta(hours=4)
    assert totals.self_service_only == timedelta(hours=7)
    totals = s.weekly_hours(date(2026, 3, 2))
    assert totals.staffed == timedelta(hours=4, minutes=30)
    assert totals.self_service_only == timedelta(hours=7 + 23, minutes=30)
