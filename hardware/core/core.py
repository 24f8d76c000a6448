"""The controller core: every door and the building, as one pure state machine over inputs.

:meth:`ControllerCore.handle` takes one input at an instant and returns the effects, lock relays
first. The lookups that need I/O (directory, lockout store) leave as :class:`StartLookup` and come
back as :class:`LookupFinished`; the decision is taken then, with the building as it is *then*, so
a fire, a lockdown, an out-of-service command or closing time that came in between wins.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hardware.core import effects as fx
from hardware.core.admission import Admission
from hardware.core.building import Building, Effects
from hardware.core.config import CoreConfig
from hardware.core.debounce import Settled
from hardware.core.door_slot import DoorSlot
from hardware.core.evening import Evening
from hardware.core.faults import FaultCoalescer, FaultReport
from hardware.core.inputs import (
    BeamChanged,
    BuildingCommand,
    CardPresented,
    CommandReceived,
    ContactChanged,
    ExitChanged,
    FireChanged,
    Input,
    LookupFinished,
    Now,
    OutcomeRecorded,
    PanelChanged,
    PinCleared,
    PinTyped,
    ReaderFaulted,
    ReaderStatus,
    Started,
    Tick,
)
from hardware.core.lines import Lines
from hardware.core.timers import (
    DisarmDue,
    DoorDue,
    EveningDue,
    FaultWindowDue,
    FireClearDue,
    Key,
    OpeningDue,
    PinDue,
    SettleDue,
)
from hardware.remote import apply_command
from services.core.building_commands import BuildingOrder, parse_building_command
from services.core.commands import Command, Rejection, SeenIds, parse_command
from services.core.credentials import SiteKey
from services.core.events import EventType
from services.core.occupancy import Occupancy
from services.core.schedule import Schedule


class ControllerCore:
    """Decides for every door of one controller; no threads, no I/O, time comes with the input."""

    def __init__(
        self,
        cfg: CoreConfig,
        schedule: Schedule,
        key: SiteKey,
        *,
        inside: int = 0,
        progress: Mapping[str, Any] | None = None,
    ) -> None:
        self.building = Building(cfg, schedule, inside)
        # The building's evening, when the site runs it here; ``progress`` is what was saved.
        self.evening = (
            Evening(cfg.evening, schedule, self.building, progress)
            if cfg.evening is not None
            else None
        )
        self.admission = Admission(self.building, key)
        self.faults = FaultCoalescer()
        self.lines = Lines(self.building)
        self._seen = SeenIds()
        self._wake: float | None = None

    @property
    def doors(self) -> Mapping[str, DoorSlot]:
        """Each door's state, by door id."""
        return self.building.doors

    @property
    def occupancy(self) -> Occupancy:
        """The people inside."""
        return self.building.occupancy

    # --- the one entry point -----------------------------------------------------------------

    def handle(self, item: Input, now: Now) -> Effects:
        """Apply ``item`` at ``now``; the effects, relays first, then in the order to carry out."""
        out: Effects = []
        b, admission, lines = self.building, self.admission, self.lines
        match item:
            case Tick():
                for key in b.deadlines.pop_due(now.mono):
                    self._due(key, now, out)
                b.current_opening(now, out)
                if self.evening is not None:
                    self.evening.advance(now, out)
            case CardPresented(reader, credential):
                admission.card(self._door_of(reader), reader, credential, now, out)
            case PinTyped(reader, pin):
                admission.pin(self._door_of(reader), pin, now, out, reader=reader)
            case PinCleared():
                pass  # the pad forgot its digits itself; the card still waits
            case ReaderFaulted(reader, problem):
                self._fault(reader, problem, now, out)
            case ReaderStatus(reader, online, problem):
                self._reader_status(reader, online, problem, out)
            case ContactChanged(door, opened):
                lines.contact(b.doors[door], opened, now, out)
            case ExitChanged(door, pressed):
                lines.exit(b.doors[door], pressed, now, out)
            case BeamChanged(door, beam, blocked):
                lines.beam(b.doors[door], beam, blocked, now, out)
            case FireChanged(active):
                lines.fire(active, now, out)
            case CommandReceived(door, raw):
                self._command(door, raw, now, out)
            case LookupFinished(ticket, looked):
                admission.finished(ticket, looked, now, out)
            case OutcomeRecorded(door, reader, pseudonym, alarms):
                for alarm, more in alarms:
                    details = {"reader": reader, **more}
                    out.append(fx.Emit(alarm, door, credential=pseudonym, details=details))
            case Started(opened, panel):
                self._start(opened, now, out)
                if self.evening is not None:
                    self.evening.start(panel, now, out)
            case PanelChanged(line, active):
                if self.evening is not None:
                    self.evening.panel_changed(line, active, now, out)
                    if line == "armed" and not active:
                        admission.panel_disarmed(now, out)  # the members waiting for it
            case BuildingCommand(raw):
                self._building_command(raw, now, out)
        return self._finish(out)

    def _finish(self, out: Effects) -> Effects:
        if self.evening is not None:
            # What the doors did that the building cares about: entries, a door forced open.
            for e in list(out):
                if isinstance(e, fx.Emit):
                    out.extend(self.evening.door_event(e.type, e.door, e.credential))
        relays = [e for e in out if isinstance(e, fx.SetRelay)]
        rest = [e for e in out if not isinstance(e, fx.SetRelay)]
        wake = self.building.deadlines.next
        if wake != self._wake:
            self._wake = wake
            rest.append(fx.WakeAt(wake))
        return [*relays, *rest]

    def _door_of(self, reader: str) -> DoorSlot:
        return self.building.doors[self.building.reader_door[reader]]

    # --- start and time ----------------------------------------------------------------------

    def _start(self, opened: Mapping[str, bool | None], now: Now, out: Effects) -> None:
        b = self.building
        out.append(fx.Emit(EventType.CONTROLLER_STARTED, None, details={"doors": list(b.doors)}))
        b.check_opening(now, out)
        for slot in b.doors.values():
            if opened.get(slot.cfg.door_id):
                slot.contact = Settled(stable=True, raw=True, changed_at=now.mono)
                b.apply(slot, slot.machine.contact(True, now.mono), out)
            b.publish(slot, out, force=True)
        b.publish_occupancy(out, save=False)

    def _due(self, key: Key, now: Now, out: Effects) -> None:
        doors = self.building.doors
        match key:
            case DoorDue(door):
                slot = doors[door]
                self.building.apply(slot, slot.machine.tick(now.mono), out)
            case PinDue(door):
                self.admission.pin_timeout(doors[door], now, out)
            case SettleDue(door, line):
                self.lines.settle(doors[door], line, now, out)
            case FireClearDue():
                self.lines.fire_quiet(now, out)
            case FaultWindowDue(reader):
                self._fault_window(reader, now, out)
            case OpeningDue():
                pass  # the tick then finds the known opening state ended
            case EveningDue():
                pass  # every tick advances the evening
            case DisarmDue(door):
                self.admission.disarm_timeout(doors[door], now, out)

    # --- readers -----------------------------------------------------------------------------

    def _fault(self, reader: str, problem: str, now: Now, out: Effects) -> None:
        report = self.faults.fault(reader, problem)
        if report is not None:
            self._fault_event(reader, report, now, out)

    def _fault_window(self, reader: str, now: Now, out: Effects) -> None:
        report = self.faults.interval_over(reader)
        if report is not None:
            self._fault_event(reader, report, now, out)

    def _fault_event(self, reader: str, report: FaultReport, now: Now, out: Effects) -> None:
        b = self.building
        b.deadlines.set(FaultWindowDue(reader), now.mono + self.faults.interval_s)
        details = {"reader": reader, "errors": report.total, "repeats": report.repeats}
        door = b.reader_door[reader]
        out.append(fx.Emit(EventType.READER_ERROR, door, reason=report.problem, details=details))

    def _reader_status(self, reader: str, online: bool, problem: str | None, out: Effects) -> None:
        slot = self._door_of(reader)
        before = slot.readers.get(reader)
        slot.readers[reader] = online
        if before == online:
            return
        if before is not None or not online:  # a reader present at start is no news
            etype = EventType.READER_ONLINE if online else EventType.READER_OFFLINE
            details = {"reader": reader}
            out.append(fx.Emit(etype, slot.cfg.door_id, reason=problem, details=details))
        self.building.publish(slot, out)

    # --- commands ----------------------------------------------------------------------------

    def _command(self, door: str, raw: bytes, now: Now, out: Effects) -> None:
        slot = self.building.doors.get(door)
        result = parse_command(
            raw,
            door=door,
            now=now.wall,
            max_age_s=self.building.cfg.command_max_age_s,
            seen=self._seen,
        )
        if slot is None and isinstance(result, Command):
            result = Rejection(f"unknown door {door!r}", result.id)
        if isinstance(result, Rejection):
            # A command for no door of ours is the building's business, never a door's.
            details = {"command_id": result.command_id}
            if slot is None:
                details["door"] = door
            source = door if slot is not None else None
            out.append(
                fx.Emit(EventType.COMMAND_REJECTED, source, reason=result.reason, details=details)
            )
            return
        assert slot is not None
        self._run_command(slot, result, now, out)

    def _building_command(self, raw: bytes, now: Now, out: Effects) -> None:
        evening = self.evening
        if evening is None:
            result: BuildingOrder | Rejection = Rejection("this controller runs no building")
        else:
            result = parse_building_command(
                raw,
                now=now.wall,
                max_age_s=self.building.cfg.command_max_age_s,
                seen=self._seen,
                messages=evening.cfg.messages,
            )
        if isinstance(result, BuildingOrder):
            assert evening is not None
            problem = evening.order(result, now, out)
            details = {"command_id": result.id, "action": str(result.action), "by": result.by}
            etype = EventType.COMMAND_DONE if problem is None else EventType.COMMAND_REJECTED
            reason = result.reason if problem is None else problem
            out.append(
                fx.Emit(etype, None, reason=reason, details={**details, "target": "building"})
            )
            return
        details = {"command_id": result.command_id or "", "target": "building"}
        out.append(fx.Emit(EventType.COMMAND_REJECTED, None, reason=result.reason, details=details))

    def _run_command(self, slot: DoorSlot, cmd: Command, now: Now, out: Effects) -> None:
        door = slot.cfg.door_id
        result = apply_command(slot.machine, cmd, now.mono)
        self.building.apply(slot, result.step, out)
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
