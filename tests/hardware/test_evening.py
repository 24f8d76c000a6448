"""The building's evening and morning as a pure machine: the sweep, the panel, restarts."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from hardware.core import effects as fx
from hardware.core import inputs as ci
from hardware.core.timers import EveningDue
from services.core.events import EventType
from tests.hardware.core_rig import CoreRig
from tests.hardware.evening_rig import (
    CPH,
    EVENING,
    announced,
    at,
    build,
    building_settings,
    order,
    outputs,
    panel_orders,
    progress,
    run_until,
    state,
)


def test_an_empty_building_closes_step_by_step_and_arms_once_confirmed() -> None:
    rig = build()
    run_until(rig, at(rig, 21, 45, 1))
    assert announced(rig) == ["closing_15"]
    assert ("equipment", "public_pcs", False) in outputs(rig)
    assert ("equipment", "kiosk", False) not in outputs(rig)
    run_until(rig, at(rig, 22, 0, 1))
    assert announced(rig) == ["closing_15", "closing_10", "closing_5", "closed"]
    assert ("lights", "ground", False) in outputs(rig) and ("lights", "first", False) in outputs(
        rig
    )
    assert panel_orders(rig) == [True]
    assert EventType.ALARM_ARMED in rig.types()
    assert state(rig)["phase"] == "armed"
    assert state(rig)["next"]["action"] == "disarm"


def test_each_step_runs_within_a_second_of_its_instant() -> None:
    rig = build()
    run_until(rig, at(rig, 21, 44, 59))
    rig.clear()
    run_until(rig, at(rig, 21, 45, 0))
    assert announced(rig) == ["closing_15"]  # on the second, woken by the deadline


def test_last_entry_denies_new_entries_from_ten_minutes_before_closing() -> None:
    rig = build()
    run_until(rig, at(rig, 21, 49, 0))
    rig.swipe()
    assert rig.last(EventType.ACCESS_GRANTED)
    run_until(rig, at(rig, 21, 51, 0))
    rig.swipe()
    assert rig.last(EventType.ACCESS_DENIED).reason == "last_entry"
    assert state(rig)["phase"] == "last_entry"


@pytest.mark.parametrize(
    "when",
    [(21, 40), (21, 46), (21, 51), (21, 56), (22, 0)],
    ids=["before", "after-15", "after-10", "after-5", "at-closing"],
)
def test_people_inside_at_every_step_mean_no_arming_and_the_lights_stay_on(
    when: tuple[int, int],
) -> None:
    rig = build(start=at(build(), *when), inside=2)
    run_until(rig, at(rig, 22, 20))
    assert panel_orders(rig) == []
    # (A fresh controller switches on the morning's lights it missed; none go off.)
    assert not any(kind == "lights" and not on for kind, _, on in outputs(rig))
    refused = rig.events(EventType.ALARM_ARM_REFUSED)
    assert refused and refused[0].details["inside"] == 2
    # Asked again every 5 minutes, with the message repeated: 22:00, 22:05, 22:10, 22:15, 22:20.
    assert len(refused) == 5
    assert announced(rig).count("still_inside") == 5
    assert state(rig)["phase"] == "sweep"
    assert state(rig)["next"] == {
        "action": "lights_off",
        "target": "*",
        "at": at(rig, 22, 0).isoformat(),
        "waiting": True,
    }


def test_the_arm_refusal_names_the_last_entries_by_pseudonym() -> None:
    rig = build(start=at(build(), 21, 40))
    rig.swipe()
    rig.core.occupancy.enter()
    run_until(rig, at(rig, 22, 0, 1))
    refused = rig.last(EventType.ALARM_ARM_REFUSED)
    (entry,) = refused.details["last_entries"]
    assert entry["door"] == "main" and len(entry["credential"]) < 20
    assert "10000001" not in str(refused)


def test_the_last_patron_leaving_lets_the_sweep_finish() -> None:
    rig = build(start=at(build(), 21, 58), inside=1)
    run_until(rig, at(rig, 22, 3))
    assert panel_orders(rig) == []
    rig.core.occupancy.leave()
    run_until(rig, at(rig, 22, 3, 2))
    assert panel_orders(rig) == [True]
    assert state(rig)["phase"] == "armed"


def test_swept_by_staff_resets_the_count_and_arms_now() -> None:
    rig = build(start=at(build(), 21, 58), inside=3)
    run_until(rig, at(rig, 22, 1))
    out = order(rig, action="swept", reason="checked on camera")
    assert fx.SetPanel(True) in out
    swept = rig.last(EventType.BUILDING_SWEPT)
    assert swept.details["by"] == "staff:anne" and swept.details["inside_before"] == 3
    assert rig.core.occupancy.inside == 0
    assert rig.last(EventType.COMMAND_DONE).details["action"] == "swept"


def test_swept_is_refused_when_nothing_waits_for_a_sweep() -> None:
    rig = build()
    order(rig, action="swept")
    assert rig.last(EventType.COMMAND_REJECTED).reason == "nothing waits for a sweep now"
    assert panel_orders(rig) == []


def test_extend_postpones_the_rest_of_the_closing_sequence() -> None:
    rig = build(start=at(build(), 21, 52))
    rig.clear()
    order(rig, action="extend", minutes=30)
    run_until(rig, at(rig, 22, 24))
    assert panel_orders(rig) == [] and announced(rig) == []
    run_until(rig, at(rig, 22, 30, 1))
    assert announced(rig) == ["closing_5", "closed"]
    assert panel_orders(rig) == [True]


def test_announce_now_plays_and_records_who_asked() -> None:
    rig = build()
    out = order(rig, action="announce", message="closing_10")
    assert fx.Announce("closing_10") in out
    assert rig.last(EventType.CLOSING_ANNOUNCED).details["by"] == "staff:anne"


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"action": "announce", "message": "hello"}, "message: 'hello' is not one of"),
        ({"action": "extend", "minutes": 0}, "minutes: 0 is not 1 to 240"),
        ({"action": "extend"}, "minutes: needed by extend"),
        ({"action": "swept", "minutes": 5}, "minutes: needed by extend and only by it"),
        ({"action": "dance"}, "action: 'dance' is not one of"),
    ],
)
def test_bad_building_commands_are_refused_by_name(body: dict[str, object], problem: str) -> None:
    rig = build()
    order(rig, **body)
    assert rig.last(EventType.COMMAND_REJECTED).reason.startswith(problem)  # type: ignore[union-attr]


def test_no_panel_feedback_is_an_alarm_and_arming_is_retried() -> None:
    rig = build(start=at(build(), 21, 59))
    run_until(rig, at(rig, 22, 1, 1), panel=False)
    assert panel_orders(rig) == [True]
    (late,) = rig.events(EventType.ALARM_NO_FEEDBACK)
    assert late.reason == "arm"
    assert EventType.ALARM_ARMED not in rig.types()
    run_until(rig, at(rig, 22, 6, 1), panel=False)
    assert panel_orders(rig) == [True, True]  # retried after sweep_retry_s
    rig.feed(ci.PanelChanged("armed", True))
    assert EventType.ALARM_ARMED in rig.types()


def test_opening_disarms_first_and_admits_only_once_the_panel_confirms() -> None:
    morning = EVENING.replace(hour=6, minute=45) + timedelta(days=1)
    rig = build(start=morning, armed=True)
    run_until(rig, morning.replace(minute=50, second=1), panel=False)
    assert panel_orders(rig) == [False]
    assert not any(kind == "lights" and on for kind, _, on in outputs(rig))  # after the disarm
    run_until(rig, morning.replace(hour=7, minute=0, second=5), panel=False)
    rig.swipe()
    assert rig.last(EventType.ACCESS_DENIED).reason == "alarm_armed"
    assert state(rig)["phase"] == "disarming" or EventType.ALARM_NO_FEEDBACK in rig.types()
    rig.feed(ci.PanelChanged("armed", False))
    assert EventType.ALARM_DISARMED in rig.types()
    assert ("lights", "ground", True) in outputs(rig)
    assert state(rig)["phase"] == "open"
    rig.clear()
    rig.advance(10)  # past the card's repeat window
    rig.swipe()
    assert [e.reason for e in rig.events() if e.type.value.startswith("access")] == ["granted"]


def test_an_alarm_while_armed_is_an_intrusion_and_while_disarmed_is_not() -> None:
    rig = build(start=at(build(), 23, 0), armed=True)
    rig.feed(ci.PanelChanged("alarm", True))
    assert rig.last(EventType.ALARM_INTRUSION).reason == "panel"
    day = build(start=at(build(), 12, 0))
    day.feed(ci.PanelChanged("alarm", True))
    assert EventType.ALARM_INTRUSION not in day.types()
    day.feed(ci.PanelChanged("fault", True))
    assert EventType.ALARM_PANEL_FAULT in day.types()


def test_a_door_forced_open_while_armed_is_an_intrusion() -> None:
    rig = build(start=at(build(), 23, 0), armed=True)
    rig.feed(ci.ContactChanged("main", True))
    rig.advance(1)
    assert EventType.DOOR_FORCED_OPEN in rig.types()
    assert rig.last(EventType.ALARM_INTRUSION).door == "main"


def test_24_december_arms_at_noon() -> None:
    noon = datetime(2026, 12, 24, 11, 40, tzinfo=CPH)
    rig = build(start=noon)
    run_until(rig, noon.replace(hour=12, minute=0, second=1))
    assert announced(rig)[:3] == ["closing_15", "closing_10", "closing_5"]
    assert panel_orders(rig) == [True]


def test_without_a_panel_the_evening_still_switches_and_never_holds_the_doors() -> None:
    rig = build(building_settings(panel=False), start=at(build(), 21, 59))
    run_until(rig, at(rig, 22, 1))
    assert panel_orders(rig) == []
    assert ("lights", "ground", False) in outputs(rig)
    assert state(rig)["panel"] is None


# --- restarts ------------------------------------------------------------------------------

RESTARTS = [
    (21, 44, 0),
    (21, 46, 0),
    (21, 51, 0),
    (21, 58, 0),
    (22, 0, 0),  # arm sent, no feedback yet
    (22, 5, 0),
    (23, 30, 0),
    (30, 50, 0),  # 06:50 the next morning: disarm sent
    (31, 5, 0),
]


@pytest.mark.parametrize("restart", RESTARTS, ids=[f"{h % 24:02}:{m:02}" for h, m, _ in RESTARTS])
def test_a_restart_in_any_phase_neither_replays_nor_arms_or_disarms_twice(
    restart: tuple[int, int, int],
) -> None:
    hour, minute, _ = restart
    when = EVENING.replace(hour=0, minute=0) + timedelta(hours=hour, minutes=minute)
    through = EVENING.replace(hour=7, minute=10) + timedelta(days=1)
    whole = build()
    run_until(whole, through, step_s=30)

    first = build()
    run_until(first, when, step_s=30)
    armed = bool(first.core.evening and first.core.evening.panel["armed"])
    second = build(start=when, progress=progress(first), armed=armed, mono=5000.0)
    start_effects = list(second.effects)
    run_until(second, through, step_s=30)
    # No announcement of the past is played again after the restart.
    assert not any(isinstance(e, fx.Announce) for e in start_effects)
    assert announced(first) + announced(second) == announced(whole)
    # One arm and one disarm over the night, whenever the restart came.
    assert panel_orders(first) + panel_orders(second) in ([True, False], [True, True, False])
    assert state(second)["phase"] == "open"


def test_a_fresh_controller_at_2158_plays_nothing_stale_but_holds_the_last_entry() -> None:
    rig = build(start=at(build(), 21, 58))
    assert announced(rig) == []
    assert ("equipment", "public_pcs", False) in outputs(rig)
    rig.swipe()
    assert rig.last(EventType.ACCESS_DENIED).reason == "last_entry"
    run_until(rig, at(rig, 22, 0, 1))
    assert announced(rig) == ["closed"]


def test_a_restart_restores_the_lights_and_equipment_it_had_switched() -> None:
    first = build()
    run_until(first, at(first, 21, 46))
    second = build(start=at(first, 21, 46), progress=progress(first))
    assert ("equipment", "public_pcs", False) in outputs(second)


def test_a_panel_found_armed_at_night_is_not_armed_again() -> None:
    rig = build(start=at(build(), 23, 0), armed=True)
    run_until(rig, at(rig, 23, 5))
    assert panel_orders(rig) == []
    assert state(rig)["phase"] == "armed"


def test_a_sweep_still_waiting_in_the_morning_gives_way_to_the_opening() -> None:
    rig = build(start=at(build(), 21, 59), inside=1)
    rig.clear()  # a fresh controller supersedes this morning's steps: not what is tested here
    run_until(rig, at(rig, 6, 51, days=1), step_s=30)
    assert panel_orders(rig) == []  # never armed over someone, and nothing to disarm
    skipped = {e.details["action"] for e in rig.events(EventType.BUILDING_STEP_SKIPPED)}
    assert skipped == {"lights_off", "equipment_off", "arm"}
    assert ("lights", "ground", True) in outputs(rig)


def test_a_corrupt_progress_is_read_as_none(rig: CoreRig | None = None) -> None:
    rig = build(start=at(build(), 21, 46), progress={"done": {"x": "nonsense"}, "swept": 3})
    assert ("equipment", "public_pcs", False) in outputs(rig)


def test_a_superseded_sweep_leaves_no_deadline_in_the_past() -> None:
    # A retry deadline left from the superseded sweep woke the shell at once, for ever.
    rig = build(start=at(build(), 21, 59), inside=1)
    run_until(rig, at(rig, 6, 51, days=1), step_s=30)
    due = rig.core.building.deadlines.get(EveningDue())
    assert due is None or due > rig.mono
