"""Reader -> decision -> door -> events: the door controller's one place of coordination.

Inputs arrive on many threads (serial readers, gpiozero callbacks, MQTT, the timer); one lock
serialises them, and every handler is short. On each input the lock relay is driven *first* and
the events are written to the outbox after, so the patron never waits on a disk or a broker.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hardware.devices import Beam, DoorDevices
from hardware.door import DoorMachine, Step
from hardware.gatekeeper import Building, Gatekeeper
from hardware.output import Output, Sink
from hardware.remote import apply_command
from hardware.signals import pattern_for
from services.core.access import AccessRules
from services.core.commands import Command, Rejection, SeenIds, parse_command
from services.core.credentials import Credential, SiteKey
from services.core.events import EventType
from services.core.occupancy import BeamCounter, Occupancy
from services.core.patrons import PatronDirectory
from services.core.readers import CardRead, PinCleared, PinEntered, ReaderFault, ReaderInput
from services.core.schedule import Opening, OpeningState, Schedule
from services.patrons.pin_guard import PinGuard
from services.settings import Settings

log = logging.getLogger(__name__)

SITE = "site"  # the source of building-wide events (fire, opening, occupancy)
# EM4100 readers repeat their frame while a tag lies on them; one presentation is one read.
REPEAT_S = 1.5


@dataclass
class _Pending:
    credential: Credential
    reader_id: str
    since: float


@dataclass
class DoorUnit:
    """One door's machine, devices, counter and the card waiting for its PIN."""

    door_id: str
    machine: DoorMachine
    devices: DoorDevices
    counter: BeamCounter | None
    has_pinpad: bool
    pin_timeout_s: float
    pending: _Pending | None = None
    last_card: tuple[str, float] | None = None  # (credential number, when) for REPEAT_S
    readers: dict[str, bool] = field(default_factory=dict)  # reader id -> online


class Controller:
    """Decides and acts for every door of one controller."""

    def __init__(
        self,
        settings: Settings,
        units: Mapping[str, DoorUnit],
        directory: PatronDirectory,
        key: SiteKey,
        guard: PinGuard,
        schedule: Schedule,
        sink: Sink,
        *,
        wall: Callable[[], datetime],
        mono: Callable[[], float],
    ) -> None:
        self.settings = settings
        self.units = dict(units)
        self._reader_door = {r: u.door_id for u in self.units.values() for r in u.readers}
        self.schedule = schedule
        self.out = Output(sink, wall)
        self.wall, self.mono = wall, mono
        a = settings.access
        self.rules = AccessRules(a.pin_required, a.min_age_unstaffed, a.capacity)
        self.gate = Gatekeeper(directory, key, guard, self.rules)
        self.occupancy = Occupancy(a.capacity)
        self.fire_active = False
        self.reader_errors: dict[str, int] = {}
        self._seen = SeenIds()
        self._lock = threading.RLock()
        self._wake = threading.Condition(self._lock)
        self._deadlines: dict[str, float] = {}
        self._opening: Opening | None = None
        self._stopping = False
        self._timer = threading.Thread(target=self._run_timer, name="door-timer", daemon=True)

    # --- life cycle -------------------------------------------------------------------------

    def start(self, *, timer: bool = True) -> None:
        """Announce the start, apply the opening state, publish every state, run the timer.

        Tests that drive time themselves pass ``timer=False`` and call :meth:`tick`.
        """
        with self._lock:
            self.out.event(EventType.CONTROLLER_STARTED, SITE, details={"doors": list(self.units)})
            self._check_opening()
            for unit in self.units.values():
                opened = unit.devices.door_open
                if opened:
                    self._apply(unit, unit.machine.contact(True, self.mono()))
                self._publish_door(unit)
            self._publish_occupancy()
        if timer:
            self._timer.start()

    @property
    def alive(self) -> bool:
        """True while the timer runs: what the systemd watchdog vouches for."""
        return self._timer.is_alive() and not self._stopping

    def stop(self) -> None:
        """Stop the timer; the service then closes the devices (locking every door)."""
        with self._lock:
            self._stopping = True
            self._wake.notify_all()
        if self._timer.is_alive():
            self._timer.join(2)
        self.gate.close()

    # --- readers ----------------------------------------------------------------------------

    def on_reader_input(self, reader_id: str, item: ReaderInput) -> None:
        """A card, a PIN, a clear or a fault from any reader."""
        with self._lock:
            unit = self.units[self._reader_door[reader_id]]
            now = self.mono()
            if isinstance(item, CardRead):
                self._on_card(unit, reader_id, item.credential, now)
            elif isinstance(item, PinEntered):
                self._on_pin(unit, item.pin, now)
            elif isinstance(item, ReaderFault):
                self.reader_errors[reader_id] = self.reader_errors.get(reader_id, 0) + 1
                self.out.event(
                    EventType.READER_ERROR,
                    unit.door_id,
                    reason=item.problem,
                    details={"reader": reader_id, "errors": self.reader_errors[reader_id]},
                )
            elif isinstance(item, PinCleared):
                log.debug("door %s: PIN entry cleared", unit.door_id)

    def on_reader_status(self, reader_id: str, online: bool, problem: str | None) -> None:
        """A reader went away (unplugged, I/O error) or came back."""
        with self._lock:
            unit = self.units[self._reader_door[reader_id]]
            if unit.readers.get(reader_id) == online:
                return
            unit.readers[reader_id] = online
            etype = EventType.READER_ONLINE if online else EventType.READER_OFFLINE
            self.out.event(etype, unit.door_id, reason=problem, details={"reader": reader_id})
            self._publish_door(unit)

    def _on_card(self, unit: DoorUnit, reader_id: str, cred: Credential, now: float) -> None:
        last, unit.last_card = unit.last_card, (cred.number, now)
        if last is not None and last[0] == cred.number and now - last[1] < REPEAT_S:
            return
        needs_pin = self.rules.pin_required and unit.has_pinpad
        staffed = self._opening is not None and self._opening.state is OpeningState.STAFFED
        if needs_pin and not staffed:
            unit.pending = _Pending(cred, reader_id, now)
            self._set_deadline(unit.door_id + "/pin", now + unit.pin_timeout_s)
            return
        self._entry(unit, reader_id, cred, None)

    def _on_pin(self, unit: DoorUnit, pin: str, now: float) -> None:
        pending, unit.pending = unit.pending, None
        self._deadlines.pop(unit.door_id + "/pin", None)
        if pending is None or now - pending.since > unit.pin_timeout_s:
            log.info("door %s: PIN without a card; ignored", unit.door_id)
            return
        self._entry(unit, pending.reader_id, pending.credential, pin)

    # --- the decision -----------------------------------------------------------------------

    def _entry(self, unit: DoorUnit, reader_id: str, cred: Credential, pin: str | None) -> None:
        now = self.wall()
        opening = self._opening or self.schedule.at(now)
        building = Building(
            opening.state, unit.machine.state.mode, self.fire_active, self.occupancy.inside
        )
        verdict = self.gate.decide(cred, pin, reader_id, building, now)
        decision = verdict.decision
        if decision.granted:
            self._apply(unit, unit.machine.grant(self.mono()))
        unit.devices.signal(pattern_for(decision))
        # The door has acted; now the event and the bookkeeping.
        details = {"reader": reader_id, "kind": str(cred.kind), "message": decision.message}
        etype = EventType.ACCESS_GRANTED if decision.granted else EventType.ACCESS_DENIED
        self.out.event(
            etype,
            unit.door_id,
            reason=str(decision.reason),
            credential=verdict.pseudonym,
            details=details,
        )
        for alarm, more in self.gate.record(verdict, reader_id, now):
            self.out.event(
                alarm,
                unit.door_id,
                credential=verdict.pseudonym,
                details={"reader": reader_id, **more},
            )

    # --- door inputs ------------------------------------------------------------------------

    def on_contact(self, door_id: str, opened: bool) -> None:
        """The door contact changed."""
        with self._lock:
            unit = self.units[door_id]
            self._apply(unit, unit.machine.contact(opened, self.mono()))

    def on_exit(self, door_id: str) -> None:
        """Someone pressed the exit button."""
        with self._lock:
            unit = self.units[door_id]
            self._apply(unit, unit.machine.exit_request(self.mono()))
            self.out.event(EventType.EXIT_REQUEST, door_id)

    def on_beam(self, door_id: str, which: Beam, blocked: bool) -> None:
        """A counter beam changed; a complete passage moves the count."""
        with self._lock:
            unit = self.units[door_id]
            if unit.counter is None:
                return
            now = self.mono()
            direction = unit.counter.beam(which, blocked, now)
            if direction == "in":
                just_full = self.occupancy.enter()
                self._apply(unit, unit.machine.person_entered(now))
                self.out.event(
                    EventType.OCCUPANCY_IN, door_id, details={"inside": self.occupancy.inside}
                )
                if just_full:
                    self.out.event(
                        EventType.OCCUPANCY_FULL,
                        SITE,
                        details={
                            "inside": self.occupancy.inside,
                            "capacity": self.occupancy.capacity,
                        },
                    )
            elif direction == "out":
                self.occupancy.leave()
                self.out.event(
                    EventType.OCCUPANCY_OUT, door_id, details={"inside": self.occupancy.inside}
                )
            else:
                return
            self._publish_occupancy()

    def on_fire(self, active: bool) -> None:
        """The fire panel: release every door at once, before anything is written."""
        with self._lock:
            if active == self.fire_active:
                return
            self.fire_active = active
            now = self.mono()
            steps = [(u, u.machine.fire(active, now)) for u in self.units.values()]
            for unit, step in steps:
                unit.devices.set_locked(step.locked)
            self.out.event(EventType.FIRE_ALARM if active else EventType.FIRE_CLEARED, SITE)
            for unit, step in steps:
                self._apply(unit, step)

    # --- commands ---------------------------------------------------------------------------

    def on_command(self, door_id: str, raw: bytes) -> None:
        """A staff command from MQTT: validated, applied, answered with done or rejected."""
        with self._lock:
            unit = self.units.get(door_id)
            result = parse_command(
                raw,
                door=door_id,
                now=self.wall(),
                max_age_s=self.settings.mqtt.command_max_age_s,
                seen=self._seen,
            )
            if unit is None and isinstance(result, Command):
                result = Rejection(f"unknown door {door_id!r}", result.id)
            if isinstance(result, Rejection):
                self.out.event(
                    EventType.COMMAND_REJECTED,
                    door_id,
                    reason=result.reason,
                    details={"command_id": result.command_id},
                )
                return
            assert unit is not None
            self._run_command(unit, result)

    def _run_command(self, unit: DoorUnit, cmd: Command) -> None:
        result = apply_command(unit.machine, cmd, self.mono())
        self._apply(unit, result.step)
        if result.mode_event is not None:
            self.out.event(result.mode_event, unit.door_id, reason=cmd.reason)
        details: dict[str, Any] = {"command_id": cmd.id, "action": cmd.action, "by": cmd.by}
        if result.done:
            details |= {"seconds": cmd.seconds, "mode": cmd.mode}
            self.out.event(EventType.COMMAND_DONE, unit.door_id, reason=cmd.reason, details=details)
        else:
            self.out.event(
                EventType.COMMAND_REJECTED, unit.door_id, reason=result.problem, details=details
            )

    # --- time -------------------------------------------------------------------------------

    def _set_deadline(self, key: str, when: float | None) -> None:
        if when is None:
            self._deadlines.pop(key, None)
        else:
            self._deadlines[key] = when
        self._wake.notify()

    def _run_timer(self) -> None:
        with self._lock:
            while not self._stopping:
                timeout = 30.0
                if self._deadlines:
                    timeout = max(0.0, min(min(self._deadlines.values()) - self.mono(), 30.0))
                self._wake.wait(timeout)
                if not self._stopping:
                    self.tick()

    def tick(self) -> None:
        """Expire unlock windows, raise alarms, time out PIN entry, follow the schedule, tidy."""
        with self._lock:
            now = self.mono()
            for unit in self.units.values():
                due = self._deadlines.get(unit.door_id)
                if due is not None and due <= now:
                    self._apply(unit, unit.machine.tick(now))
                pin_due = self._deadlines.get(unit.door_id + "/pin")
                if pin_due is not None and pin_due <= now and unit.pending is not None:
                    pending, unit.pending = unit.pending, None
                    self._deadlines.pop(unit.door_id + "/pin", None)
                    self._entry(unit, pending.reader_id, pending.credential, None)
            self._check_opening()
            self.gate.guard.tidy(self.wall(), self.settings.retention.days)

    def _check_opening(self) -> None:
        now = self.wall()
        opening = self.schedule.at(now)
        previous, self._opening = self._opening, opening
        if opening.until is not None:
            # Wake at the change itself, so staffed hours end on the minute, not up to 30 s late.
            due = self.mono() + (opening.until - now).total_seconds()
            self._set_deadline("opening", due)
        if previous is not None and previous.state is opening.state:
            return
        staffed = opening.state is OpeningState.STAFFED
        for unit in self.units.values():
            self._apply(unit, unit.machine.set_staffed(staffed, self.mono()))
        payload = self.out.opening(opening)
        self.out.event(EventType.OPENING_CHANGED, SITE, reason=str(opening.state), details=payload)
        if opening.state is OpeningState.CLOSED and previous is not None:
            inside = self.occupancy.inside
            self.occupancy.reset()
            self.out.event(EventType.OCCUPANCY_RESET, SITE, details={"inside_at_closing": inside})
            self._publish_occupancy()

    # --- output -----------------------------------------------------------------------------

    def _apply(self, unit: DoorUnit, step: Step) -> None:
        unit.devices.set_locked(step.locked)
        self._set_deadline(unit.door_id, step.deadline)
        for ev in step.events:
            self.out.event(ev.type, unit.door_id, reason=ev.reason, details=ev.details)
        if step.events:
            self._publish_door(unit)

    def _publish_door(self, unit: DoorUnit) -> None:
        self.out.door(unit.door_id, unit.machine.state, unit.readers)

    def _publish_occupancy(self) -> None:
        self.out.occupancy(self.occupancy)
