"""The door state machine, rule by rule, on an explicit monotonic clock."""

from __future__ import annotations

import random

import pytest

from hardware.door import DoorEvent, DoorMachine, Step, UnlockCause
from services.core.access import DoorMode
from services.core.events import EventType as E

UNLOCK = 5.0
HELD = 30.0


@pytest.fixture
def door() -> DoorMachine:
    """A locked, closed door in normal mode: 5 s unlock, 30 s held-open."""
    return DoorMachine("main", unlock_seconds=UNLOCK, held_open_seconds=HELD)


def types(step: Step) -> list[E]:
    """The event types of a step, in order."""
    return [e.type for e in step.events]


def only(step: Step, etype: E) -> DoorEvent:
    """The single event of ``etype`` in a step."""
    found = [e for e in step.events if e.type is etype]
    assert len(found) == 1, step.events
    return found[0]


def walk_through(door: DoorMachine, at: float, seconds: float = 2.0) -> Step:
    """Open the door at ``at`` and close it ``seconds`` later; the step of the close."""
    door.contact(True, at)
    return door.contact(False, at + seconds)


# --- initial state and construction -------------------------------------------------------


def test_starts_locked_closed_normal_without_alarm(door: DoorMachine) -> None:
    s = door.state
    assert (s.locked, s.open, s.mode, s.fire, s.alarm, s.staffed) == (
        True,
        False,
        DoorMode.NORMAL,
        False,
        None,
        False,
    )


@pytest.mark.parametrize(("unlock", "held"), [(0, 30), (5, 0), (-1, 30)])
def test_rejects_non_positive_times(unlock: float, held: float) -> None:
    with pytest.raises(ValueError, match="door x"):
        DoorMachine("x", unlock, held)


def test_tick_on_an_idle_door_does_nothing(door: DoorMachine) -> None:
    assert door.tick(100.0) == Step(locked=True, events=(), deadline=None)


# --- grant and the unlock window ----------------------------------------------------------


def test_grant_unlocks_with_reason_granted_and_a_deadline(door: DoorMachine) -> None:
    step = door.grant(10.0)
    assert step.locked is False
    assert only(step, E.DOOR_UNLOCKED).reason == UnlockCause.GRANTED
    assert step.deadline == 10.0 + UNLOCK


def test_relocks_when_the_time_runs_out_if_never_opened(door: DoorMachine) -> None:
    door.grant(10.0)
    assert door.tick(14.9) == Step(locked=False, events=(), deadline=15.0)
    step = door.tick(15.0)
    assert step.locked is True
    assert types(step) == [E.DOOR_LOCKED]
    assert step.deadline is None


def test_relocks_as_soon_as_the_door_closes_after_opening(door: DoorMachine) -> None:
    door.grant(10.0)
    opened = door.contact(True, 11.0)
    assert types(opened) == [E.DOOR_OPENED]
    assert opened.locked is False
    closed = door.contact(False, 12.0)
    assert types(closed) == [E.DOOR_CLOSED, E.DOOR_LOCKED]
    assert closed.locked is True


def test_does_not_relock_while_open_after_the_time_runs_out(door: DoorMachine) -> None:
    door.grant(10.0)
    door.contact(True, 11.0)
    step = door.tick(20.0)
    assert step.locked is False
    assert types(step) == []
    assert types(door.contact(False, 25.0)) == [E.DOOR_CLOSED, E.DOOR_LOCKED]


def test_a_second_grant_extends_the_window(door: DoorMachine) -> None:
    door.grant(10.0)
    step = door.grant(13.0)
    assert types(step) == []
    assert step.deadline == 13.0 + UNLOCK
    assert door.tick(15.0).locked is False
    assert door.tick(18.0).locked is True


def test_a_grant_while_open_survives_the_close(door: DoorMachine) -> None:
    # The next patron swiped while the door still stood open: they get their own window.
    door.grant(10.0)
    door.contact(True, 11.0)
    door.grant(12.0)
    closed = door.contact(False, 13.0)
    assert closed.locked is False
    assert closed.deadline == 12.0 + UNLOCK
    assert door.tick(17.0).locked is True


def test_a_grant_window_after_a_walk_through_needs_a_new_grant(door: DoorMachine) -> None:
    door.grant(10.0)
    walk_through(door, 11.0)
    forced = door.contact(True, 14.0)
    assert E.DOOR_FORCED_OPEN in types(forced)


# --- exit requests ------------------------------------------------------------------------


def test_exit_request_unlocks_with_reason_exit(door: DoorMachine) -> None:
    step = door.exit_request(0.0)
    assert step.locked is False
    assert only(step, E.DOOR_UNLOCKED).reason == "exit"
    assert door.tick(UNLOCK).locked is True


def test_exit_then_opened_is_not_forced(door: DoorMachine) -> None:
    door.exit_request(0.0)
    assert types(door.contact(True, 1.0)) == [E.DOOR_OPENED]
    assert door.state.alarm is None


def test_exit_then_opened_after_the_window_is_forced(door: DoorMachine) -> None:
    door.exit_request(0.0)
    door.tick(UNLOCK)
    step = door.contact(True, UNLOCK + 1)
    assert types(step) == [E.DOOR_OPENED, E.DOOR_FORCED_OPEN]
    assert door.state.alarm == "forced_open"


def test_exit_walk_through_then_reopened_is_forced(door: DoorMachine) -> None:
    door.exit_request(0.0)
    walk_through(door, 1.0)
    assert E.DOOR_FORCED_OPEN in types(door.contact(True, 3.5))


# --- forced open --------------------------------------------------------------------------


def test_forced_open_when_opened_while_locked(door: DoorMachine) -> None:
    step = door.contact(True, 50.0)
    assert types(step) == [E.DOOR_OPENED, E.DOOR_FORCED_OPEN]
    assert step.locked is True
    assert door.state.alarm == "forced_open"
    assert door.state.open is True


def test_forced_open_alarm_clears_on_close(door: DoorMachine) -> None:
    door.contact(True, 50.0)
    assert types(door.contact(False, 51.0)) == [E.DOOR_CLOSED]
    assert door.state.alarm is None


def test_forced_open_door_does_not_add_a_held_open_alarm(door: DoorMachine) -> None:
    assert door.contact(True, 0.0).deadline is None
    assert types(door.tick(HELD + 10)) == []
    assert door.state.alarm == "forced_open"


def test_repeated_contact_reports_are_ignored(door: DoorMachine) -> None:
    door.grant(0.0)
    door.contact(True, 1.0)
    assert types(door.contact(True, 1.1)) == []
    assert types(door.contact(False, 2.0)) == [E.DOOR_CLOSED, E.DOOR_LOCKED]
    assert types(door.contact(False, 2.1)) == []


# --- held open ----------------------------------------------------------------------------


def test_held_open_alarm_after_30_seconds(door: DoorMachine) -> None:
    door.grant(0.0)
    opened = door.contact(True, 1.0)
    assert opened.deadline == 1.0 + HELD
    assert types(door.tick(30.9)) == []
    step = door.tick(31.0)
    assert types(step) == [E.DOOR_HELD_OPEN]
    assert only(step, E.DOOR_HELD_OPEN).details == {"seconds": HELD}
    assert door.state.alarm == "held_open"
    assert step.deadline is None


def test_held_open_alarm_is_raised_once(door: DoorMachine) -> None:
    door.grant(0.0)
    door.contact(True, 1.0)
    door.tick(31.0)
    assert types(door.tick(40.0)) == []
    assert types(door.tick(400.0)) == []


def test_held_open_then_close_clears_alarm_and_locks(door: DoorMachine) -> None:
    door.grant(0.0)
    door.contact(True, 1.0)
    door.tick(31.0)
    step = door.contact(False, 45.0)
    assert types(step) == [E.DOOR_CLOSED, E.DOOR_LOCKED]
    assert door.state.alarm is None
    assert door.state.locked is True


def test_held_open_alarm_again_on_the_next_opening(door: DoorMachine) -> None:
    door.grant(0.0)
    door.contact(True, 1.0)
    door.tick(31.0)
    door.contact(False, 32.0)
    door.grant(40.0)
    door.contact(True, 41.0)
    assert types(door.tick(71.0)) == [E.DOOR_HELD_OPEN]


def test_closing_before_30_seconds_raises_nothing(door: DoorMachine) -> None:
    door.grant(0.0)
    door.contact(True, 1.0)
    step = door.contact(False, 30.0)
    assert E.DOOR_HELD_OPEN not in types(step)
    assert step.deadline is None


# --- fire ---------------------------------------------------------------------------------


def test_fire_unlocks_and_keeps_unlocked_until_it_clears(door: DoorMachine) -> None:
    step = door.fire(True, 0.0)
    assert only(step, E.DOOR_UNLOCKED).reason == "fire_alarm"
    assert step.deadline is None
    assert door.tick(3600.0).locked is False
    cleared = door.fire(False, 3601.0)
    assert types(cleared) == [E.DOOR_LOCKED]


def test_fire_emits_only_lock_events_the_controller_owns_fire_events(door: DoorMachine) -> None:
    assert E.FIRE_ALARM not in types(door.fire(True, 0.0))
    assert E.FIRE_CLEARED not in types(door.fire(False, 1.0))


def test_fire_door_standing_open_raises_no_alarms(door: DoorMachine) -> None:
    door.fire(True, 0.0)
    assert types(door.contact(True, 1.0)) == [E.DOOR_OPENED]
    assert types(door.tick(1000.0)) == []
    assert door.state.alarm is None


def test_fire_cleared_while_open_locks_on_close_and_supervises_from_clearing(
    door: DoorMachine,
) -> None:
    door.fire(True, 0.0)
    door.contact(True, 1.0)
    cleared = door.fire(False, 100.0)
    assert cleared.locked is False
    assert cleared.deadline == 100.0 + HELD
    assert types(door.tick(130.0)) == [E.DOOR_HELD_OPEN]
    assert types(door.contact(False, 131.0)) == [E.DOOR_CLOSED, E.DOOR_LOCKED]


def test_fire_during_lockdown_unlocks(door: DoorMachine) -> None:
    door.set_mode(DoorMode.LOCKDOWN, 0.0)
    step = door.fire(True, 1.0)
    assert step.locked is False
    assert only(step, E.DOOR_UNLOCKED).reason == "fire_alarm"
    assert door.fire(False, 2.0).locked is True


def test_grant_during_fire_changes_nothing_and_relocks_when_fire_clears(
    door: DoorMachine,
) -> None:
    door.fire(True, 0.0)
    assert door.grant(1.0) == Step(locked=False, events=(), deadline=None)
    assert types(door.fire(False, 2.0)) == [E.DOOR_LOCKED]


def test_remote_lock_cannot_override_fire(door: DoorMachine) -> None:
    door.fire(True, 0.0)
    assert door.lock(1.0).locked is False


def test_fire_opens_a_forced_door_without_new_alarm(door: DoorMachine) -> None:
    door.contact(True, 0.0)
    step = door.fire(True, 1.0)
    assert types(step) == [E.DOOR_UNLOCKED]
    assert door.state.alarm == "forced_open"


# --- lockdown -----------------------------------------------------------------------------


def test_lockdown_ignores_grants_exit_requests_and_remote_unlocks(door: DoorMachine) -> None:
    door.set_mode(DoorMode.LOCKDOWN, 0.0)
    for step in (door.grant(1.0), door.exit_request(2.0), door.unlock_for(60, 3.0)):
        assert step == Step(locked=True, events=(), deadline=None)


def test_lockdown_ends_a_grant_window_at_once(door: DoorMachine) -> None:
    door.grant(0.0)
    step = door.set_mode(DoorMode.LOCKDOWN, 1.0)
    assert types(step) == [E.DOOR_LOCKED]
    assert step.deadline is None


def test_lockdown_with_the_door_open_locks_when_it_closes(door: DoorMachine) -> None:
    door.grant(0.0)
    door.contact(True, 1.0)
    assert door.set_mode(DoorMode.LOCKDOWN, 2.0).locked is False
    assert types(door.contact(False, 3.0)) == [E.DOOR_CLOSED, E.DOOR_LOCKED]
    assert door.grant(4.0).locked is True


def test_lockdown_ends_a_remote_hold(door: DoorMachine) -> None:
    door.unlock_for(600, 0.0)
    door.set_mode(DoorMode.LOCKDOWN, 1.0)
    door.set_mode(DoorMode.NORMAL, 2.0)
    assert door.tick(3.0).locked is True


def test_staffed_with_lockdown_stays_locked(door: DoorMachine) -> None:
    door.set_mode(DoorMode.LOCKDOWN, 0.0)
    assert door.set_staffed(True, 1.0) == Step(locked=True, events=(), deadline=None)
    assert door.state.staffed is True


def test_lockdown_during_staffed_hours_locks_and_ending_it_unlocks_again(
    door: DoorMachine,
) -> None:
    door.set_staffed(True, 0.0)
    assert types(door.set_mode(DoorMode.LOCKDOWN, 1.0)) == [E.DOOR_LOCKED]
    step = door.set_mode(DoorMode.NORMAL, 2.0)
    assert only(step, E.DOOR_UNLOCKED).reason == "staffed"


def test_fire_clearing_during_lockdown_locks(door: DoorMachine) -> None:
    door.fire(True, 0.0)
    door.set_mode(DoorMode.LOCKDOWN, 1.0)
    assert door.state.locked is False
    assert types(door.fire(False, 2.0)) == [E.DOOR_LOCKED]
    assert door.state.mode is DoorMode.LOCKDOWN


# --- out of service -----------------------------------------------------------------------


def test_out_of_service_ignores_grants(door: DoorMachine) -> None:
    door.set_mode(DoorMode.OUT_OF_SERVICE, 0.0)
    assert door.grant(1.0) == Step(locked=True, events=(), deadline=None)


def test_out_of_service_allows_exit(door: DoorMachine) -> None:
    door.set_mode(DoorMode.OUT_OF_SERVICE, 0.0)
    step = door.exit_request(1.0)
    assert only(step, E.DOOR_UNLOCKED).reason == "exit"
    assert door.tick(1.0 + UNLOCK).locked is True


def test_out_of_service_does_not_stand_open_in_staffed_hours(door: DoorMachine) -> None:
    door.set_staffed(True, 0.0)
    assert types(door.set_mode(DoorMode.OUT_OF_SERVICE, 1.0)) == [E.DOOR_LOCKED]


def test_out_of_service_still_obeys_a_remote_unlock(door: DoorMachine) -> None:
    door.set_mode(DoorMode.OUT_OF_SERVICE, 0.0)
    assert only(door.unlock_for(10, 1.0), E.DOOR_UNLOCKED).reason == "remote"


# --- staffed hours ------------------------------------------------------------------------


def test_staffed_unlocks_until_staffed_ends(door: DoorMachine) -> None:
    step = door.set_staffed(True, 0.0)
    assert only(step, E.DOOR_UNLOCKED).reason == "staffed"
    assert step.deadline is None
    assert door.tick(8 * 3600.0).locked is False
    assert types(door.set_staffed(False, 8 * 3600.0)) == [E.DOOR_LOCKED]


def test_staffed_door_standing_open_raises_no_held_open(door: DoorMachine) -> None:
    door.set_staffed(True, 0.0)
    door.contact(True, 10.0)
    assert types(door.tick(1000.0)) == []


def test_staffed_ending_with_the_door_open_supervises_from_then(door: DoorMachine) -> None:
    door.set_staffed(True, 0.0)
    door.contact(True, 10.0)
    ended = door.set_staffed(False, 1000.0)
    assert ended.locked is False
    assert ended.deadline == 1000.0 + HELD
    assert types(door.tick(1000.0 + HELD)) == [E.DOOR_HELD_OPEN]
    assert types(door.contact(False, 1040.0)) == [E.DOOR_CLOSED, E.DOOR_LOCKED]


def test_grant_in_staffed_hours_changes_nothing(door: DoorMachine) -> None:
    door.set_staffed(True, 0.0)
    assert door.grant(1.0) == Step(locked=False, events=(), deadline=None)
    assert types(door.set_staffed(False, 2.0)) == [E.DOOR_LOCKED]


def test_repeated_staffed_reports_change_nothing(door: DoorMachine) -> None:
    door.set_staffed(True, 0.0)
    assert types(door.set_staffed(True, 1.0)) == []


# --- remote commands ----------------------------------------------------------------------


def test_remote_unlock_holds_for_its_time_across_openings(door: DoorMachine) -> None:
    step = door.unlock_for(600, 0.0)
    assert only(step, E.DOOR_UNLOCKED).reason == "remote"
    assert step.deadline == 600.0
    assert walk_through(door, 10.0).locked is False
    assert types(door.tick(600.0)) == [E.DOOR_LOCKED]


def test_remote_unlock_raises_no_held_open(door: DoorMachine) -> None:
    door.unlock_for(600, 0.0)
    door.contact(True, 1.0)
    assert types(door.tick(100.0)) == []
    ended = door.tick(600.0)
    assert ended.locked is False  # still open: it locks on close
    assert ended.deadline == 600.0 + HELD


def test_remote_unlock_is_not_shortened_by_a_shorter_one(door: DoorMachine) -> None:
    door.unlock_for(600, 0.0)
    assert door.unlock_for(10, 1.0).deadline == 600.0


@pytest.mark.parametrize("seconds", [0, -5])
def test_remote_unlock_for_no_time_does_nothing(door: DoorMachine, seconds: float) -> None:
    assert door.unlock_for(seconds, 0.0) == Step(locked=True)


def test_remote_lock_ends_a_hold_and_a_window(door: DoorMachine) -> None:
    door.unlock_for(600, 0.0)
    assert types(door.lock(1.0)) == [E.DOOR_LOCKED]
    door.grant(2.0)
    step = door.lock(3.0)
    assert types(step) == [E.DOOR_LOCKED]
    assert step.deadline is None


def test_remote_lock_while_open_locks_on_close(door: DoorMachine) -> None:
    door.unlock_for(600, 0.0)
    door.contact(True, 1.0)
    assert door.lock(2.0).locked is False
    assert types(door.contact(False, 3.0)) == [E.DOOR_CLOSED, E.DOOR_LOCKED]


def test_remote_lock_in_staffed_hours_holds_until_staffed_changes(door: DoorMachine) -> None:
    door.set_staffed(True, 0.0)
    assert types(door.lock(1.0)) == [E.DOOR_LOCKED]
    assert door.set_staffed(True, 2.0).locked is True
    door.set_staffed(False, 3.0)
    assert only(door.set_staffed(True, 4.0), E.DOOR_UNLOCKED).reason == "staffed"


def test_remote_unlock_after_remote_lock_in_staffed_hours(door: DoorMachine) -> None:
    door.set_staffed(True, 0.0)
    door.lock(1.0)
    door.unlock_for(60, 2.0)
    assert door.state.locked is False
    assert door.tick(62.0).locked is True


# --- tailgating ---------------------------------------------------------------------------


def test_one_grant_one_person_is_not_tailgating(door: DoorMachine) -> None:
    door.grant(0.0)
    door.contact(True, 1.0)
    assert types(door.person_entered(2.0)) == []


def test_two_people_on_one_grant_is_tailgating(door: DoorMachine) -> None:
    door.grant(0.0)
    door.contact(True, 1.0)
    door.person_entered(2.0)
    step = door.person_entered(2.5)
    assert only(step, E.DOOR_TAILGATING).details == {"granted": 1, "entered": 2}


def test_tailgating_is_reported_once_per_unlock_period(door: DoorMachine) -> None:
    door.grant(0.0)
    for t in (1.0, 1.5, 2.0):
        door.person_entered(t)
    assert types(door.person_entered(2.5)) == []


def test_two_grants_two_people_is_not_tailgating(door: DoorMachine) -> None:
    door.grant(0.0)
    door.contact(True, 1.0)
    door.grant(1.5)
    assert types(door.person_entered(2.0)) == []
    assert types(door.person_entered(3.0)) == []


def test_counter_lag_after_relock_still_counts_against_the_period(door: DoorMachine) -> None:
    door.grant(0.0)
    walk_through(door, 1.0)
    door.person_entered(3.5)  # the counter completes after the door relocked at 3.0
    assert types(door.person_entered(4.0)) == [E.DOOR_TAILGATING]


def test_a_new_grant_after_the_grace_starts_a_new_period(door: DoorMachine) -> None:
    door.grant(0.0)
    walk_through(door, 1.0)
    door.person_entered(2.5)
    door.grant(100.0)
    walk_through(door, 101.0)
    assert types(door.person_entered(102.0)) == []


def test_someone_coming_in_on_an_exit_is_tailgating(door: DoorMachine) -> None:
    door.exit_request(0.0)
    door.contact(True, 1.0)
    step = door.person_entered(2.0)
    assert only(step, E.DOOR_TAILGATING).details == {"granted": 0, "entered": 1}


def test_someone_coming_in_through_a_forced_door_is_tailgating(door: DoorMachine) -> None:
    door.contact(True, 0.0)
    assert types(door.person_entered(1.0)) == [E.DOOR_TAILGATING]
    assert types(door.person_entered(2.0)) == []


@pytest.mark.parametrize("free", ["staffed", "fire", "remote"])
def test_no_tailgating_while_the_door_stands_open_on_purpose(door: DoorMachine, free: str) -> None:
    {
        "staffed": lambda: door.set_staffed(True, 0.0),
        "fire": lambda: door.fire(True, 0.0),
        "remote": lambda: door.unlock_for(600, 0.0),
    }[free]()
    for t in (1.0, 2.0, 3.0):
        assert types(door.person_entered(t)) == []


# --- events always follow state changes ---------------------------------------------------


def test_lock_events_only_on_changes(door: DoorMachine) -> None:
    door.set_staffed(True, 0.0)
    assert types(door.fire(True, 1.0)) == []  # already unlocked
    assert types(door.fire(False, 2.0)) == []  # still staffed
    assert types(door.set_staffed(False, 3.0)) == [E.DOOR_LOCKED]


def test_state_snapshot_follows_inputs(door: DoorMachine) -> None:
    door.set_mode(DoorMode.OUT_OF_SERVICE, 0.0)
    door.set_staffed(True, 0.0)
    door.fire(True, 0.0)
    door.contact(True, 1.0)
    s = door.state
    assert (s.locked, s.open, s.mode, s.fire, s.alarm, s.staffed) == (
        False,
        True,
        DoorMode.OUT_OF_SERVICE,
        True,
        None,
        True,
    )


# --- invariants over random input sequences -----------------------------------------------


def _random_input(door: DoorMachine, rng: random.Random, now: float) -> Step:
    """One random input, as the controller could deliver it."""
    match rng.randrange(10):
        case 0:
            return door.grant(now)
        case 1:
            return door.exit_request(now)
        case 2:
            return door.contact(rng.random() < 0.5, now)
        case 3:
            return door.fire(rng.random() < 0.2, now)
        case 4:
            return door.set_mode(rng.choice(list(DoorMode)), now)
        case 5:
            return door.set_staffed(rng.random() < 0.3, now)
        case 6:
            return door.unlock_for(rng.choice([0, 3, 60]), now)
        case 7:
            return door.lock(now)
        case 8:
            return door.person_entered(now)
        case _:
            return door.tick(now)


@pytest.mark.parametrize("seed", range(20))
def test_invariants_hold_for_any_input_sequence(seed: int) -> None:
    rng = random.Random(seed)
    door = DoorMachine("main", UNLOCK, HELD)
    now = 0.0
    for _ in range(500):
        now += rng.choice([0.0, 0.1, 1.0, 4.0, 31.0])
        before = door.state
        step = _random_input(door, rng, now)
        after = door.state
        events = types(step)
        assert step.locked is after.locked
        assert (E.DOOR_LOCKED in events) == (not before.locked and after.locked)
        assert (E.DOOR_UNLOCKED in events) == (before.locked and not after.locked)
        assert (E.DOOR_OPENED in events) == (not before.open and after.open)
        assert (E.DOOR_CLOSED in events) == (before.open and not after.open)
        assert not (E.DOOR_LOCKED in events and after.open), "never locks while open"
        if after.fire:
            assert not after.locked, "fire always unlocks"
        elif after.mode is DoorMode.LOCKDOWN and not after.open:
            assert after.locked, "lockdown keeps a closed door locked"
        assert step.deadline is None or step.deadline > now
        if not after.open:
            assert after.alarm is None


def test_three_people_on_one_grant_are_reported_as_three(door: DoorMachine) -> None:
    # the alarm goes out at the second person; the period's end tells the full count
    door.grant(0.0)
    door.contact(True, 1.0)
    assert types(door.person_entered(2.0)) == []
    assert only(door.person_entered(2.5), E.DOOR_TAILGATING).details["entered"] == 2
    assert types(door.person_entered(3.0)) == []
    step = door.contact(False, 4.0)  # relocks; the counter's grace runs for unlock_seconds
    assert step.deadline == 4.0 + door.unlock_seconds  # the machine asks to be woken then
    step = door.tick(4.0 + door.unlock_seconds)
    assert only(step, E.DOOR_TAILGATING).details == {"granted": 1, "entered": 3}
