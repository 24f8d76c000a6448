"""The controller core's rules, every concurrency scenario as a deterministic test.

A lookup "in flight" is simply one the test has not answered yet; a fire "during" it is an input
fed before the answer. No threads and no sleeps anywhere in this file.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from hardware.core import effects as fx
from hardware.core import inputs as ci
from hardware.core.faults import FAULT_INTERVAL_S
from hardware.signals import WAIT, WELCOME
from services.core.access import Reason
from services.core.events import EventType as E
from services.core.patrons import PinCheck
from tests.hardware.core_rig import CARD, CPH, OTHER, CoreRig, looked, settings


@pytest.fixture
def rig() -> CoreRig:
    return CoreRig.build()


def test_a_grant_releases_the_relay_and_relocks_after_the_unlock_time(rig: CoreRig) -> None:
    rig.swipe()
    assert not rig.locked["main"]
    assert rig.last(E.ACCESS_GRANTED).reason == "granted"
    rig.advance(5.1)
    assert rig.locked["main"]


def test_the_lookup_carries_card_and_pin_and_nothing_is_decided_before_it_returns(
    rig: CoreRig,
) -> None:
    rig.card()
    rig.pin()
    request = rig.lookup()
    assert request.credential.number == CARD and request.pin == "1234"
    assert rig.locked["main"] and not rig.events(E.ACCESS_GRANTED)


# --- the building as it is when the answer comes back ------------------------------------


def test_fire_during_a_lookup_releases_at_once_and_the_late_grant_is_a_denial(
    rig: CoreRig,
) -> None:
    rig.card()
    rig.pin()
    out = rig.feed(ci.FireChanged(True))
    assert isinstance(out[0], fx.SetRelay) and not out[0].locked  # relay first, no waiting
    rig.answer()
    assert rig.last(E.ACCESS_DENIED).reason == "fire_alarm"
    assert not rig.events(E.ACCESS_GRANTED)


def test_a_grant_that_started_before_a_fire_does_not_reopen_after_it_cleared(
    rig: CoreRig,
) -> None:
    rig.card()
    rig.pin()
    rig.feed(ci.FireChanged(True))
    rig.feed(ci.FireChanged(False))
    # the answer arrives while the alarm is clearing: still a fire
    rig.answer()
    assert rig.last(E.ACCESS_DENIED).reason == "fire_alarm"
    rig.advance(1.1)
    assert rig.locked["main"]


@pytest.mark.parametrize(
    ("mode", "reason"), [("lockdown", "lockdown"), ("out_of_service", "out_of_service")]
)
def test_a_mode_set_during_a_lookup_wins_over_the_grant(
    rig: CoreRig, mode: str, reason: str
) -> None:
    rig.card()
    rig.pin()
    rig.command(action="mode", mode=mode)
    rig.answer()
    assert rig.last(E.ACCESS_DENIED).reason == reason
    assert rig.locked["main"]


def test_closing_time_during_a_lookup_wins_over_the_grant() -> None:
    rig = CoreRig.build(start=datetime(2026, 11, 25, 21, 59, 59, tzinfo=CPH))
    rig.card()
    rig.pin()
    rig.advance(2)  # 22:00: closed
    rig.answer()
    assert rig.last(E.ACCESS_DENIED).reason == "closed"
    assert rig.locked["main"]


def test_exit_during_a_lookup_releases_at_once(rig: CoreRig) -> None:
    rig.card()
    rig.pin()
    out = rig.feed(ci.ExitChanged("main", True))
    assert isinstance(out[0], fx.SetRelay) and not out[0].locked
    assert E.EXIT_REQUEST in rig.types()


def test_a_failed_lookup_is_a_denial_naming_the_library_system(rig: CoreRig) -> None:
    rig.card()
    rig.pin()
    rig.feed(ci.LookupFinished(rig.lookup().ticket, None))
    assert rig.last(E.ACCESS_DENIED).reason == "library_system_unreachable"


def test_a_stale_answer_is_ignored(rig: CoreRig) -> None:
    rig.feed(ci.LookupFinished(999, looked()))
    assert rig.locked["main"] and not rig.events(E.ACCESS_GRANTED)


# --- a second card while one is in progress ---------------------------------------------


def test_a_second_card_while_a_lookup_runs_is_told_to_wait_and_not_looked_up(
    rig: CoreRig,
) -> None:
    rig.card()
    rig.pin()
    first = rig.lookup()
    for number in (OTHER, CARD):
        out = rig.card(number)
        assert fx.Signal("main", WAIT) in out
    assert rig.lookup() is first
    rig.answer()
    assert rig.last(E.ACCESS_GRANTED).reason == "granted"


def test_the_same_card_again_right_after_its_decision_is_decided_again(rig: CoreRig) -> None:
    # a patron who was too quick: wrong PIN, card again at once, right PIN
    rig.card()
    rig.pin("9999")
    rig.answer(looked(PinCheck.WRONG))
    assert rig.last(E.ACCESS_DENIED).reason == "wrong_pin"
    rig.mono += 0.5
    rig.card()
    rig.pin()
    assert rig.lookup().pin == "1234"
    rig.answer()
    assert rig.last(E.ACCESS_GRANTED).reason == "granted"


def test_a_tag_resting_on_the_reader_after_its_decision_times_out_silently(
    rig: CoreRig,
) -> None:
    rig.swipe()
    rig.clear()
    for _ in range(5):
        rig.mono += 0.3
        rig.card()  # the reader repeats the tag's frame
    rig.advance(11)
    assert not rig.events(E.ACCESS_DENIED)
    assert not [e for e in rig.effects if isinstance(e, fx.StartLookup)]


def test_a_card_starts_a_fresh_pin_entry(rig: CoreRig) -> None:
    assert fx.ClearPinPads("main") in rig.card()


def test_a_card_waiting_for_its_pin_is_looked_up_meanwhile(rig: CoreRig) -> None:
    out = rig.card()
    early = [e for e in out if isinstance(e, fx.PrepareLookup)]
    assert early == [fx.PrepareLookup(rig.reader, early[0].credential)]
    assert early[0].credential.number == CARD
    assert not [e for e in out if isinstance(e, fx.StartLookup)]  # the decision waits for '#'


def test_a_card_that_needs_no_pin_is_looked_up_at_once_not_early() -> None:
    rig = CoreRig.build(settings(readers=[{"kind": "em4100", "url": "loop://"}]))
    out = rig.card()
    assert not [e for e in out if isinstance(e, fx.PrepareLookup)]
    assert [e for e in out if isinstance(e, fx.StartLookup)]


def test_another_card_replaces_the_one_waiting_for_its_pin(rig: CoreRig) -> None:
    rig.card()
    rig.mono += 2
    rig.card(OTHER)
    rig.pin()
    assert rig.lookup().credential.number == OTHER


def test_where_no_pin_is_asked_a_repeat_shows_the_decision_again() -> None:
    rig = CoreRig.build(settings(readers=[{"kind": "em4100", "url": "loop://"}]))
    rig.card()
    rig.answer()
    rig.mono += 0.5
    out = rig.card()
    assert fx.Signal("main", WELCOME) in out
    assert len([e for e in rig.effects if isinstance(e, fx.StartLookup)]) == 1


# --- typed deadlines -------------------------------------------------------------------------


@pytest.mark.parametrize("door", ["opening", "site"])
def test_a_door_named_like_an_internal_key_relocks_after_a_grant(door: str) -> None:
    rig = CoreRig.build(settings(door))
    rig.swipe()
    assert not rig.locked[door]
    rig.advance(1)  # a tick in between once overwrote the relock with the schedule's
    rig.advance(4.1)
    assert rig.locked[door]


def test_building_wide_events_have_no_door_even_beside_a_door_called_site() -> None:
    rig = CoreRig.build(settings("site"))
    rig.feed(ci.FireChanged(True))
    assert rig.last(E.FIRE_ALARM).door is None
    assert rig.last(E.CONTROLLER_STARTED).door is None
    assert {e.door for e in rig.events(E.DOOR_UNLOCKED)} == {"site"}


# --- settle times ---------------------------------------------------------------------------


def test_a_bounce_of_the_contact_as_the_door_shuts_is_no_forced_opening(rig: CoreRig) -> None:
    rig.swipe()
    rig.feed(ci.ContactChanged("main", True))
    rig.advance(0.05)
    rig.clear()
    for t, opened in ((0.0, False), (0.004, True), (0.009, False), (0.012, True), (0.015, False)):
        rig.mono += 0.003 if t else 0
        rig.feed(ci.ContactChanged("main", opened))
    rig.advance(0.05)
    assert rig.types() == [E.DOOR_CLOSED, E.DOOR_LOCKED]
    assert rig.door_state().state.alarm is None


def test_a_glitch_on_a_closed_locked_door_raises_no_alarm(rig: CoreRig) -> None:
    rig.feed(ci.ContactChanged("main", True))
    rig.mono += 0.002
    rig.feed(ci.ContactChanged("main", False))
    rig.advance(0.1)
    assert E.DOOR_FORCED_OPEN not in rig.types()


def test_a_door_held_open_past_the_settle_time_is_forced_open(rig: CoreRig) -> None:
    rig.feed(ci.ContactChanged("main", True))
    assert E.DOOR_OPENED not in rig.types()
    rig.advance(0.03)
    assert rig.types()[-2:] == [E.DOOR_OPENED, E.DOOR_FORCED_OPEN]


def test_a_chattering_exit_button_is_one_request_and_acts_on_the_first_edge(
    rig: CoreRig,
) -> None:
    out = rig.feed(ci.ExitChanged("main", True))
    assert not rig.locked["main"] and E.EXIT_REQUEST in [
        e.type for e in out if isinstance(e, fx.Emit)
    ]
    for pressed in (False, True, False, True, False):
        rig.mono += 0.004
        rig.feed(ci.ExitChanged("main", pressed))
    rig.mono += 0.5
    for pressed in (True, False, True, False):  # the next press, bouncing too
        rig.feed(ci.ExitChanged("main", pressed))
        rig.mono += 0.002
    assert rig.types().count(E.EXIT_REQUEST) == 2


def test_beams_chattering_at_every_edge_count_one_person_in(rig: CoreRig) -> None:
    for beam, blocked in (("a", True), ("b", True), ("a", False), ("b", False)):
        for bounce in (blocked, not blocked, blocked):
            rig.feed(ci.BeamChanged("main", beam, bounce))  # type: ignore[arg-type]
            rig.mono += 0.002
        rig.advance(0.1)
    assert rig.types().count(E.OCCUPANCY_IN) == 1
    assert rig.core.occupancy.inside == 1


def test_the_fire_input_acts_at_once_and_does_not_flap(rig: CoreRig) -> None:
    for active in (True, False, True, False, True, False):
        rig.feed(ci.FireChanged(active))
        assert not rig.locked["main"]
        rig.mono += 0.05
    assert rig.types().count(E.FIRE_ALARM) == 1
    assert E.FIRE_CLEARED not in rig.types()
    rig.advance(1.0)
    assert rig.types().count(E.FIRE_CLEARED) == 1
    assert rig.locked["main"]


# --- retained state ---------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["lockdown", "out_of_service"])
def test_a_mode_change_republishes_the_door_state(rig: CoreRig, mode: str) -> None:
    rig.clear()
    rig.command(action="mode", mode=mode)
    assert str(rig.door_state().state.mode) == mode


def test_fire_staffed_and_alarms_republish_the_door_state(rig: CoreRig) -> None:
    rig.clear()
    rig.feed(ci.FireChanged(True))
    assert rig.door_state().state.fire
    rig.feed(ci.ContactChanged("main", True))
    rig.advance(0.05)
    rig.feed(ci.FireChanged(False))
    rig.advance(1.1)
    rig.advance(31)
    assert rig.door_state().state.alarm == "held_open"


# --- commands -------------------------------------------------------------------------------


def test_a_remote_lock_during_a_fire_is_rejected_with_the_reason(rig: CoreRig) -> None:
    rig.feed(ci.FireChanged(True))
    rig.command(action="lock")
    rejected = rig.last(E.COMMAND_REJECTED)
    assert "fire" in (rejected.reason or "")
    assert not rig.events(E.COMMAND_DONE)
    assert not rig.locked["main"]


def test_a_command_for_no_door_of_ours_is_the_buildings_rejection(rig: CoreRig) -> None:
    rig.door = "nowhere"
    rig.command(action="unlock", seconds=5)
    rejected = rig.last(E.COMMAND_REJECTED)
    assert rejected.door is None and rejected.details["door"] == "nowhere"


# --- readers --------------------------------------------------------------------------------


def test_a_flood_of_reader_faults_is_one_event_then_one_summary(rig: CoreRig) -> None:
    for _ in range(4096):
        rig.feed(ci.ReaderFaulted(rig.pad, "PIN pad: unexpected key '\\x00'"))
    assert len(rig.events(E.READER_ERROR)) == 1
    rig.advance(FAULT_INTERVAL_S)
    errors = rig.events(E.READER_ERROR)
    assert len(errors) == 2
    assert errors[-1].details["errors"] == 4096 and errors[-1].details["repeats"] == 4095
    rig.advance(FAULT_INTERVAL_S)
    assert len(rig.events(E.READER_ERROR)) == 2  # a quiet interval says nothing


def test_a_reader_missing_at_start_is_reported_offline(rig: CoreRig) -> None:
    rig.feed(ci.ReaderStatus(rig.reader, False, "cannot open /dev/ttyUSB0"))
    assert rig.last(E.READER_OFFLINE).reason == "cannot open /dev/ttyUSB0"
    rig.feed(ci.ReaderStatus(rig.pad, True))
    assert E.READER_ONLINE not in rig.types()  # present at start: no news


# --- occupancy ------------------------------------------------------------------------------


def test_every_count_change_is_saved_and_the_count_starts_where_it_was() -> None:
    rig = CoreRig.build()
    for beam, blocked in (("a", True), ("b", True), ("a", False), ("b", False)):
        rig.feed(ci.BeamChanged("main", beam, blocked))  # type: ignore[arg-type]
        rig.advance(0.1)
    assert fx.SaveOccupancy(1) in rig.effects
    assert CoreRig.build().core.occupancy.inside == 0


def test_staffed_hours_decide_without_a_lookup() -> None:
    rig = CoreRig.build(start=datetime(2026, 11, 25, 11, 0, tzinfo=CPH))
    rig.card()
    assert not [e for e in rig.effects if isinstance(e, (fx.StartLookup, fx.PrepareLookup))]
    assert rig.last(E.ACCESS_GRANTED).reason == str(Reason.STAFFED)


def test_a_change_that_held_long_enough_counts_even_when_the_tick_came_late(
    rig: CoreRig,
) -> None:
    # opened for 50 ms (beyond the 30 ms settle time), and no tick in between: a busy machine
    rig.swipe()
    rig.feed(ci.ContactChanged("main", True))
    rig.mono += 0.05
    rig.feed(ci.ContactChanged("main", False))
    rig.advance(0.05)
    assert rig.types()[-3:] == [E.DOOR_OPENED, E.DOOR_CLOSED, E.DOOR_LOCKED]
    assert rig.locked["main"]
