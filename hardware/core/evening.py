"""The building's evening and morning: a pure machine beside the doors, fed by the same core.

The plan (:func:`services.core.evening.plan`) says which step comes when; this machine carries
the steps out in order as time passes, and holds where the building says so:

- a step of a closing at or after the closing instant (lights off, equipment off, arm) waits for
  an empty building: the *sweep*. With people counted inside nothing is armed; staff get
  ``alarm.arm_refused`` with the count and the last entries, the "still inside" message repeats
  and the sweep is retried every ``sweep_retry_s``, until the count reaches 0 or staff say
  "swept" (which also resets the count);
- arm and disarm wait for the panel's *armed* feedback; none within ``feedback_timeout_s`` is
  ``alarm.no_feedback``, and the step is tried again after ``sweep_retry_s``;
- the steps after a disarm wait for it, and no door admits while the panel reports armed.

Restart-safe by construction: the steps done are kept (:class:`~hardware.core.progress.Progress`),
a missed step of the latest change runs once when the controller is back, an announcement found
later than ``stale_after_s`` is not played, arming and disarming follow the panel's own feedback
(a panel already armed is never armed again), and the steps of an earlier change are superseded
once the next change's steps begin.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from hardware.core import effects as fx
from hardware.core.building import Building, Effects
from hardware.core.config import EveningConfig
from hardware.core.inputs import Now
from hardware.core.progress import Outcome, Progress
from hardware.core.timers import EveningDue
from services.core.access import Reason
from services.core.building_commands import BuildingAction, BuildingOrder
from services.core.evening import EVERY, Action, Change, PlannedStep, plan
from services.core.events import EventType
from services.core.schedule import OpeningState, Schedule

PLAN_BACK = timedelta(days=1)  # a sweep can wait all night: the last change stays in view
PLAN_AHEAD = timedelta(days=2)
REPLAN_AFTER = timedelta(hours=6)
LAST_ENTRIES = 5  # shown with "people still inside"
STILL_INSIDE = "still_inside"  # the message repeated while the sweep waits


class Phase:
    """Where the evening stands (the retained state's ``phase``)."""

    OPEN = "open"
    CLOSING = "closing"  # a closing's steps have begun; doors still admit
    LAST_ENTRY = "last_entry"  # no new entries until closing
    SWEEP = "sweep"  # closed, waiting for an empty building
    ARMING = "arming"  # arm sent, waiting for the panel's feedback
    ARMED = "armed"
    DISARMING = "disarming"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class _Waiting:
    """An arm or disarm sent to the panel, and when its feedback is overdue."""

    armed: bool
    deadline: float


class Evening:
    """Runs the sequences of one building; the core feeds it and it appends effects."""

    def __init__(
        self,
        cfg: EveningConfig,
        schedule: Schedule,
        building: Building,
        saved: Mapping[str, Any] | None = None,
    ) -> None:
        self.cfg, self.schedule, self.b = cfg, schedule, building
        self.progress = Progress.from_json(saved or {})
        self.panel = {"armed": False, "alarm": False, "fault": False}
        self._plan: list[PlannedStep] = []
        self._planned_at: datetime | None = None
        self._blocked: PlannedStep | None = None
        self._waiting: _Waiting | None = None
        self._sent_for: str | None = None  # the step whose arm or disarm was sent
        self._sweep_retry_at: float | None = None  # monotonic
        self._panel_retry_at: float | None = None
        self._entries: deque[dict[str, str]] = deque(maxlen=LAST_ENTRIES)
        self._published: Mapping[str, Any] | None = None
        self._saved: Mapping[str, Any] | None = None
        self._entry_disarm: tuple[str, float] | None = None  # (door, feedback deadline)
        building.hold = self.hold
        building.disarm = self.disarm_for_entry

    # --- inputs ------------------------------------------------------------------------------

    def start(self, panel: Mapping[str, bool], now: Now, out: Effects) -> None:
        """The controller starts: restore the outputs' levels, then catch up with the plan."""
        self.panel.update({k: bool(v) for k, v in panel.items() if k in self.panel})
        for zone, on in self.progress.lights.items():
            out.append(fx.SetOutput("lights", zone, on))
        for group, on in self.progress.equipment.items():
            out.append(fx.SetOutput("equipment", group, on))
        if self.cfg.panel and self.progress.panel is not None:
            out.append(fx.SetPanel(self.progress.panel, restore=True))
        self._saved = self.progress.to_json()  # what was read is what is on disk
        self.advance(now, out)

    def panel_changed(self, line: str, active: bool, now: Now, out: Effects) -> None:
        """An input of the panel changed: feedback, an intrusion or a fault."""
        before = self.panel.get(line)
        self.panel[line] = active
        if before == active:
            return
        if line == "armed" and not active and self._entry_disarm is not None:
            door, _ = self._entry_disarm
            self._entry_disarm = None
            details = {"by": "member", "door": door}
            out.append(fx.Emit(EventType.ALARM_DISARMED, None, reason="member", details=details))
        if line == "alarm" and active and self.panel["armed"]:
            out.append(fx.Emit(EventType.ALARM_INTRUSION, None, reason="panel"))
        if line == "fault" and active:
            out.append(fx.Emit(EventType.ALARM_PANEL_FAULT, None, reason="panel"))
        self.advance(now, out)

    def door_event(self, etype: EventType, door: str | None, credential: str | None) -> Effects:
        """A door's event: an entry to remember, or a door forced open over an armed building."""
        if etype is EventType.ACCESS_GRANTED and credential is not None and door is not None:
            self._entries.append({"door": door, "credential": credential})
        if etype is EventType.DOOR_FORCED_OPEN and self.panel["armed"]:
            return [fx.Emit(EventType.ALARM_INTRUSION, door, reason="door_forced_open")]
        return []

    def order(self, order: BuildingOrder, now: Now, out: Effects) -> str | None:
        """Carry out a staff order; the problem if it cannot be now (None: done)."""
        blocked = self._blocked
        match order.action:
            case BuildingAction.ANNOUNCE:
                assert order.message is not None
                self._announce(order.message, None, now, out, by=order.by)
            case BuildingAction.SWEPT:
                if blocked is None or not blocked.after_sweep:
                    return "nothing waits for a sweep now"
                change = blocked.change_at.isoformat()
                self.progress.swept.add(change)
                inside = self.b.occupancy.inside
                self.b.occupancy.reset()
                self.b.publish_occupancy(out)
                details = {"by": order.by, "inside_before": inside, "change": change}
                out.append(fx.Emit(EventType.BUILDING_SWEPT, None, details=details))
                self._sweep_retry_at = self._panel_retry_at = None
            case BuildingAction.EXTEND:
                target = self._closing_to_extend(now)
                if target is None:
                    return "no closing to extend"
                assert order.minutes is not None
                total = self.progress.extended.get(target, 0) + order.minutes
                self.progress.extended[target] = total
                details = {"by": order.by, "minutes": order.minutes, "total": total}
                out.append(fx.Emit(EventType.BUILDING_EXTENDED, None, details=details))
        self.advance(now, out)
        return None

    def disarm_for_entry(self, door: str, now: Now, out: Effects) -> float | None:
        """A member whose group may disarm is at ``door`` while the panel is armed: order the
        disarm (once, however many wait) and say by when its feedback is due; None when there is
        no armed panel (then nothing is sent)."""
        if not (self.cfg.panel and self.panel["armed"]):
            return None
        if self._entry_disarm is not None and now.mono < self._entry_disarm[1]:
            return self._entry_disarm[1]
        deadline = now.mono + self.cfg.feedback_timeout_s
        self._entry_disarm = (door, deadline)
        out.append(fx.SetPanel(False))
        self.progress.panel = False  # a restart must not arm again over the member inside
        self._publish(now, out)
        return deadline

    def hold(self, wall: datetime) -> Reason | None:
        """Why no door may admit now, if the building says so (exits always work)."""
        if self.cfg.panel and self.panel["armed"]:
            return Reason.ALARM_ARMED  # entering would set off the siren
        if self._last_entry(wall):
            return Reason.LAST_ENTRY
        return None

    # --- the sequence ------------------------------------------------------------------------

    def advance(self, now: Now, out: Effects) -> None:
        """Carry out every step that is due, in order, until one has to wait."""
        self._replan(now.wall)
        due = [s for s in self._plan if s.key not in self.progress.done and self._at(s) <= now.wall]
        self._blocked = None
        if due:
            latest = max(s.change_at for s in due)
            for step in due:
                if step.change_at < latest:
                    self._finish(step, Outcome.SUPERSEDED)
                    details = {"step": step.key, "action": str(step.rule.action)}
                    out.append(fx.Emit(EventType.BUILDING_STEP_SKIPPED, None, details=details))
            for step in (s for s in due if s.change_at == latest):
                if not self._run(step, now, out):
                    self._blocked = step
                    break
        if self._blocked is None:
            # Nothing waits: a retry or feedback deadline left from a superseded step would
            # wake the shell at once, and again, for ever.
            self._waiting = self._sweep_retry_at = self._panel_retry_at = None
        self._wake(now)
        self._publish(now, out)

    def _run(self, step: PlannedStep, now: Now, out: Effects) -> bool:
        """Carry ``step`` out; False when it has to wait (and it stays not done)."""
        rule = step.rule
        if step.after_sweep:
            if not self._empty(step):
                self._refuse(step, now, out)
                return False
            self._sweep_retry_at = None
        match rule.action:
            case Action.ANNOUNCE:
                late = (now.wall - self._at(step)).total_seconds()
                if late > self.cfg.stale_after_s:
                    self._finish(step, Outcome.STALE)
                    return True
                self._announce(rule.target, step, now, out)
            case Action.LIGHTS_ON | Action.LIGHTS_OFF:
                on = rule.action is Action.LIGHTS_ON
                self._switch("lights", self.cfg.zones, rule.target, on, out, step)
            case Action.EQUIPMENT_ON | Action.EQUIPMENT_OFF:
                on = rule.action is Action.EQUIPMENT_ON
                self._switch("equipment", self.cfg.groups, rule.target, on, out, step)
            case Action.STOP_ADMITTING:
                details = {"until": step.change_at.isoformat(), "step": step.key}
                out.append(fx.Emit(EventType.ADMISSION_STOPPED, None, details=details))
            case Action.ARM | Action.DISARM:
                return self._panel_step(step, rule.action is Action.ARM, now, out)
        self._finish(step, Outcome.DONE)
        return True

    def _panel_step(self, step: PlannedStep, arm: bool, now: Now, out: Effects) -> bool:
        if not self.cfg.panel:
            self._finish(step, Outcome.NOT_WIRED)
            return True
        if self.panel["armed"] is arm:
            # Confirmed by the panel, or it already was (after a restart): never sent twice.
            if self._sent_for == step.key:
                etype = EventType.ALARM_ARMED if arm else EventType.ALARM_DISARMED
                out.append(fx.Emit(etype, None, details={"step": step.key}))
            self._waiting = self._panel_retry_at = self._sent_for = None
            self._finish(step, Outcome.DONE)
            return True
        if self._waiting is not None:
            if now.mono >= self._waiting.deadline:
                details = {"step": step.key, "waited_s": self.cfg.feedback_timeout_s}
                reason = "arm" if arm else "disarm"
                out.append(
                    fx.Emit(EventType.ALARM_NO_FEEDBACK, None, reason=reason, details=details)
                )
                self._waiting = None
                self._panel_retry_at = now.mono + self.cfg.sweep_retry_s
            return False
        if self._panel_retry_at is not None and now.mono < self._panel_retry_at:
            return False
        self._panel_retry_at = None
        out.append(fx.SetPanel(arm))
        self.progress.panel = arm
        self._sent_for = step.key
        self._waiting = _Waiting(arm, now.mono + self.cfg.feedback_timeout_s)
        return False

    def _refuse(self, step: PlannedStep, now: Now, out: Effects) -> None:
        """People inside after closing: say so now and again every ``sweep_retry_s``."""
        if self._sweep_retry_at is not None and now.mono < self._sweep_retry_at:
            return
        self._sweep_retry_at = now.mono + self.cfg.sweep_retry_s
        details = {
            "inside": self.b.occupancy.inside,
            "last_entries": list(self._entries),
            "step": step.key,
        }
        out.append(
            fx.Emit(EventType.ALARM_ARM_REFUSED, None, reason="people_inside", details=details)
        )
        if STILL_INSIDE in self.cfg.messages:
            self._announce(STILL_INSIDE, step, now, out)

    def _announce(
        self, message: str, step: PlannedStep | None, now: Now, out: Effects, *, by: str = ""
    ) -> None:
        out.append(fx.Announce(message))
        details: dict[str, Any] = {"message": message}
        if step is not None:
            details |= {"step": step.key, "planned": self._at(step).isoformat()}
        if by:
            details["by"] = by
        out.append(fx.Emit(EventType.CLOSING_ANNOUNCED, None, details=details))

    def _switch(
        self,
        kind: str,
        names: tuple[str, ...],
        target: str,
        on: bool,
        out: Effects,
        step: PlannedStep,
    ) -> None:
        chosen = names if target == EVERY else tuple(n for n in names if n == target)
        levels = self.progress.lights if kind == "lights" else self.progress.equipment
        for name in chosen:
            levels[name] = on
            out.append(fx.SetOutput(kind, name, on))
        etype = EventType.LIGHTS_CHANGED if kind == "lights" else EventType.EQUIPMENT_CHANGED
        # The step's key lets the dashboard's "Tonight" view tell which planned step this was.
        details = {"names": list(chosen), "on": on, "step": step.key}
        out.append(fx.Emit(etype, None, details=details))

    def _finish(self, step: PlannedStep, outcome: Outcome) -> None:
        self.progress.done[step.key] = outcome

    # --- time --------------------------------------------------------------------------------

    def _at(self, step: PlannedStep) -> datetime:
        """The step's instant, later by the minutes staff added to its change."""
        minutes = self.progress.extended.get(step.change_at.isoformat(), 0)
        return step.at + timedelta(minutes=minutes) if minutes else step.at

    def _empty(self, step: PlannedStep) -> bool:
        return self.b.occupancy.inside <= 0 or step.change_at.isoformat() in self.progress.swept

    def _last_entry(self, wall: datetime) -> bool:
        return any(
            s.rule.action is Action.STOP_ADMITTING and self._at(s) <= wall < s.change_at
            for s in self._plan
        )

    def _closing_to_extend(self, now: Now) -> str | None:
        """The closing whose steps are under way or next: what "extend" postpones."""
        for step in self._plan:
            if step.change is Change.CLOSES and step.key not in self.progress.done:
                return step.change_at.isoformat()
        return None

    def _replan(self, wall: datetime) -> None:
        if self._planned_at is not None and wall - self._planned_at < REPLAN_AFTER:
            return
        self._planned_at = wall
        self._plan = plan(self.schedule, self.cfg.rules, wall - PLAN_BACK, wall + PLAN_AHEAD)
        self.progress.keep_only(
            {s.key for s in self._plan}, {s.change_at.isoformat() for s in self._plan}
        )

    def _next(self, now: Now) -> PlannedStep | None:
        return next(
            (s for s in self._plan if s.key not in self.progress.done and self._at(s) > now.wall),
            None,
        )

    def _wake(self, now: Now) -> None:
        wakes = [w for w in (self._sweep_retry_at, self._panel_retry_at) if w is not None]
        if self._waiting is not None:
            wakes.append(self._waiting.deadline)
        wakes = [w for w in wakes if w > now.mono]
        nxt = self._next(now)
        if nxt is not None:
            wakes.append(now.mono + (self._at(nxt) - now.wall).total_seconds())
        self.b.deadlines.set(EveningDue(), min(wakes, default=None))

    # --- what the world sees -----------------------------------------------------------------

    def phase(self, wall: datetime) -> str:
        """Where the evening stands now."""
        if self._waiting is not None:
            return Phase.ARMING if self._waiting.armed else Phase.DISARMING
        if self.cfg.panel and self.panel["armed"]:
            return Phase.ARMED
        if self._blocked is not None and self._blocked.after_sweep:
            return Phase.SWEEP
        opening = self.b.opening
        if opening is not None and opening.state is OpeningState.CLOSED:
            return Phase.CLOSED
        if self._last_entry(wall):
            return Phase.LAST_ENTRY
        closing = any(
            s.change is Change.CLOSES and s.key in self.progress.done and s.change_at > wall
            for s in self._plan
        )
        return Phase.CLOSING if closing else Phase.OPEN

    def state(self, now: Now) -> dict[str, Any]:
        """The retained ``building`` state: phase, next step and when, panel, lights, equipment."""
        nxt = self._blocked or self._next(now)
        return {
            "phase": self.phase(now.wall),
            "next": None
            if nxt is None
            else {
                "action": str(nxt.rule.action),
                "target": nxt.rule.target,
                "at": self._at(nxt).isoformat(),
                "waiting": nxt is self._blocked,
            },
            "panel": dict(self.panel) if self.cfg.panel else None,
            "lights": dict(self.progress.lights),
            "equipment": dict(self.progress.equipment),
            "inside": self.b.occupancy.inside,
            "extended_min": dict(self.progress.extended),
        }

    def _publish(self, now: Now, out: Effects) -> None:
        state = self.state(now)
        if state != self._published:
            self._published = state
            out.append(fx.PublishBuilding(state))
        saved = self.progress.to_json()
        if saved != self._saved:
            self._saved = saved
            out.append(fx.SaveProgress(state["phase"], saved))
