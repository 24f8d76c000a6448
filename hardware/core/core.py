"""The controller core: every door and the building, as one pure state machine over inputs.

:meth:`ControllerCore.handle` takes one input at an instant and returns the effects, lock relays
first. The lookups that need I/O (directory, lockout store) leave as :class:`StartLookup` and come
back as :class:`LookupFinished`; the decision is taken then, with the building as it is *then*, so
a fire, a lockdown, an out-of-service command or closing time that came in between wins.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from hardware.core import effects as fx
from hardware.core.config import CoreConfig
from hardware.core.door_slot import DoorSlot
from hardware.core.entry import InFlight, LastDecision, Pending
from hardware.core.faults import FaultCoalescer, FaultReport
from hardware.core.inputs import (
    BeamChanged,
    CardPresented,
    CommandReceived,
    ContactChanged,
    ExitChanged,
    FireChanged,
    Input,
    Looked,
    LookupFinished,
    Now,
    OutcomeRecorded,
    PinCleared,
    PinTyped,
    ReaderFaulted,
    ReaderStatus,
    Started,
    Tick,
)
from hardware.core.timers import (
    Deadlines,
    DoorDue,
    FaultWindowDue,
    FireClearDue,
    Key,
    Line,
    OpeningDue,
    PinDue,
    SettleDue,
)
from hardware.door import Step
from hardware.remote import apply_command
from hardware.signals import WAIT, pattern_for
from services.access import Decision, DoorContext, Reason, decide
from services.bus.commands import Command, Rejection, SeenIds, parse_command
from services.credentials import Credential, SiteKey
from services.events import EventType
from services.occupancy import Occupancy
from services.patrons import Authentication, PinCheck
from services.pin_guard import Standing
from services.schedule import Opening, OpeningState, Schedule

log = logging.getLogger(__name__)

Effects = list[fx.Effect]


class ControllerCore:
    """Decides for every door of one controller; no threads, no I/O, time comes with the input."""

    def __init__(
        self, cfg: CoreConfig, schedule: Schedule, key: SiteKey, *, inside: int = 0
    ) -> None:
        self.cfg = cfg
        self.schedule = schedule
        self.key = key
        self.doors = {d.door_id: DoorSlot.build(d) for d in cfg.doors}
        self._reader_door = {r: d.door_id for d in cfg.doors for r in d.readers}
        self.occupancy = Occupancy(cfg.rules.capacity, inside)
        self.fire_active = False
        self._fire_raw = False
        self.opening: Opening | None = None
        self.deadlines = Deadlines()
        self.faults = FaultCoalescer()
        self._seen = SeenIds()
        self._tickets = 0
        self._wake: float | None = None

    # --- the one entry point -----------------------------------------------------------------

    def handle(self, item: Input, now: Now) -> Effects:
        """Apply ``item`` at ``now``; the effects, relays first, then in the order to carry out."""
        out: Effects = []
        match item:
            case Tick():
                self._tick(now, out)
            case CardPresented(reader, credential):
                self._card(self._door_of(reader), reader, credential, now, out)
            case PinTyped(reader, pin):
                self._pin(self._door_of(reader), pin, now, out)
            case PinCleared(reader):
                log.debug("reader %s: PIN entry cleared", reader)
            case ReaderFaulted(reader, problem):
                self._fault(reader, problem, now, out)
            case ReaderStatus(reader, online, problem):
                self._reader_status(reader, online, problem, out)
            case ContactChanged(door, opened):
                self._contact(self.doors[door], opened, now, out)
            case ExitChanged(door, pressed):
                self._exit(self.doors[door], pressed, now, out)
            case BeamChanged(door, beam, blocked):
                line: Line = "beam_a" if beam == "a" else "beam_b"
                self._beam(self.doors[door], line, blocked, now, out)
            case FireChanged(active):
                self._fire(active, now, out)
            case CommandReceived(door, raw):
                self._command(door, raw, now, out)
            case LookupFinished(ticket, looked):
                self._finished(ticket, looked, now, out)
            case OutcomeRecorded(door, reader, pseudonym, alarms):
                for alarm, more in alarms:
                    details = {"reader": reader, **more}
                    out.append(fx.Emit(alarm, door, credential=pseudonym, details=details))
            case Started(opened):
                self._start(opened, now, out)
        return self._finish(out)

    def _finish(self, out: Effects) -> Effects:
        relays = [e for e in out if isinstance(e, fx.SetRelay)]
        rest = [e for e in out if not isinstance(e, fx.SetRelay)]
        wake = self.deadlines.next
        if wake != self._wake:
            self._wake = wake
            rest.append(fx.WakeAt(wake))
        return [*relays, *rest]

    def _door_of(self, reader: str) -> DoorSlot:
        return self.doors[self._reader_door[reader]]

    # --- start and time ----------------------------------------------------------------------

    def _start(self, opened: Mapping[str, bool | None], now: Now, out: Effects) -> None:
        out.append(fx.Emit(EventType.CONTROLLER_STARTED, None, details={"doors": list(self.doors)}))
        self._check_opening(now, out)
        for slot in self.doors.values():
            if opened.get(slot.cfg.door_id):
                slot.contact = type(slot.contact)(stable=True, raw=True, changed_at=now.mono)
                self._apply(slot, slot.machine.contact(True, now.mono), out)
            self._publish(slot, out, force=True)
        self._publish_occupancy(out, save=False)

    def _tick(self, now: Now, out: Effects) -> None:
        for key in self.deadlines.pop_due(now.mono):
            self._due(key, now, out)
        self._check_opening(now, out)

    def _due(self, key: Key, now: Now, out: Effects) -> None:
        match key:
            case DoorDue(door):
                slot = self.doors[door]
                self._apply(slot, slot.machine.tick(now.mono), out)
            case PinDue(door):
                self._pin_timeout(self.doors[door], now, out)
            case SettleDue(door, line):
                self._settle_line(self.doors[door], line, now, out)
            case FireClearDue():
                if not self._fire_raw and self.fire_active:
                    self._set_fire(False, now, out)
            case FaultWindowDue(reader):
                self._fault_window(reader, now, out)
            case OpeningDue():
                pass  # _tick checks the opening after every deadline

    def _check_opening(self, now: Now, out: Effects) -> None:
        opening = self.schedule.at(now.wall)
        previous, self.opening = self.opening, opening
        if opening.until is not None:
            # Wake at the change itself, so staffed hours end on the minute.
            self.deadlines.set(OpeningDue(), now.mono + (opening.until - now.wall).total_seconds())
        if previous is not None and previous.state is opening.state:
            return
        staffed = opening.state is OpeningState.STAFFED
        for slot in self.doors.values():
            self._apply(slot, slot.machine.set_staffed(staffed, now.mono), out)
        out.append(fx.PublishOpening(opening))
        if opening.state is OpeningState.CLOSED and previous is not None:
            inside = self.occupancy.inside
            self.occupancy.reset()
            details = {"inside_at_closing": inside}
            out.append(fx.Emit(EventType.OCCUPANCY_RESET, None, details=details))
            self._publish_occupancy(out)

    # --- cards, PINs, lookups ----------------------------------------------------------------

    def _needs_pin(self, slot: DoorSlot) -> bool:
        return self.cfg.rules.pin_required and slot.cfg.pinpad and not self._staffed

    @property
    def _staffed(self) -> bool:
        return self.opening is not None and self.opening.state is OpeningState.STAFFED

    def _card(self, slot: DoorSlot, reader: str, cred: Credential, now: Now, out: Effects) -> None:
        entry, door = slot.entry, slot.cfg.door_id
        again = entry.read_again(cred.number, now.mono)
        if entry.lookup is not None:
            out.append(fx.Signal(door, WAIT))  # one decision per door at a time
            return
        if entry.pending is not None and entry.pending.credential == cred:
            return  # the tag lying on the reader: keep the entry and its digits
        last = entry.just_decided(cred.number, now.mono)
        recent = again or last is not None
        if self._needs_pin(slot):
            entry.pending = Pending(cred, reader, now.mono, repeat=recent)
            self.deadlines.set(PinDue(door), now.mono + slot.cfg.pin_timeout_s)
            out.append(fx.ClearPinPads(door))
            return
        if last is not None:
            out.append(fx.Signal(door, last.pattern))  # its decision, shown again
            return
        self._lookup(slot, reader, cred, None, now, out)

    def _pin(self, slot: DoorSlot, pin: str, now: Now, out: Effects) -> None:
        entry = slot.entry
        pending, entry.pending = entry.pending, None
        self.deadlines.set(PinDue(slot.cfg.door_id), None)
        if pending is None or now.mono - pending.since > slot.cfg.pin_timeout_s:
            log.info("door %s: PIN without a card; ignored", slot.cfg.door_id)
            if entry.lookup is not None:
                out.append(fx.Signal(slot.cfg.door_id, WAIT))
            return
        self._lookup(slot, pending.reader, pending.credential, pin, now, out)

    def _pin_timeout(self, slot: DoorSlot, now: Now, out: Effects) -> None:
        pending, slot.entry.pending = slot.entry.pending, None
        if pending is None or pending.repeat:
            return  # a re-read right after a decision: a resting tag, not a forgotten PIN
        self._lookup(slot, pending.reader, pending.credential, None, now, out)

    def _lookup(
        self,
        slot: DoorSlot,
        reader: str,
        cred: Credential,
        pin: str | None,
        now: Now,
        out: Effects,
    ) -> None:
        if self._staffed:
            # The doors stand open: the card is not looked up, nothing is counted.
            looked = Looked(
                Authentication(None, PinCheck.NOT_GIVEN),
                Standing(),
                self.key.credential_hash(cred),
                self.key.pseudonym(cred),
            )
            self._decide(slot, reader, cred, looked, now, out)
            return
        self._tickets += 1
        slot.entry.lookup = InFlight(self._tickets, cred, reader, now.mono)
        out.append(fx.StartLookup(self._tickets, slot.cfg.door_id, reader, cred, pin))

    def _finished(self, ticket: int, looked: Looked | None, now: Now, out: Effects) -> None:
        slot = next(
            (
                s
                for s in self.doors.values()
                if s.entry.lookup is not None and s.entry.lookup.ticket == ticket
            ),
            None,
        )
        if slot is None or slot.entry.lookup is None:
            log.warning("lookup %d finished for no door; ignored", ticket)
            return
        flight, slot.entry.lookup = slot.entry.lookup, None
        cred = flight.credential
        if looked is None:  # the lookup itself failed: as if the library system were away
            looked = Looked(
                Authentication(None, PinCheck.NOT_GIVEN, reachable=False),
                Standing(),
                self.key.credential_hash(cred),
                self.key.pseudonym(cred),
            )
        self._decide(slot, flight.reader, cred, looked, now, out)

    def _decide(
        self,
        slot: DoorSlot,
        reader: str,
        cred: Credential,
        looked: Looked,
        now: Now,
        out: Effects,
    ) -> None:
        """The decision with the building as it is at ``now``, not when the lookup started."""
        self._check_opening(now, out)
        door = slot.cfg.door_id
        opening = self.opening or self.schedule.at(now.wall)
        ctx = DoorContext(
            opening=opening.state,
            mode=slot.machine.state.mode,
            fire_alarm=self.fire_active,
            occupancy=self.occupancy.inside,
            reader_throttled=looked.standing.reader_throttled,
            pin_locked_out=looked.standing.locked_out,
            pin_blocked=looked.standing.blocked,
        )
        decision = decide(now.wall, looked.auth, ctx, self.cfg.rules)
        if decision.granted:
            self._apply(slot, slot.machine.grant(now.mono), out)
        pattern = pattern_for(decision)
        out.append(fx.Signal(door, pattern))
        slot.entry.last_decision = LastDecision(cred.number, now.mono, pattern)
        self._decision_events(slot, reader, cred, looked, decision, out)

    def _decision_events(
        self,
        slot: DoorSlot,
        reader: str,
        cred: Credential,
        looked: Looked,
        decision: Decision,
        out: Effects,
    ) -> None:
        door = slot.cfg.door_id
        details = {"reader": reader, "kind": str(cred.kind), "message": decision.message}
        etype = EventType.ACCESS_GRANTED if decision.granted else EventType.ACCESS_DENIED
        out.append(
            fx.Emit(
                etype,
                door,
                reason=str(decision.reason),
                credential=looked.pseudonym,
                details=details,
            )
        )
        if decision.reason in (Reason.WRONG_PIN, Reason.GRANTED):
            wrong = decision.reason is Reason.WRONG_PIN
            out.append(
                fx.RecordOutcome(door, reader, looked.credential_hash, looked.pseudonym, wrong)
            )

    # --- readers -----------------------------------------------------------------------------

    def _fault(self, reader: str, problem: str, now: Now, out: Effects) -> None:
        report = self.faults.fault(reader, problem)
        if report is not None:
            self.deadlines.set(FaultWindowDue(reader), now.mono + self.faults.interval_s)
            self._fault_event(reader, report, out)

    def _fault_window(self, reader: str, now: Now, out: Effects) -> None:
        report = self.faults.interval_over(reader)
        if report is not None:
            self.deadlines.set(FaultWindowDue(reader), now.mono + self.faults.interval_s)
            self._fault_event(reader, report, out)

    def _fault_event(self, reader: str, report: FaultReport, out: Effects) -> None:
        details = {"reader": reader, "errors": report.total, "repeats": report.repeats}
        door = self._reader_door[reader]
        out.append(fx.Emit(EventType.READER_ERROR, door, reason=report.problem, details=details))

    def _reader_status(self, reader: str, online: bool, problem: str | None, out: Effects) -> None:
        slot = self._door_of(reader)
        before = slot.readers.get(reader)
        slot.readers[reader] = online
        if before == online:
            return
        if before is not None or not online:  # a reader present at start is no news
            etype = EventType.READER_ONLINE if online else EventType.READER_OFFLINE
            out.append(fx.Emit(etype, slot.cfg.door_id, reason=problem, details={"reader": reader}))
        self._publish(slot, out)

    # --- door inputs ---------------------------------------------------------------------

    def _contact(self, slot: DoorSlot, opened: bool, now: Now, out: Effects) -> None:
        slot.contact.feed(opened, now.mono)
        self._settle_line(slot, "contact", now, out)

    def _beam(self, slot: DoorSlot, line: Line, blocked: bool, now: Now, out: Effects) -> None:
        if slot.counter is None:
            return
        slot.beams[line].feed(blocked, now.mono)
        self._settle_line(slot, line, now, out)

    def _settle_line(self, slot: DoorSlot, line: Line, now: Now, out: Effects) -> None:
        settled = slot.contact if line == "contact" else slot.beams[line]
        value = settled.settle(now.mono, slot.cfg.settle_s)
        self.deadlines.set(SettleDue(slot.cfg.door_id, line), settled.due(slot.cfg.settle_s))
        if value is None:
            return
        if line == "contact":
            self._apply(slot, slot.machine.contact(value, now.mono), out)
        else:
            self._beam_settled(slot, "a" if line == "beam_a" else "b", value, now, out)

    def _exit(self, slot: DoorSlot, pressed: bool, now: Now, out: Effects) -> None:
        if not slot.exit.feed(pressed, now.mono, slot.cfg.settle_s):
            return
        self._apply(slot, slot.machine.exit_request(now.mono), out)
        out.append(fx.Emit(EventType.EXIT_REQUEST, slot.cfg.door_id))

    def _beam_settled(
        self, slot: DoorSlot, which: str, blocked: bool, now: Now, out: Effects
    ) -> None:
        assert slot.counter is not None
        door = slot.cfg.door_id
        direction = slot.counter.beam("a" if which == "a" else "b", blocked, now.mono)
        if direction == "in":
            just_full = self.occupancy.enter()
            self._apply(slot, slot.machine.person_entered(now.mono), out)
            details = {"inside": self.occupancy.inside}
            out.append(fx.Emit(EventType.OCCUPANCY_IN, door, details=details))
            if just_full:
                full = {"inside": self.occupancy.inside, "capacity": self.occupancy.capacity}
                out.append(fx.Emit(EventType.OCCUPANCY_FULL, None, details=full))
        elif direction == "out":
            self.occupancy.leave()
            details = {"inside": self.occupancy.inside}
            out.append(fx.Emit(EventType.OCCUPANCY_OUT, door, details=details))
        else:
            return
        self._publish_occupancy(out)

    def _fire(self, active: bool, now: Now, out: Effects) -> None:
        """Activation acts at once; clearing waits until the input has been quiet a while."""
        self._fire_raw = active
        if active:
            self.deadlines.set(FireClearDue(), None)
            if not self.fire_active:
                self._set_fire(True, now, out)
        elif self.fire_active:
            if self.cfg.fire_clear_s <= 0:
                self._set_fire(False, now, out)
            else:
                self.deadlines.set(FireClearDue(), now.mono + self.cfg.fire_clear_s)

    def _set_fire(self, active: bool, now: Now, out: Effects) -> None:
        self.fire_active = active
        steps = [(s, s.machine.fire(active, now.mono)) for s in self.doors.values()]
        for slot, step in steps:
            out.append(fx.SetRelay(slot.cfg.door_id, step.locked))
        out.append(fx.Emit(EventType.FIRE_ALARM if active else EventType.FIRE_CLEARED, None))
        for slot, step in steps:
            self._apply(slot, step, out)

    # --- commands ----------------------------------------------------------------------------

    def _command(self, door: str, raw: bytes, now: Now, out: Effects) -> None:
        slot = self.doors.get(door)
        result = parse_command(
            raw,
            door=door,
            now=now.wall,
            max_age_s=self.cfg.command_max_age_s,
            seen=self._seen,
        )
        if slot is None and isinstance(result, Command):
            result = Rejection(f"unknown door {door!r}", result.id)
        if isinstance(result, Rejection):
            # A command for no door of ours is the building's business, never a door's.
            source = door if slot is not None else None
            details = {"command_id": result.command_id}
            if slot is None:
                details["door"] = door
            out.append(
                fx.Emit(EventType.COMMAND_REJECTED, source, reason=result.reason, details=details)
            )
            return
        assert slot is not None
        self._run_command(slot, result, now, out)

    def _run_command(self, slot: DoorSlot, cmd: Command, now: Now, out: Effects) -> None:
        door = slot.cfg.door_id
        result = apply_command(slot.machine, cmd, now.mono)
        self._apply(slot, result.step, out)
        if result.mode_event is not None:
            out.append(fx.Emit(result.mode_event, door, reason=cmd.reason))
        details = {"command_id": cmd.id, "action": cmd.action, "by": cmd.by}
        if result.done:
            done = {**details, "seconds": cmd.seconds, "mode": cmd.mode}
            out.append(fx.Emit(EventType.COMMAND_DONE, door, reason=cmd.reason, details=done))
        else:
            out.append(
                fx.Emit(EventType.COMMAND_REJECTED, door, reason=result.problem, details=details)
            )
        self._publish(slot, out)  # a mode change moves no lock, but staff must see it

    # --- output ------------------------------------------------------------------------------

    def _apply(self, slot: DoorSlot, step: Step, out: Effects) -> None:
        door = slot.cfg.door_id
        out.append(fx.SetRelay(door, step.locked))
        self.deadlines.set(DoorDue(door), step.deadline)
        for ev in step.events:
            out.append(fx.Emit(ev.type, door, reason=ev.reason, details=ev.details))
        self._publish(slot, out)

    def _publish(self, slot: DoorSlot, out: Effects, *, force: bool = False) -> None:
        """Republish the retained state whenever any of it changed (mode, fire, alarm...)."""
        snapshot = (slot.machine.state, tuple(sorted(slot.readers.items())))
        if snapshot == slot.published and not force:
            return
        slot.published = snapshot
        out.append(fx.PublishDoor(slot.cfg.door_id, snapshot[0], dict(slot.readers)))

    def _publish_occupancy(self, out: Effects, *, save: bool = True) -> None:
        if save:
            out.append(fx.SaveOccupancy(self.occupancy.inside))
        out.append(fx.PublishOccupancy(self.occupancy.inside, self.occupancy.capacity))
