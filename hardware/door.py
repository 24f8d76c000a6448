"""The door as a pure state machine: inputs in, desired lock state and events out.

No I/O and no clock: every input carries ``now`` (monotonic seconds) and every answer carries the
``deadline`` at which :meth:`DoorMachine.tick` must be called next, so the controller only needs
one timer. The rules, in order of precedence:

1. fire unlocks and keeps unlocked until it clears, whatever the mode (life safety first);
2. lockdown keeps the door locked to grants, exit requests, remote unlocks and staffed hours;
3. a remote ``unlock_for`` holds the door unlocked for its time (also out of service);
4. staffed hours stand the door unlocked, in normal mode only (out of service admits nobody);
5. a grant (normal mode) or an exit request (normal or out of service) unlocks for
   ``unlock_seconds``; the door relocks as soon as it closes after having been opened, or when the
   time runs out if it never opened.

The door never switches to locked while it stands open; it locks when it closes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

from services.core.access import DoorMode
from services.core.events import EventType

Alarm = Literal["held_open", "forced_open"]


class UnlockCause(StrEnum):
    """Why the door unlocked; the reason of a ``door.unlocked`` event (values match Reason)."""

    FIRE_ALARM = "fire_alarm"
    REMOTE = "remote"
    STAFFED = "staffed"
    GRANTED = "granted"
    EXIT = "exit"


@dataclass(frozen=True, slots=True)
class DoorEvent:
    """Something the door did or saw; the controller stamps it with id, time and source."""

    type: EventType
    reason: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Step:
    """What to do after an input: set the lock, publish the events, call tick at the deadline."""

    locked: bool
    events: tuple[DoorEvent, ...] = ()
    deadline: float | None = None


@dataclass(frozen=True, slots=True)
class DoorState:
    """A snapshot for the retained ``door/<id>/state`` message."""

    locked: bool
    open: bool
    mode: DoorMode
    fire: bool
    alarm: Alarm | None
    staffed: bool


@dataclass(slots=True)
class _Period:
    """One unlock period for tailgating: grants against people the counter saw come in."""

    granted: int = 0
    entered: int = 0
    reported: int = 0  # the "entered" count the last tailgating event carried; 0: none yet
    ends: float | None = None  # None while unlocked; after relock a grace for the counter's lag


class DoorMachine:
    """One door's lock, contact and alarms as a state machine over monotonic time."""

    def __init__(self, door_id: str, unlock_seconds: float, held_open_seconds: float) -> None:
        if unlock_seconds <= 0 or held_open_seconds <= 0:
            raise ValueError(f"door {door_id}: unlock and held-open times must be positive")
        self.door_id = door_id
        self.unlock_seconds = unlock_seconds
        self.held_open_seconds = held_open_seconds
        self._locked = True
        self._open = False
        self._mode = DoorMode.NORMAL
        self._fire = False
        self._staffed = False
        self._staffed_suppressed = False  # a remote lock in staffed hours, until staffed changes
        self._alarm: Alarm | None = None
        self._window_until: float | None = None  # grant or exit window end
        self._window_start = 0.0
        self._window_cause = UnlockCause.GRANTED
        self._passage = False  # opened within the window: unlocked until it closes
        self._hold_until: float | None = None  # remote unlock_for
        self._opened_at = 0.0
        self._held_from: float | None = None  # when held-open supervision began; None if free
        self._period: _Period | None = None
        self._owed: list[DoorEvent] = []  # a period's closing tailgating count, not yet stepped

    @property
    def state(self) -> DoorState:
        """The current lock, contact, mode, fire, alarm and staffed flags."""
        return DoorState(
            locked=self._locked,
            open=self._open,
            mode=self._mode,
            fire=self._fire,
            alarm=self._alarm,
            staffed=self._staffed,
        )

    # --- inputs ----------------------------------------------------------------------------

    def grant(self, now: float, companions: int = 0) -> Step:
        """The access decision granted entry: unlock for ``unlock_seconds`` (normal mode only).

        ``companions`` stated at the pad pass with the card holder without a tailgating event.
        """
        if self._mode is DoorMode.NORMAL and not self._free(now):
            self._open_window(now, UnlockCause.GRANTED, companions)
        return self._settle(now, [])

    def exit_request(self, now: float) -> Step:
        """The exit button: unlock for ``unlock_seconds`` unless the door is in lockdown."""
        if self._mode is not DoorMode.LOCKDOWN and not self._free(now):
            self._open_window(now, UnlockCause.EXIT)
        return self._settle(now, [])

    def unlock_for(self, seconds: float, now: float) -> Step:
        """Remote command: stand unlocked for ``seconds`` (refused in lockdown)."""
        if self._mode is not DoorMode.LOCKDOWN and seconds > 0:
            self._hold_until = max(self._hold_until or now, now + seconds)
        return self._settle(now, [])

    def lock(self, now: float) -> Step:
        """Remote command: end any window or hold, and staffed standing-open until it next changes.

        A fire alarm still keeps the door unlocked; an open door locks when it closes.
        """
        self._window_until = None
        self._passage = False
        self._hold_until = None
        if self._staffed:
            self._staffed_suppressed = True
        return self._settle(now, [])

    def contact(self, opened: bool, now: float) -> Step:
        """The door contact changed: opened or closed."""
        events: list[DoorEvent] = []
        if opened == self._open:
            return self._settle(now, events)
        self._open = opened
        if opened:
            self._opened_at = now
            self._held_from = None
            events.append(DoorEvent(EventType.DOOR_OPENED))
            if self._locked:
                self._alarm = "forced_open"
                events.append(DoorEvent(EventType.DOOR_FORCED_OPEN))
            elif self._window_active(now):
                self._passage = True
        else:
            self._alarm = None
            self._held_from = None
            events.append(DoorEvent(EventType.DOOR_CLOSED))
            if self._passage and self._window_start <= self._opened_at:
                self._window_until = None  # the window was used; one granted after opening is not
            self._passage = False
        return self._settle(now, events)

    def fire(self, active: bool, now: float) -> Step:
        """The fire panel's input: unlock while active, whatever the mode."""
        self._fire = active
        return self._settle(now, [])

    def set_mode(self, mode: DoorMode, now: float) -> Step:
        """Staff set the door's mode; lockdown ends any window or remote hold."""
        self._mode = mode
        if mode is DoorMode.LOCKDOWN:
            self._window_until = None
            self._passage = False
            self._hold_until = None
        return self._settle(now, [])

    def set_staffed(self, staffed: bool, now: float) -> Step:
        """Staffed hours began or ended: the door stands unlocked while they last (normal mode)."""
        if staffed != self._staffed:
            self._staffed = staffed
            self._staffed_suppressed = False
        return self._settle(now, [])

    def person_entered(self, now: float) -> Step:
        """The people counter saw someone come in; more than were granted is tailgating."""
        events: list[DoorEvent] = []
        if not self._free(now):
            period = self._current_period(now)
            if period is None:
                period = self._period = _Period(ends=now + self.unlock_seconds)
            period.entered += 1
            if period.entered > period.granted and not period.reported:
                events.append(_tailgating(period))
        return self._settle(now, events)

    def tick(self, now: float) -> Step:
        """Time passed: expire windows and holds, raise the held-open alarm."""
        return self._settle(now, [])

    # --- rules -----------------------------------------------------------------------------

    def _open_window(self, now: float, cause: UnlockCause, companions: int = 0) -> None:
        period = self._current_period(now)
        if period is None:
            period = self._period = _Period()
        period.ends = None
        if cause is UnlockCause.GRANTED:
            period.granted += 1 + companions
        self._window_start = now
        self._window_cause = cause
        self._window_until = now + self.unlock_seconds

    def _current_period(self, now: float) -> _Period | None:
        period = self._period
        if period is None or (period.ends is not None and now >= period.ends):
            self._end_period()
            return None
        return period

    def _end_period(self) -> None:
        """The period is over: if more came in after the alarm, say how many in the end.

        The alarm goes out at the first person too many; a single report then said "entered 2"
        for three people through on one grant.
        """
        period, self._period = self._period, None
        if period is not None and period.reported and period.entered > period.reported:
            self._owed.append(_tailgating(period))

    def _window_active(self, now: float) -> bool:
        return self._window_until is not None and now < self._window_until

    def _hold_active(self, now: float) -> bool:
        return self._hold_until is not None and now < self._hold_until

    def _staffed_open(self) -> bool:
        return self._staffed and not self._staffed_suppressed and self._mode is DoorMode.NORMAL

    def _free(self, now: float) -> bool:
        """Standing unlocked on purpose: no windows, no held-open alarm, no tailgating."""
        if self._fire:
            return True
        if self._mode is DoorMode.LOCKDOWN:
            return False
        return self._hold_active(now) or self._staffed_open()

    def _unlock_cause(self, now: float) -> UnlockCause | None:
        if self._fire:
            return UnlockCause.FIRE_ALARM
        if self._mode is DoorMode.LOCKDOWN:
            return None
        if self._hold_active(now):
            return UnlockCause.REMOTE
        if self._staffed_open():
            return UnlockCause.STAFFED
        if self._passage or self._window_active(now):
            return self._window_cause
        return None

    def _settle(self, now: float, events: list[DoorEvent]) -> Step:
        """Bring the lock and the alarms in line with the inputs at ``now``."""
        if self._window_until is not None and not self._passage and now >= self._window_until:
            self._window_until = None
        if self._hold_until is not None and now >= self._hold_until:
            self._hold_until = None
        cause = self._unlock_cause(now)
        if cause is not None and self._locked:
            self._locked = False
            events.append(DoorEvent(EventType.DOOR_UNLOCKED, reason=str(cause)))
        elif cause is None and not self._locked and not self._open:
            self._locked = True
            if self._period is not None and self._period.ends is None:
                self._period.ends = now + self.unlock_seconds
            events.append(DoorEvent(EventType.DOOR_LOCKED))
        self._supervise_held_open(now, events)
        period = self._period
        if period is not None and period.ends is not None and now >= period.ends:
            self._end_period()
        events.extend(self._owed)
        self._owed.clear()
        return Step(locked=self._locked, events=tuple(events), deadline=self._deadline())

    def _supervise_held_open(self, now: float, events: list[DoorEvent]) -> None:
        if not self._open or self._free(now):
            self._held_from = None
            return
        if self._held_from is None:
            self._held_from = now
        if self._alarm is None and now >= self._held_from + self.held_open_seconds:
            self._alarm = "held_open"
            events.append(
                DoorEvent(EventType.DOOR_HELD_OPEN, details={"seconds": now - self._opened_at})
            )

    def _deadline(self) -> float | None:
        times: list[float] = []
        if self._window_until is not None and not self._passage:
            times.append(self._window_until)
        if self._hold_until is not None:
            times.append(self._hold_until)
        if self._open and self._alarm is None and self._held_from is not None:
            times.append(self._held_from + self.held_open_seconds)
        period = self._period
        if period is not None and period.ends is not None and period.entered > period.reported > 0:
            times.append(period.ends)
        return min(times) if times else None


def _tailgating(period: _Period) -> DoorEvent:
    period.reported = period.entered
    details = {"granted": period.granted, "entered": period.entered}
    return DoorEvent(EventType.DOOR_TAILGATING, details=details)
