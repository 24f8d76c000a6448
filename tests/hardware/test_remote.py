"""Staff commands on the door machine: what each does, and when the door must refuse."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from hardware.door import DoorMachine
from hardware.remote import apply_command
from services.core.access import DoorMode
from services.core.commands import Command
from services.core.events import EventType


def cmd(action: str, *, seconds: float | None = None, mode: DoorMode | None = None) -> Command:
    return Command(
        id=str(uuid.uuid4()),
        ts=datetime.now(UTC),
        door="main",
        action=action,  # type: ignore[arg-type]
        by="staff",
        reason="test",
        seconds=seconds,
        mode=mode,
    )


def machine() -> DoorMachine:
    return DoorMachine("main", unlock_seconds=5, held_open_seconds=30)


def test_unlock_holds_the_door_open_for_its_seconds() -> None:
    door = machine()
    result = apply_command(door, cmd("unlock", seconds=60), now=0)
    assert result.done and not result.step.locked
    assert door.tick(59).locked is False
    assert door.tick(60.1).locked is True


def test_pulse_lets_one_person_through_and_relocks_when_the_door_closes() -> None:
    door = machine()
    assert apply_command(door, cmd("pulse"), now=0).done
    door.contact(True, 1)
    assert door.contact(False, 2).locked is True


def test_unlock_in_lockdown_is_refused_with_the_mode() -> None:
    door = machine()
    apply_command(door, cmd("mode", mode=DoorMode.LOCKDOWN), now=0)
    result = apply_command(door, cmd("unlock", seconds=30), now=1)
    assert not result.done and result.step.locked
    assert result.problem == "door is in lockdown"


def test_pulse_out_of_service_is_refused() -> None:
    door = machine()
    apply_command(door, cmd("mode", mode=DoorMode.OUT_OF_SERVICE), now=0)
    assert apply_command(door, cmd("pulse"), now=1).problem == "door is in out_of_service"


def test_lockdown_events_only_when_the_mode_crosses_lockdown() -> None:
    door = machine()
    start = apply_command(door, cmd("mode", mode=DoorMode.LOCKDOWN), now=0)
    assert start.mode_event is EventType.LOCKDOWN_STARTED
    again = apply_command(door, cmd("mode", mode=DoorMode.LOCKDOWN), now=1)
    assert again.mode_event is None
    to_oos = apply_command(door, cmd("mode", mode=DoorMode.OUT_OF_SERVICE), now=2)
    assert to_oos.mode_event is EventType.LOCKDOWN_ENDED
    back = apply_command(door, cmd("mode", mode=DoorMode.NORMAL), now=3)
    assert back.mode_event is None


def test_lock_ends_a_remote_unlock() -> None:
    door = machine()
    apply_command(door, cmd("unlock", seconds=600), now=0)
    assert apply_command(door, cmd("lock"), now=1).step.locked
