"""Alarm derivation: which events and states raise and clear which alarms (pure)."""

from __future__ import annotations

from datetime import timedelta

from services.core.alarms import (
    AlarmKind,
    Clear,
    Raise,
    Severity,
    from_event,
    from_state,
)
from services.core.events import EventType
from tests.services.recorder.conftest import T0, event

NOW = T0 + timedelta(minutes=5)


def test_held_open_raises_a_warning_and_door_closed_clears_it() -> None:
    held = event(EventType.DOOR_HELD_OPEN, seconds=31.2)
    [raised] = from_event(held, set())
    assert isinstance(raised, Raise)
    assert (raised.kind, raised.source, raised.severity) == (
        AlarmKind.HELD_OPEN,
        "main",
        Severity.WARNING,
    )
    assert raised.event_id == held.id and raised.at == held.ts and "31 s" in raised.message
    closed = event(EventType.DOOR_CLOSED, ts=NOW)
    assert from_event(closed, {(AlarmKind.HELD_OPEN, "main")}) == [
        Clear(AlarmKind.HELD_OPEN, "main", NOW)
    ]


def test_forced_open_is_critical_and_cleared_by_closing_that_door_only() -> None:
    [raised] = from_event(event(EventType.DOOR_FORCED_OPEN, "basement"), set())
    assert isinstance(raised, Raise) and raised.severity is Severity.CRITICAL
    open_keys = {(AlarmKind.FORCED_OPEN, "basement")}
    assert from_event(event(EventType.DOOR_CLOSED, "main"), open_keys) == []
    assert from_event(event(EventType.DOOR_CLOSED, "basement"), open_keys) == [
        Clear(AlarmKind.FORCED_OPEN, "basement", T0)
    ]


def test_an_alarm_already_open_is_not_raised_twice() -> None:
    assert from_event(event(EventType.DOOR_HELD_OPEN), {(AlarmKind.HELD_OPEN, "main")}) == []


def test_fire_alarm_is_critical_until_fire_cleared() -> None:
    [raised] = from_event(event(EventType.FIRE_ALARM, "site"), set())
    assert isinstance(raised, Raise)
    assert (raised.kind, raised.severity) == (AlarmKind.FIRE, Severity.CRITICAL)
    cleared = from_event(event(EventType.FIRE_CLEARED, "site", NOW), {(AlarmKind.FIRE, "site")})
    assert cleared == [Clear(AlarmKind.FIRE, "site", NOW)]


def test_people_inside_at_closing_raise_until_the_next_opening() -> None:
    reset = event(EventType.OCCUPANCY_RESET, "site", inside_at_closing=2)
    [raised] = from_event(reset, set())
    assert isinstance(raised, Raise) and raised.kind is AlarmKind.INSIDE_AFTER_CLOSING
    assert raised.severity is Severity.CRITICAL and raised.message.startswith("2 ")
    assert from_event(event(EventType.OCCUPANCY_RESET, "site", inside_at_closing=0), set()) == []
    keys = {(AlarmKind.INSIDE_AFTER_CLOSING, "site")}
    assert from_event(event(EventType.OPENING_CHANGED, "site", reason="closed"), keys) == []
    opened = event(EventType.OPENING_CHANGED, "site", NOW, reason="self-service")
    assert from_event(opened, keys) == [Clear(AlarmKind.INSIDE_AFTER_CLOSING, "site", NOW)]


def test_reader_offline_and_online_are_per_reader() -> None:
    off = event(EventType.READER_OFFLINE, reason="unplugged", reader="main.0.em4100")
    [raised] = from_event(off, set())
    assert isinstance(raised, Raise)
    assert (raised.kind, raised.source) == (AlarmKind.READER_OFFLINE, "main.0.em4100")
    keys = {(AlarmKind.READER_OFFLINE, "main.0.em4100")}
    assert from_event(event(EventType.READER_ONLINE, reader="main.1.barcode"), keys) == []
    assert from_event(event(EventType.READER_ONLINE, reader="main.0.em4100"), keys) == [
        Clear(AlarmKind.READER_OFFLINE, "main.0.em4100", T0)
    ]


def test_a_reader_attack_raises_once_but_every_blocked_card_raises_its_own() -> None:
    attack = event(EventType.READER_ATTACK, reader="main.2.pinpad", cards=5)
    [raised] = from_event(attack, set())
    assert isinstance(raised, Raise) and raised.kind is AlarmKind.PIN_ATTACK
    assert from_event(attack, {(AlarmKind.PIN_ATTACK, "main.2.pinpad")}) == []
    blocked = event(EventType.PIN_BLOCKED, credential="p:aa", failures_24h=10)
    keys = {(AlarmKind.PIN_BLOCKED, "main")}
    [again] = from_event(blocked, keys)
    assert isinstance(again, Raise) and again.kind is AlarmKind.PIN_BLOCKED
    assert "p:aa" not in again.message  # the alarm names the door, not the card


def test_events_without_a_rule_do_nothing() -> None:
    assert from_event(event(EventType.ACCESS_GRANTED), set()) == []


def test_a_door_controller_offline_is_critical_other_components_a_warning() -> None:
    [door] = from_state("status/door", {"status": "offline"}, set(), NOW)
    [kiosk] = from_state("status/kiosk-1", {"status": "offline"}, set(), NOW)
    assert isinstance(door, Raise) and isinstance(kiosk, Raise)
    assert (door.kind, door.source, door.severity, door.at) == (
        AlarmKind.OFFLINE,
        "door",
        Severity.CRITICAL,
        NOW,
    )
    assert kiosk.severity is Severity.WARNING
    [pi] = from_state("status/door-entrance", {"status": "offline"}, set(), NOW)
    assert isinstance(pi, Raise) and pi.severity is Severity.CRITICAL
    assert "door-entrance" in pi.message
    assert from_state("status/sim", {"status": "offline"}, set(), NOW) == []  # done, not down
    keys = {(AlarmKind.OFFLINE, "door")}
    assert from_state("status/door", {"status": "offline"}, keys, NOW) == []
    assert from_state("status/door", {"status": "online"}, keys, NOW) == [
        Clear(AlarmKind.OFFLINE, "door", NOW)
    ]


def test_a_closed_door_state_clears_door_and_reader_alarms_it_reports_as_fine() -> None:
    keys = {
        (AlarmKind.HELD_OPEN, "main"),
        (AlarmKind.READER_OFFLINE, "main.0.em4100"),
        (AlarmKind.READER_OFFLINE, "main.1.barcode"),
    }
    state = {
        "lock": "locked",
        "contact": "closed",
        "alarm": None,
        "readers": {"main.0.em4100": "online", "main.1.barcode": "offline"},
    }
    assert from_state("door/main", state, keys, NOW) == [
        Clear(AlarmKind.HELD_OPEN, "main", NOW),
        Clear(AlarmKind.READER_OFFLINE, "main.0.em4100", NOW),
    ]


def test_a_door_state_never_raises_an_alarm_itself() -> None:
    state = {"contact": "open", "alarm": "held_open", "readers": {"main.0.em4100": "offline"}}
    assert from_state("door/main", state, set(), NOW) == []
    assert from_state("opening", {"state": "closed"}, set(), NOW) == []
