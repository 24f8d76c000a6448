"""The building's sequence plan: what happens when, around each opening change. Pure.

A site configures, per kind of opening change (the building opens, staff arrive, staff leave, the
building closes), a list of steps with offsets in minutes before (negative) or after the change:
announce a message, switch lights or equipment, stop admitting, arm or disarm the intruder alarm.
:func:`plan` turns the schedule and those rules into the steps of a window of real time.

Offsets are real minutes from the change's instant, never wall-clock arithmetic, so "15 minutes
before 22:00" is 15 minutes before the first instant the clock reads 22:00, also on the nights
daylight saving time changes; exception days (24 December closing at 12:00) move the steps with
the change, since the schedule decides the change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from services.core.schedule import OpeningState, Schedule


class Change(StrEnum):
    """A kind of opening change the sequences are written for."""

    OPENS = "opens"  # closed -> self-service or staffed
    STAFF_ARRIVE = "staff_arrive"  # self-service -> staffed
    STAFF_LEAVE = "staff_leave"  # staffed -> self-service
    CLOSES = "closes"  # self-service or staffed -> closed


class Action(StrEnum):
    """What a step does."""

    ANNOUNCE = "announce"  # target: the message
    LIGHTS_ON = "lights_on"  # target: a zone, or "*" for every zone
    LIGHTS_OFF = "lights_off"
    EQUIPMENT_ON = "equipment_on"  # target: an equipment group, or "*"
    EQUIPMENT_OFF = "equipment_off"
    STOP_ADMITTING = "stop_admitting"  # the last-entry rule; exits always work
    ARM = "arm"  # the intruder alarm, only over an empty building (the sweep)
    DISARM = "disarm"


EVERY = "*"
FEEDBACK_TIMEOUT_S = 60.0  # the panel confirms an arm or disarm by then, or it is an alarm
SWEEP_RETRY_S = 300.0  # people inside after closing: asked again (and announced) this often
STALE_AFTER_S = 120.0  # an announcement found later than this (after a restart) is not played


@dataclass(frozen=True, slots=True)
class StepRule:
    """One step of a sequence: ``action`` on ``target`` at ``offset_min`` from the change."""

    offset_min: int
    action: Action
    target: str = ""


@dataclass(frozen=True, slots=True)
class SequenceRules:
    """The steps for each kind of change (``[building.sequences]``, whose defaults are these).

    The defaults: announcements 15, 10 and 5 minutes before closing, public PCs off at 15, the
    last entry at 10, and once the building is empty after closing the lights off and the alarm
    armed; at opening the alarm disarmed, lights and equipment on 10 minutes before.
    """

    opens: tuple[StepRule, ...] = (
        StepRule(-10, Action.DISARM),
        StepRule(-10, Action.LIGHTS_ON, EVERY),
        StepRule(-10, Action.EQUIPMENT_ON, EVERY),
    )
    staff_arrive: tuple[StepRule, ...] = ()
    staff_leave: tuple[StepRule, ...] = ()
    closes: tuple[StepRule, ...] = (
        StepRule(-15, Action.ANNOUNCE, "closing_15"),
        StepRule(-15, Action.EQUIPMENT_OFF, "public_pcs"),
        StepRule(-10, Action.ANNOUNCE, "closing_10"),
        StepRule(-10, Action.STOP_ADMITTING),
        StepRule(-5, Action.ANNOUNCE, "closing_5"),
        StepRule(0, Action.ANNOUNCE, "closed"),
        StepRule(0, Action.LIGHTS_OFF, EVERY),
        StepRule(0, Action.EQUIPMENT_OFF, EVERY),
        StepRule(0, Action.ARM),
    )

    def for_change(self, change: Change) -> tuple[StepRule, ...]:
        """The steps of ``change``, earliest first (stable for equal offsets)."""
        steps: Sequence[StepRule] = getattr(self, change.value)
        return tuple(sorted(steps, key=lambda s: s.offset_min))


@dataclass(frozen=True, slots=True)
class PlannedStep:
    """One step at its instant, with the change it belongs to.

    ``key`` names it uniquely and stably (the change's instant, the change and the step's index),
    so a controller can remember which steps it has done across a restart.
    """

    at: datetime
    change: Change
    change_at: datetime
    index: int
    rule: StepRule = field(compare=False)

    @property
    def key(self) -> str:
        """A stable name: ``2026-12-24T11:00:00+00:00/closes/3``."""
        return f"{self.change_at.isoformat()}/{self.change.value}/{self.index}"

    @property
    def after_sweep(self) -> bool:
        """Whether the step waits for an empty building: what a closing does after it closes."""
        return (
            self.change is Change.CLOSES
            and self.rule.offset_min >= 0
            and (self.rule.action is not Action.ANNOUNCE)
        )


def change_of(before: OpeningState, after: OpeningState) -> Change:
    """The kind of change from ``before`` to ``after`` (they differ)."""
    if after is OpeningState.CLOSED:
        return Change.CLOSES
    if before is OpeningState.CLOSED:
        return Change.OPENS
    return Change.STAFF_ARRIVE if after is OpeningState.STAFFED else Change.STAFF_LEAVE


def changes(schedule: Schedule, start: datetime, end: datetime) -> list[tuple[datetime, Change]]:
    """Every opening change in (start, end], with its kind, in time order."""
    found: list[tuple[datetime, Change]] = []
    at = start
    while True:
        opening = schedule.at(at)
        if opening.until is None or opening.next_state is None or opening.until > end:
            return found
        found.append((opening.until, change_of(opening.state, opening.next_state)))
        at = opening.until


def lead(rules: SequenceRules) -> timedelta:
    """How long before a change its first step can come (so a window is searched wide enough)."""
    offsets = [s.offset_min for c in Change for s in rules.for_change(c)]
    return timedelta(minutes=max(0, -min(offsets, default=0)))


def lag(rules: SequenceRules) -> timedelta:
    """How long after a change its last step can come."""
    offsets = [s.offset_min for c in Change for s in rules.for_change(c)]
    return timedelta(minutes=max(0, max(offsets, default=0)))


def plan(
    schedule: Schedule, rules: SequenceRules, start: datetime, end: datetime
) -> list[PlannedStep]:
    """Every step planned in [start, end), by instant (a change's own order for equal ones)."""
    steps: list[PlannedStep] = []
    for change_at, change in changes(schedule, start - lag(rules), end + lead(rules)):
        for index, rule in enumerate(rules.for_change(change)):
            # Real minutes: wall-clock arithmetic would be an hour off on a DST night.
            at = (change_at.astimezone(UTC) + timedelta(minutes=rule.offset_min)).astimezone(
                change_at.tzinfo
            )
            if start <= at < end:
                steps.append(PlannedStep(at, change, change_at, index, rule))
    steps.sort(key=lambda s: (s.at, s.change_at, s.index))
    return steps
