"""Access groups: weekly windows, doors, validity, expiry, and which group admits."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from services.core.groups import (
    AccessGroup,
    Membership,
    WeeklyWindow,
    WhenArmed,
    admitting_group,
    format_windows,
    may_enter_while_armed,
    parse_windows,
)

CPH = ZoneInfo("Europe/Copenhagen")
TUESDAY = date(2026, 12, 1)


def at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=CPH)


IT_CAFE = AccessGroup("IT-café", parse_windows("tue 13:00-16:00"), pin_required=False)
CLEANERS = AccessGroup("cleaners", parse_windows("mon-fri 05:30-07:30"))


def test_windows_parse_ranges_and_single_days() -> None:
    windows = parse_windows("mon-fri 05:30-07:30, sat 10:00-14:00")
    assert [w.weekday for w in windows] == [0, 1, 2, 3, 4, 5]
    assert windows[0] == WeeklyWindow(0, time(5, 30), time(7, 30))
    assert parse_windows(format_windows(windows)) == windows


@pytest.mark.parametrize(
    "text",
    ["tue", "tue 16:00-13:00", "xyz 10:00-11:00", "fri-mon 10:00-11:00", "tue 25:00-26:00"],
)
def test_bad_windows_are_named(text: str) -> None:
    with pytest.raises(ValueError, match=r"window|end must be after"):
        parse_windows(text)


def test_window_until_midnight_is_written_24_00() -> None:
    (window,) = parse_windows("sat 20:00-24:00")
    assert window.contains(at(date(2026, 12, 5), 23, 59))


@pytest.mark.parametrize(
    ("moment", "inside"),
    [
        (at(TUESDAY, 12, 59), False),
        (at(TUESDAY, 13, 0), True),
        (at(TUESDAY, 15, 59), True),
        (at(TUESDAY, 16, 0), False),  # the end is exclusive
        (at(date(2026, 12, 2), 14, 0), False),  # a Wednesday
    ],
)
def test_it_cafe_is_open_tuesdays_13_to_16(moment: datetime, inside: bool) -> None:
    assert IT_CAFE.admits(moment, "main") is inside


def test_cleaners_window_reaches_outside_opening_hours() -> None:
    assert CLEANERS.admits(at(TUESDAY, 5, 30), "main")
    assert not CLEANERS.admits(at(TUESDAY, 7, 30), "main")
    assert not CLEANERS.admits(at(date(2026, 12, 6), 6, 0), "main")  # Sunday


def test_group_doors_limit_where_it_admits() -> None:
    basement = AccessGroup("study", parse_windows("tue 13:00-16:00"), doors=frozenset({"cellar"}))
    assert basement.admits(at(TUESDAY, 14), "cellar")
    assert not basement.admits(at(TUESDAY, 14), "main")


def test_group_validity_dates_are_inclusive() -> None:
    group = AccessGroup(
        "winter", IT_CAFE.windows, valid_from=TUESDAY, valid_until=date(2026, 12, 8)
    )
    assert group.admits(at(TUESDAY, 14), "main")
    assert group.admits(at(date(2026, 12, 8), 14), "main")
    assert not group.admits(at(date(2026, 11, 24), 14), "main")
    assert not group.admits(at(date(2026, 12, 15), 14), "main")


def test_membership_expiry_ends_the_members_entry() -> None:
    member = Membership(IT_CAFE, expires=date(2026, 11, 30))
    assert not member.admits(at(TUESDAY, 14), "main")
    assert Membership(IT_CAFE, expires=TUESDAY).admits(at(TUESDAY, 14), "main")


def test_no_membership_open_now_admits_no_group() -> None:
    assert admitting_group([Membership(IT_CAFE)], at(TUESDAY, 9), "main") is None
    assert admitting_group([], at(TUESDAY, 14), "main") is None


def test_the_most_lenient_group_open_now_is_chosen() -> None:
    staff = AccessGroup("staff", parse_windows("mon-sun 06:00-23:00"), when_armed=WhenArmed.DISARM)
    chosen = admitting_group([Membership(staff), Membership(IT_CAFE)], at(TUESDAY, 14), "main")
    assert chosen == IT_CAFE  # no PIN asked
    chosen = admitting_group([Membership(CLEANERS), Membership(staff)], at(TUESDAY, 6), "main")
    assert chosen == staff  # both ask a PIN; staff may disarm


def test_the_armed_rule_is_the_groups() -> None:
    assert may_enter_while_armed(AccessGroup("staff", (), when_armed=WhenArmed.DISARM))
    assert not may_enter_while_armed(CLEANERS)
