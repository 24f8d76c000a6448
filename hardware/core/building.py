"""The state the core's parts share: the doors, the count, the fire, the opening, the deadlines.

Also the few ways that state reaches the world, so every part applies a door's step, and
republishes what changed, in one way.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from hardware.core import effects as fx
from hardware.core.config import CoreConfig
from hardware.core.door_slot import DoorSlot
from hardware.core.inputs import Now
from hardware.core.timers import Deadlines, DoorDue, OpeningDue
from hardware.door import Step
from services.core.access import Reason
from services.core.events import EventType
from services.core.occupancy import Occupancy
from services.core.schedule import Opening, OpeningState, Schedule

Effects = list[fx.Effect]

# An opening state with no end in the schedule's look-ahead is asked again this often.
RECHECK_OPEN_ENDED_S = 3600.0


class Building:
    """Every door of one controller and the building-wide state around them."""

    def __init__(self, cfg: CoreConfig, schedule: Schedule, inside: int) -> None:
        self.cfg = cfg
        self.schedule = schedule
        self.doors = {d.door_id: DoorSlot.build(d) for d in cfg.doors}
        self.reader_door = {r: d.door_id for d in cfg.doors for r in d.readers}
        self.occupancy = Occupancy(cfg.rules.capacity, inside)
        self.fire_active = False
        self.opening: Opening | None = None
        self._opening_checked = 0.0
        self.deadlines = Deadlines()
        # The building's own hold on new entries (hardware/core/evening.py sets it).
        self.hold: Callable[[datetime], Reason | None] = lambda _wall: None
        # Disarm the panel for a member at ``door`` who may; the feedback deadline (monotonic),
        # or None when there is no armed panel to disarm (hardware/core/evening.py sets it).
        self.disarm: Callable[[str, Now, Effects], float | None] = lambda _door, _now, _out: None

    @property
    def staffed(self) -> bool:
        """Whether staffed hours are on now."""
        return self.opening is not None and self.opening.state is OpeningState.STAFFED

    def apply(self, slot: DoorSlot, step: Step, out: Effects) -> None:
        """Carry a door machine's step out: relay, deadline, events, retained state."""
        door = slot.cfg.door_id
        out.append(fx.SetRelay(door, step.locked))
        self.deadlines.set(DoorDue(door), step.deadline)
        for ev in step.events:
            out.append(fx.Emit(ev.type, door, reason=ev.reason, details=ev.details))
        self.publish(slot, out)

    def publish(self, slot: DoorSlot, out: Effects, *, force: bool = False) -> None:
        """Republish the retained state whenever any of it changed (mode, fire, alarm...)."""
        snapshot = (slot.machine.state, tuple(sorted(slot.readers.items())))
        if snapshot == slot.published and not force:
            return
        slot.published = snapshot
        out.append(fx.PublishDoor(slot.cfg.door_id, snapshot[0], dict(slot.readers)))

    def publish_occupancy(self, out: Effects, *, save: bool = True) -> None:
        """The count changed (``save``) or is announced."""
        if save:
            out.append(fx.SaveOccupancy(self.occupancy.inside))
        out.append(fx.PublishOccupancy(self.occupancy.inside, self.occupancy.capacity))

    def current_opening(self, now: Now, out: Effects) -> Opening:
        """The opening state at ``now``: the known one until it runs out, then the schedule's.

        Asking the schedule costs a millisecond or more (holidays, look-ahead); a decision on
        its way to the relay only pays that when the known state has ended.
        """
        known = self.opening
        stale = known is None or (
            now.wall >= known.until
            if known.until is not None
            else now.mono - self._opening_checked >= RECHECK_OPEN_ENDED_S
        )
        if stale:
            self.check_opening(now, out)
        assert self.opening is not None
        return self.opening

    def check_opening(self, now: Now, out: Effects) -> None:
        """Follow the schedule: staffed hours stand the doors open; closing resets the count."""
        opening = self.schedule.at(now.wall)
        self._opening_checked = now.mono
        previous, self.opening = self.opening, opening
        if opening.until is not None:
            # Wake at the change itself, so staffed hours end on the minute.
            self.deadlines.set(OpeningDue(), now.mono + (opening.until - now.wall).total_seconds())
        if previous is not None and previous.state is opening.state:
            return
        staffed = opening.state is OpeningState.STAFFED
        for slot in self.doors.values():
            self.apply(slot, slot.machine.set_staffed(staffed, now.mono), out)
        out.append(fx.PublishOpening(opening))
        # With the evening run here, the count is the sweep's: it resets when staff say swept.
        keeps_count = self.cfg.evening is not None
        if opening.state is OpeningState.CLOSED and previous is not None and not keeps_count:
            inside = self.occupancy.inside
            self.occupancy.reset()
            details = {"inside_at_closing": inside}
            out.append(fx.Emit(EventType.OCCUPANCY_RESET, None, details=details))
            self.publish_occupancy(out)
