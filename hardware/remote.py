"""What a validated staff command does to a door. Pure: the machine and the time come in.

The command's *validity* (JSON, types, age, replay) is :mod:`services.core.commands`; this module
decides what an accepted command changes and whether the door could do it, so the controller only
applies the step and reports the outcome.
"""

from __future__ import annotations

from dataclasses import dataclass

from hardware.door import DoorMachine, Step
from services.core.access import DoorMode
from services.core.commands import Command
from services.core.events import EventType


@dataclass(frozen=True, slots=True)
class RemoteResult:
    """The door's answer to a command: the step to apply, and done or why not."""

    step: Step
    done: bool
    problem: str | None = None
    mode_event: EventType | None = None  # lockdown started / ended, when the mode crossed it


def apply_command(machine: DoorMachine, cmd: Command, now: float) -> RemoteResult:
    """Carry ``cmd`` out on ``machine`` at ``now``.

    ``unlock`` holds the door open for its seconds; ``pulse`` lets one person through, like a
    grant (it relocks when the door closes); both are refused while the mode forbids them.
    """
    before = machine.state.mode
    if cmd.action == "unlock":
        step = machine.unlock_for(cmd.seconds or machine.unlock_seconds, now)
    elif cmd.action == "pulse":
        step = machine.grant(now)
    elif cmd.action == "lock":
        step = machine.lock(now)
        if machine.state.fire:
            # The lock is refused by life safety: saying "done" would tell staff a door is
            # locked that stands open.
            return RemoteResult(step, done=False, problem="fire alarm: the door stays unlocked")
        return RemoteResult(step, done=True)
    else:
        assert cmd.mode is not None  # parse_command guarantees a mode for action "mode"
        step = machine.set_mode(cmd.mode, now)
        return RemoteResult(step, done=True, mode_event=_mode_event(before, cmd.mode))
    if step.locked:
        return RemoteResult(step, done=False, problem=f"door is in {before}")
    return RemoteResult(step, done=True)


def _mode_event(before: DoorMode, after: DoorMode) -> EventType | None:
    if after is DoorMode.LOCKDOWN and before is not DoorMode.LOCKDOWN:
        return EventType.LOCKDOWN_STARTED
    if before is DoorMode.LOCKDOWN and after is not DoorMode.LOCKDOWN:
        return EventType.LOCKDOWN_ENDED
    return None
