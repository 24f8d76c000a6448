"""What the "Tonight" page shows: tonight's closing and tomorrow's opening, step by step.

The plan comes from the schedule and the site's sequences (the same pure
:func:`services.core.evening.plan` the door controller runs), each step's outcome from the
events the recorder stored (they name their step by its key), and the phase, people inside,
the panel and the minutes staff added from the retained ``building`` state the controller
publishes. Nothing here asks the controller anything.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.bus.topics import TopicKind, Topics
from services.core.evening import Change, PlannedStep, SequenceRules, plan
from services.core.events import EventType
from services.core.schedule import Schedule
from services.store.recorder import EventRecord

LOOK_BACK = timedelta(hours=30)
LOOK_AHEAD = timedelta(hours=36)

# A stored event naming a step, and what it says of that step's outcome.
OUTCOME_OF = {
    EventType.CLOSING_ANNOUNCED: "done",
    EventType.LIGHTS_CHANGED: "done",
    EventType.EQUIPMENT_CHANGED: "done",
    EventType.ADMISSION_STOPPED: "done",
    EventType.ALARM_ARMED: "done",
    EventType.ALARM_DISARMED: "done",
    EventType.ALARM_ARM_REFUSED: "waiting",
    EventType.ALARM_NO_FEEDBACK: "failed",
    EventType.BUILDING_STEP_SKIPPED: "skipped",
}


@dataclass(frozen=True, slots=True)
class StepRow:
    """One planned step as staff read it: when, what, and how it went."""

    key: str
    at: datetime
    change: str
    action: str
    target: str
    outcome: str  # done, failed, waiting (for the sweep), skipped, planned, or unknown
    inside: int | None = None  # with "waiting": how many were counted inside


@dataclass(frozen=True, slots=True)
class Tonight:
    """The page's data: the steps, the closing they lead to, and the building's retained state."""

    steps: tuple[StepRow, ...]
    closing_at: datetime | None
    state: Mapping[str, Any] | None  # the controller's retained ``building`` state, if heard

    @property
    def panel(self) -> Mapping[str, bool] | None:
        """The alarm panel's inputs (armed, alarm, fault), when one is wired and heard of."""
        panel = None if self.state is None else self.state.get("panel")
        return panel if isinstance(panel, dict) else None

    @property
    def inside(self) -> int | None:
        """People counted inside, as the controller said last."""
        inside = None if self.state is None else self.state.get("inside")
        return inside if isinstance(inside, int) else None

    @property
    def phase(self) -> str | None:
        """Where the evening stands (open, closing, last_entry, sweep, arming, armed, closed…)."""
        phase = None if self.state is None else self.state.get("phase")
        return phase if isinstance(phase, str) else None


class BuildingStates:
    """The retained ``building`` state of each site, as heard on the bus (network thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._states: dict[str, dict[str, Any]] = {}

    def attach(self, topics: Topics, subscribe: Any) -> None:
        """Listen to ``topics``' site's building state through the bus's ``subscribe``."""

        def on_message(topic: str, payload: bytes) -> None:
            route = topics.parse(topic)
            if route is not None and route.kind is TopicKind.BUILDING:
                self.update(topics.site, payload)

        subscribe(topics.building, on_message)

    def update(self, site_id: str, payload: bytes) -> None:
        """Keep ``payload`` as the site's state; one that is not a JSON object is ignored."""
        try:
            data = json.loads(payload)
        except ValueError:
            return
        if isinstance(data, dict):
            with self._lock:
                self._states[site_id] = data

    def get(self, site_id: str) -> dict[str, Any] | None:
        """The last state heard of ``site_id``."""
        with self._lock:
            state = self._states.get(site_id)
            return None if state is None else dict(state)


def _evening(steps: list[PlannedStep], now: datetime) -> list[PlannedStep]:
    """The closing under way or next, and the opening after it."""
    closings = sorted({s.change_at for s in steps if s.change is Change.CLOSES})
    openings = sorted({s.change_at for s in steps if s.change is Change.OPENS})
    past = [c for c in closings if c <= now]
    chosen = None
    if past:
        after = [o for o in openings if o > past[-1]]
        if not after or now < after[0]:
            chosen = past[-1]
    if chosen is None:
        chosen = next((c for c in closings if c > now), None)
    if chosen is None:
        return []
    opening = next((o for o in openings if o > chosen), None)
    return [s for s in steps if s.change_at in (chosen, opening)]


def step_outcomes(
    session: Session, site_id: str, keys: set[str], since: datetime
) -> dict[str, tuple[str, int | None]]:
    """The outcome the stored events of ``site_id`` give each step in ``keys`` (latest wins,
    except that a step once done stays done), with the count inside for one that waited."""
    rows = session.scalars(
        select(EventRecord)
        .where(EventRecord.site == site_id, EventRecord.ts >= since)
        .where(EventRecord.type.in_([str(t) for t in OUTCOME_OF]))
        .order_by(EventRecord.ts, EventRecord.id)
    )
    found: dict[str, tuple[str, int | None]] = {}
    for event in rows:
        details = event.details or {}
        key = details.get("step")
        if key not in keys or found.get(key, ("",))[0] == "done":
            continue
        inside = details.get("inside")
        count = inside if isinstance(inside, int) else None
        found[key] = (OUTCOME_OF[EventType(event.type)], count)
    return found


def tonight(
    session: Session,
    site_id: str,
    schedule: Schedule,
    rules: SequenceRules,
    now: datetime,
    state: Mapping[str, Any] | None,
) -> Tonight:
    """Tonight at ``site_id``: its steps with their outcomes, and its retained state."""
    steps = _evening(plan(schedule, rules, now - LOOK_BACK, now + LOOK_AHEAD), now)
    extended = state.get("extended_min", {}) if state else {}
    if not isinstance(extended, dict):
        extended = {}
    outcomes = (
        step_outcomes(session, site_id, {s.key for s in steps}, steps[0].at - LOOK_BACK)
        if steps
        else {}
    )
    waiting = state.get("next") if state else None
    rows = []
    for step in steps:
        minutes = extended.get(step.change_at.isoformat(), 0)
        at = step.at + timedelta(minutes=minutes if isinstance(minutes, int) else 0)
        outcome, inside = outcomes.get(step.key, ("", None))
        if not outcome:
            outcome = "planned" if at > now else "unknown"
        if (
            isinstance(waiting, dict)
            and waiting.get("waiting")
            and waiting.get("action") == str(step.rule.action)
            and waiting.get("at") == at.isoformat()
            and outcome != "done"
        ):
            outcome = "waiting"
        rows.append(
            StepRow(
                step.key,
                at,
                str(step.change),
                str(step.rule.action),
                step.rule.target,
                outcome,
                inside,
            )
        )
    closing = next((s.change_at for s in steps if s.change is Change.CLOSES), None)
    return Tonight(tuple(rows), closing, state)
