"""The sequence plan: every opening change, exception days, holidays and DST nights."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.core.evening import (
    Action,
    Change,
    SequenceRules,
    StepRule,
    change_of,
    changes,
    plan,
)
from services.core.holidays import DanishHolidays
from services.core.hours import ExceptionHours, OpeningHours, parse_intervals
from services.core.schedule import OpeningState, Schedule
from services.runtime.holidays_dk import public_holidays

CPH = ZoneInfo("Europe/Copenhagen")


def schedule(
    every_day: str = "07:00-22:00",
    staffed: str = "",
    exceptions: dict[date, ExceptionHours] | None = None,
) -> Schedule:
    week = (parse_intervals(every_day),) * 7
    hours = OpeningHours(week, (parse_intervals(staffed),) * 7, True, exceptions or {})
    return Schedule(hours, CPH, DanishHolidays(public_holidays))


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=CPH)  # type: ignore[misc]


def day_plan(s: Schedule, day: date, rules: SequenceRules | None = None) -> list[tuple[str, str]]:
    start = datetime.combine(day, time(), CPH)
    steps = plan(s, rules or SequenceRules(), start, start + timedelta(days=1))
    return [(f"{x.at.astimezone(CPH):%H:%M}", f"{x.rule.action}:{x.rule.target}") for x in steps]


def test_the_default_evening_and_morning_of_an_ordinary_day() -> None:
    assert day_plan(schedule(), date(2026, 11, 25)) == [
        ("06:50", "disarm:"),
        ("06:50", "lights_on:*"),
        ("06:50", "equipment_on:*"),
        ("21:45", "announce:closing_15"),
        ("21:45", "equipment_off:public_pcs"),
        ("21:50", "announce:closing_10"),
        ("21:50", "stop_admitting:"),
        ("21:55", "announce:closing_5"),
        ("22:00", "announce:closed"),
        ("22:00", "lights_off:*"),
        ("22:00", "equipment_off:*"),
        ("22:00", "arm:"),
    ]


def test_24_december_closing_at_noon_moves_the_evening_with_it() -> None:
    s = schedule(
        exceptions={date(2026, 12, 24): ExceptionHours(self_service=parse_intervals("07:00-12:00"))}
    )
    got = day_plan(s, date(2026, 12, 24))
    assert ("11:45", "announce:closing_15") in got
    assert ("11:50", "stop_admitting:") in got
    assert ("12:00", "arm:") in got
    assert not any(at.startswith("21") or at == "22:00" for at, _ in got)


def test_a_closed_public_holiday_has_no_steps_and_the_next_morning_still_opens() -> None:
    s = schedule()
    assert day_plan(s, date(2026, 12, 25)) == []  # Juledag: closed all day
    # 24 Dec closes at 22:00 as usual (not a public holiday); 26 Dec is closed too; 27 opens.
    assert ("22:00", "arm:") in day_plan(s, date(2026, 12, 24))
    assert day_plan(s, date(2026, 12, 26)) == []
    assert ("06:50", "disarm:") in day_plan(s, date(2026, 12, 27))


def test_an_exception_day_closed_has_no_evening_and_the_day_before_arms_as_usual() -> None:
    s = schedule(exceptions={date(2026, 11, 26): ExceptionHours(closed=True)})
    assert day_plan(s, date(2026, 11, 26)) == []
    assert ("22:00", "arm:") in day_plan(s, date(2026, 11, 25))


@pytest.mark.parametrize(
    ("day", "offset_h"),
    [(date(2026, 3, 29), 2), (date(2026, 10, 25), 1)],
    ids=["summer-time-begins", "summer-time-ends"],
)
def test_dst_days_keep_steps_at_their_wall_times_and_real_minutes(day: date, offset_h: int) -> None:
    got = day_plan(schedule(), day)
    assert ("06:50", "disarm:") in got and ("21:45", "announce:closing_15") in got
    start = datetime.combine(day, time(), CPH)
    steps = plan(schedule(), SequenceRules(), start, start + timedelta(days=1))
    closing = [x for x in steps if x.change is Change.CLOSES]
    assert all(x.at.utcoffset() == timedelta(hours=offset_h) for x in closing)


def test_an_offset_across_the_spring_forward_hour_counts_real_minutes() -> None:
    # Open at 03:30 on the night the clock jumps 02:00 -> 03:00: 60 real minutes before is
    # 01:30 CET (wall arithmetic would say 02:30, a time that never happens).
    s = schedule("03:30-22:00")
    rules = SequenceRules(opens=(StepRule(-60, Action.DISARM),), closes=())
    start = local(2026, 3, 29, 0, 0)
    (step,) = plan(s, rules, start, start + timedelta(hours=12))
    assert f"{step.at.astimezone(CPH):%H:%M %Z}" == "01:30 CET"
    assert step.change_at.astimezone(UTC) - step.at.astimezone(UTC) == timedelta(minutes=60)


def test_an_offset_across_the_fall_back_hour_counts_real_minutes() -> None:
    # Open at 02:30 after the repeated hour: 90 real minutes before the first 02:30 (CEST).
    s = schedule("02:30-22:00")
    rules = SequenceRules(opens=(StepRule(-90, Action.LIGHTS_ON, "*"),), closes=())
    start = local(2026, 10, 24, 23, 0)
    (step,) = plan(s, rules, start, start + timedelta(hours=12))
    assert step.change_at.astimezone(UTC) - step.at.astimezone(UTC) == timedelta(minutes=90)
    assert f"{step.at.astimezone(CPH):%H:%M}" == "01:00"


def test_every_kind_of_opening_change_is_planned_with_its_own_steps() -> None:
    s = schedule(staffed="10:00-18:00")
    rules = SequenceRules(
        opens=(StepRule(0, Action.LIGHTS_ON, "*"),),
        staff_arrive=(StepRule(-5, Action.ANNOUNCE, "staff"),),
        staff_leave=(StepRule(0, Action.EQUIPMENT_OFF, "staff_pcs"),),
        closes=(StepRule(0, Action.ARM),),
    )
    assert day_plan(s, date(2026, 11, 25), rules) == [
        ("07:00", "lights_on:*"),
        ("09:55", "announce:staff"),
        ("18:00", "equipment_off:staff_pcs"),
        ("22:00", "arm:"),
    ]


def test_change_kinds() -> None:
    c, ss, st = OpeningState.CLOSED, OpeningState.SELF_SERVICE, OpeningState.STAFFED
    assert change_of(c, ss) is Change.OPENS
    assert change_of(c, st) is Change.OPENS
    assert change_of(ss, st) is Change.STAFF_ARRIVE
    assert change_of(st, ss) is Change.STAFF_LEAVE
    assert change_of(ss, c) is Change.CLOSES
    assert change_of(st, c) is Change.CLOSES


def test_changes_of_a_week_are_in_order_and_alternate() -> None:
    found = changes(schedule(), local(2026, 11, 23, 0, 0), local(2026, 11, 30, 0, 0))
    assert len(found) == 14
    assert [k for _, k in found] == [Change.OPENS, Change.CLOSES] * 7
    assert all(a < b for (a, _), (b, _) in itertools.pairwise(found))


def test_step_keys_are_stable_and_only_steps_after_closing_wait_for_the_sweep() -> None:
    start = local(2026, 11, 25, 0, 0)
    a = plan(schedule(), SequenceRules(), start, start + timedelta(days=1))
    b = plan(schedule(), SequenceRules(), start + timedelta(hours=1), start + timedelta(days=1))
    assert [x.key for x in a if x.change is Change.CLOSES] == [
        x.key for x in b if x.change is Change.CLOSES
    ]
    waiting = [f"{x.rule.action}" for x in a if x.after_sweep]
    assert waiting == ["lights_off", "equipment_off", "arm"]
