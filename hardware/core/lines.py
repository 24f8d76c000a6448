"""The door's GPIO lines in the core: contact, exit button, counter beams and the fire input,
each with its settle rule (see :mod:`hardware.core.debounce`)."""

from __future__ import annotations

from hardware.core import effects as fx
from hardware.core.building import Building, Effects
from hardware.core.door_slot import DoorSlot
from hardware.core.inputs import Beam, Now
from hardware.core.timers import FireClearDue, Line, SettleDue
from services.core.events import EventType


class Lines:
    """Turns raw line changes into the door machines' inputs, once they have settled."""

    def __init__(self, building: Building) -> None:
        self.b = building
        self._fire_raw = False

    def contact(self, slot: DoorSlot, opened: bool, now: Now, out: Effects) -> None:
        """The raw contact line changed."""
        held = slot.contact.feed(opened, now.mono, slot.cfg.settle_s)
        if held is not None:
            self._accept(slot, "contact", held, now, out)
        self.settle(slot, "contact", now, out)

    def beam(self, slot: DoorSlot, beam: Beam, blocked: bool, now: Now, out: Effects) -> None:
        """A raw beam line changed."""
        if slot.counter is None:
            return
        line: Line = "beam_a" if beam == "a" else "beam_b"
        held = slot.beams[line].feed(blocked, now.mono, slot.cfg.settle_s)
        if held is not None:
            self._accept(slot, line, held, now, out)
        self.settle(slot, line, now, out)

    def settle(self, slot: DoorSlot, line: Line, now: Now, out: Effects) -> None:
        """Accept ``line``'s value once it held for the door's settle time; else wake then."""
        settled = slot.contact if line == "contact" else slot.beams[line]
        value = settled.settle(now.mono, slot.cfg.settle_s)
        self.b.deadlines.set(SettleDue(slot.cfg.door_id, line), settled.due(slot.cfg.settle_s))
        if value is not None:
            self._accept(slot, line, value, now, out)

    def _accept(self, slot: DoorSlot, line: Line, value: bool, now: Now, out: Effects) -> None:
        if line == "contact":
            self.b.apply(slot, slot.machine.contact(value, now.mono), out)
        else:
            self._beam_settled(slot, "a" if line == "beam_a" else "b", value, now, out)

    def exit(self, slot: DoorSlot, pressed: bool, now: Now, out: Effects) -> None:
        """The raw exit button line changed: the first press acts at once."""
        if not slot.exit.feed(pressed, now.mono, slot.cfg.settle_s):
            return
        self.b.apply(slot, slot.machine.exit_request(now.mono), out)
        out.append(fx.Emit(EventType.EXIT_REQUEST, slot.cfg.door_id))

    def _beam_settled(
        self, slot: DoorSlot, beam: Beam, blocked: bool, now: Now, out: Effects
    ) -> None:
        assert slot.counter is not None
        door, occupancy = slot.cfg.door_id, self.b.occupancy
        direction = slot.counter.beam(beam, blocked, now.mono)
        if direction == "in":
            just_full = occupancy.enter()
            self.b.apply(slot, slot.machine.person_entered(now.mono), out)
            details = {"inside": occupancy.inside}
            out.append(fx.Emit(EventType.OCCUPANCY_IN, door, details=details))
            if just_full:
                full = {"inside": occupancy.inside, "capacity": occupancy.capacity}
                out.append(fx.Emit(EventType.OCCUPANCY_FULL, None, details=full))
        elif direction == "out":
            occupancy.leave()
            details = {"inside": occupancy.inside}
            out.append(fx.Emit(EventType.OCCUPANCY_OUT, door, details=details))
        else:
            return
        self.b.publish_occupancy(out)

    def fire(self, active: bool, now: Now, out: Effects) -> None:
        """Activation acts at once; clearing waits until the input has been quiet a while."""
        self._fire_raw = active
        if active:
            self.b.deadlines.set(FireClearDue(), None)
            if not self.b.fire_active:
                self._set_fire(True, now, out)
        elif self.b.fire_active:
            if self.b.cfg.fire_clear_s <= 0:
                self._set_fire(False, now, out)
            else:
                self.b.deadlines.set(FireClearDue(), now.mono + self.b.cfg.fire_clear_s)

    def fire_quiet(self, now: Now, out: Effects) -> None:
        """The clear time passed: the alarm clears if the input stayed quiet."""
        if not self._fire_raw and self.b.fire_active:
            self._set_fire(False, now, out)

    def _set_fire(self, active: bool, now: Now, out: Effects) -> None:
        self.b.fire_active = active
        steps = [(s, s.machine.fire(active, now.mono)) for s in self.b.doors.values()]
        for slot, step in steps:
            out.append(fx.SetRelay(slot.cfg.door_id, step.locked))
        out.append(fx.Emit(EventType.FIRE_ALARM if active else EventType.FIRE_CLEARED, None))
        for slot, step in steps:
            self.b.apply(slot, step, out)
