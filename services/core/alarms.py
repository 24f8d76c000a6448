"""Which alarms an event or a state raises or clears. Pure: no I/O, the time is a parameter.

Events raise and clear alarms (they arrive in order from each door's outbox); retained states
only clear them, as a safety net for an end event the recorder never saw (e.g. it ran with a new
session). The one exception is ``status/<component>``, which is a state only: ``offline`` (the
last will) raises, ``online`` clears. The caller passes the keys of the alarms already open, so
raising is idempotent and a clear is only returned for something open.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from services.core.events import Event, EventType


class AlarmKind(StrEnum):
    """What is wrong."""

    HELD_OPEN = "held_open"
    FORCED_OPEN = "forced_open"
    FIRE = "fire"
    INSIDE_AFTER_CLOSING = "inside_after_closing"
    OFFLINE = "offline"
    PIN_ATTACK = "pin_attack"
    PIN_BLOCKED = "pin_blocked"
    READER_OFFLINE = "reader_offline"
    INTRUSION = "intrusion"
    PANEL = "panel"  # the intruder alarm panel did not confirm, or reports a fault


class Severity(StrEnum):
    """Critical alarms are also sent by e-mail and webhook; warnings only show on the dashboard."""

    CRITICAL = "critical"
    WARNING = "warning"


SEVERITY: Mapping[AlarmKind, Severity] = {
    AlarmKind.HELD_OPEN: Severity.WARNING,
    AlarmKind.FORCED_OPEN: Severity.CRITICAL,  # a break-in, or a faulty lock
    AlarmKind.FIRE: Severity.CRITICAL,
    AlarmKind.INSIDE_AFTER_CLOSING: Severity.CRITICAL,  # someone may be locked in
    AlarmKind.OFFLINE: Severity.WARNING,  # the door controller's is CRITICAL, see offline_severity
    AlarmKind.PIN_ATTACK: Severity.WARNING,
    AlarmKind.PIN_BLOCKED: Severity.WARNING,
    AlarmKind.READER_OFFLINE: Severity.WARNING,
    AlarmKind.INTRUSION: Severity.CRITICAL,
    AlarmKind.PANEL: Severity.CRITICAL,  # the building may stand unarmed, or locked to all
}

# No event ends these: staff acknowledging them resolves them.
LATCHED = frozenset(
    {
        AlarmKind.PIN_ATTACK,
        AlarmKind.PIN_BLOCKED,
        AlarmKind.INSIDE_AFTER_CLOSING,
        AlarmKind.INTRUSION,
    }
)
# One alarm per event rather than one per source: each blocked card needs its own reset.
STACKING = frozenset({AlarmKind.PIN_BLOCKED})
# Door controllers are `door-<controller id>`; a lone `door` is a controller of an older release.
DOOR_CONTROLLER = "door"
# Tools that connect for one message and leave (`aabent sim`, the demo script): their
# "offline" is the normal end of their work, not an outage.
TRANSIENT_COMPONENTS = frozenset({"sim", "demo"})

OpenKey = tuple[AlarmKind, str]


@dataclass(frozen=True, slots=True)
class Raise:
    """Open an alarm."""

    kind: AlarmKind
    source: str
    severity: Severity
    message: str
    at: datetime
    event_id: str | None = None


@dataclass(frozen=True, slots=True)
class Clear:
    """Close the open alarm of ``kind`` at ``source``."""

    kind: AlarmKind
    source: str
    at: datetime


Action = Raise | Clear


def offline_severity(component: str) -> Severity:
    """A door controller offline is critical (nothing is watched); any other process a warning."""
    return Severity.CRITICAL if is_door_controller(component) else Severity.WARNING


def is_door_controller(component: str) -> bool:
    """Whether ``component`` (of ``status/<component>``) is a door controller."""
    return component == DOOR_CONTROLLER or component.startswith(DOOR_CONTROLLER + "-")


def _raise(
    kind: AlarmKind,
    source: str,
    message: str,
    at: datetime,
    open_keys: Collection[OpenKey],
    event_id: str | None = None,
    severity: Severity | None = None,
) -> list[Action]:
    if kind not in STACKING and (kind, source) in open_keys:
        return []
    return [Raise(kind, source, severity or SEVERITY[kind], message, at, event_id)]


def _clear(
    kinds: Collection[AlarmKind], source: str, at: datetime, open_keys: Collection[OpenKey]
) -> list[Action]:
    return [Clear(kind, source, at) for kind in kinds if (kind, source) in open_keys]


def _reader(event: Event) -> str:
    reader = event.details.get("reader")
    return reader if isinstance(reader, str) and reader else event.source


def _held_open(e: Event, keys: Collection[OpenKey]) -> list[Action]:
    seconds = e.details.get("seconds")
    how_long = f" i {seconds:.0f} s" if isinstance(seconds, int | float) else ""
    msg = f"Døren {e.source} står åben{how_long}"
    return _raise(AlarmKind.HELD_OPEN, e.source, msg, e.ts, keys, e.id)


def _forced_open(e: Event, keys: Collection[OpenKey]) -> list[Action]:
    msg = f"Døren {e.source} blev åbnet uden at være låst op (brudt op?)"
    return _raise(AlarmKind.FORCED_OPEN, e.source, msg, e.ts, keys, e.id)


def _door_closed(e: Event, keys: Collection[OpenKey]) -> list[Action]:
    return _clear((AlarmKind.HELD_OPEN, AlarmKind.FORCED_OPEN), e.source, e.ts, keys)


def _fire(e: Event, keys: Collection[OpenKey]) -> list[Action]:
    msg = "Brandalarm: alle døre er låst op"
    return _raise(AlarmKind.FIRE, e.source, msg, e.ts, keys, e.id)


def _fire_cleared(e: Event, keys: Collection[OpenKey]) -> list[Action]:
    return _clear((AlarmKind.FIRE,), e.source, e.ts, keys)


def _occupancy_reset(e: Event, keys: Collection[OpenKey]) -> list[Action]:
    inside = e.details.get("inside_at_closing")
    if isinstance(inside, bool) or not isinstance(inside, int) or inside <= 0:
        return []
    msg = f"{inside} person(er) talt inde ved lukketid"
    return _raise(AlarmKind.INSIDE_AFTER_CLOSING, e.source, msg, e.ts, keys, e.id)


def _opening_changed(e: Event, keys: Collection[OpenKey]) -> list[Action]:
    if e.reason == "closed":
        return []
    return _clear((AlarmKind.INSIDE_AFTER_CLOSING,), e.source, e.ts, keys)


def _reader_offline(e: Event, keys: Collection[OpenKey]) -> list[Action]:
    reader = _reader(e)
    why = f": {e.reason}" if e.reason else ""
    msg = f"Læseren {reader} ved døren {e.source} svarer ikke{why}"
    return _raise(AlarmKind.READER_OFFLINE, reader, msg, e.ts, keys, e.id)


def _reader_online(e: Event, keys: Collection[OpenKey]) -> list[Action]:
    return _clear((AlarmKind.READER_OFFLINE,), _reader(e), e.ts, keys)


def _reader_attack(e: Event, keys: Collection[OpenKey]) -> list[Action]:
    reader = _reader(e)
    cards = e.details.get("cards")
    many = f"{cards} forskellige kort" if isinstance(cards, int) else "flere kort"
    msg = f"Forkert PIN med {many} ved læseren {reader}: muligt angreb, læseren er bremset"
    return _raise(AlarmKind.PIN_ATTACK, reader, msg, e.ts, keys, e.id)


def _pin_blocked(e: Event, keys: Collection[OpenKey]) -> list[Action]:
    failures = e.details.get("failures_24h")
    count = f"{failures} forkerte PIN" if isinstance(failures, int) else "for mange forkerte PIN"
    msg = f"Et kort er spærret efter {count} på 24 timer (døren {e.source}); nulstil i personalet"
    return _raise(AlarmKind.PIN_BLOCKED, e.source, msg, e.ts, keys, e.id)


def _arm_refused(e: Event, keys: Collection[OpenKey]) -> list[Action]:
    inside = e.details.get("inside")
    count = f"{inside} person(er)" if isinstance(inside, int) else "Personer"
    msg = f"{count} talt inde efter lukketid: alarmen er ikke slået til"
    return _raise(AlarmKind.INSIDE_AFTER_CLOSING, e.source, msg, e.ts, keys, e.id)


def _armed_or_swept(e: Event, keys: Collection[OpenKey]) -> list[Action]:
    kinds = (AlarmKind.INSIDE_AFTER_CLOSING, AlarmKind.PANEL)
    return _clear(kinds, e.source, e.ts, keys)


def _disarmed(e: Event, keys: Collection[OpenKey]) -> list[Action]:
    return _clear((AlarmKind.PANEL,), e.source, e.ts, keys)


def _intrusion(e: Event, keys: Collection[OpenKey]) -> list[Action]:
    where = f"døren {e.source} brudt op" if e.reason == "door_forced_open" else "alarmcentralen"
    msg = f"Indbrud mens alarmen er slået til: {where}"
    return _raise(AlarmKind.INTRUSION, e.source, msg, e.ts, keys, e.id)


def _panel(e: Event, keys: Collection[OpenKey]) -> list[Action]:
    if e.type is EventType.ALARM_PANEL_FAULT:
        msg = "Alarmcentralen melder fejl"
    elif e.reason == "arm":
        msg = "Alarmcentralen bekræftede ikke tilkoblingen: bygningen er måske ikke sikret"
    else:
        msg = "Alarmcentralen bekræftede ikke frakoblingen: dørene lukker ikke ind"
    return _raise(AlarmKind.PANEL, e.source, msg, e.ts, keys, e.id)


_EVENT_RULES: Mapping[EventType, Callable[[Event, Collection[OpenKey]], list[Action]]] = {
    EventType.DOOR_HELD_OPEN: _held_open,
    EventType.DOOR_FORCED_OPEN: _forced_open,
    EventType.DOOR_CLOSED: _door_closed,
    EventType.FIRE_ALARM: _fire,
    EventType.FIRE_CLEARED: _fire_cleared,
    EventType.OCCUPANCY_RESET: _occupancy_reset,
    EventType.OPENING_CHANGED: _opening_changed,
    EventType.READER_OFFLINE: _reader_offline,
    EventType.READER_ONLINE: _reader_online,
    EventType.READER_ATTACK: _reader_attack,
    EventType.PIN_BLOCKED: _pin_blocked,
    EventType.ALARM_ARM_REFUSED: _arm_refused,
    EventType.ALARM_ARMED: _armed_or_swept,
    EventType.BUILDING_SWEPT: _armed_or_swept,
    EventType.ALARM_DISARMED: _disarmed,
    EventType.ALARM_INTRUSION: _intrusion,
    EventType.ALARM_NO_FEEDBACK: _panel,
    EventType.ALARM_PANEL_FAULT: _panel,
}


# The event types that can raise or clear an alarm; any other derives nothing (the recorder
# then need not look up the site's open alarms at all: entries and passes are most events).
ALARMING_EVENTS: frozenset[EventType] = frozenset(_EVENT_RULES)


def from_event(event: Event, open_keys: Collection[OpenKey]) -> list[Action]:
    """The alarms ``event`` raises or clears, given the (kind, source) of those open now."""
    rule = _EVENT_RULES.get(event.type)
    return rule(event, open_keys) if rule is not None else []


def _door_state(
    door: str, payload: Mapping[str, Any], open_keys: Collection[OpenKey], now: datetime
) -> list[Action]:
    actions: list[Action] = []
    if payload.get("contact") == "closed" and payload.get("alarm") is None:
        actions += _clear((AlarmKind.HELD_OPEN, AlarmKind.FORCED_OPEN), door, now, open_keys)
    readers = payload.get("readers")
    if isinstance(readers, Mapping):
        for reader, status in readers.items():
            if status == "online":
                actions += _clear((AlarmKind.READER_OFFLINE,), str(reader), now, open_keys)
    return actions


def _status(
    component: str, status: Any, open_keys: Collection[OpenKey], now: datetime
) -> list[Action]:
    if status == "online":
        return _clear((AlarmKind.OFFLINE,), component, now, open_keys)
    if status != "offline" or component in TRANSIENT_COMPONENTS:
        return []
    msg = (
        f"Dørcontrolleren {component} er offline: dens døre, læsere og alarmer overvåges ikke"
        if is_door_controller(component)
        else f"Komponenten {component} er offline"
    )
    severity = offline_severity(component)
    return _raise(AlarmKind.OFFLINE, component, msg, now, open_keys, severity=severity)


def from_state(
    key: str, payload: Mapping[str, Any], open_keys: Collection[OpenKey], now: datetime
) -> list[Action]:
    """The alarms a retained state raises or clears; ``key`` as in ``component_states``."""
    kind, _, subject = key.partition("/")
    if kind == "door" and subject:
        return _door_state(subject, payload, open_keys, now)
    if kind == "status" and subject:
        return _status(subject, payload.get("status"), open_keys, now)
    return []


# An outage this kind of alarm reports that ended by itself soon (a restart, a brief network
# hiccup) is a notice, not an alarm a person must acknowledge with a comment.
SELF_RESOLVING = frozenset({AlarmKind.OFFLINE, AlarmKind.READER_OFFLINE})


def resolved_itself(
    kind: str, raised_at: datetime, cleared_at: datetime, within: timedelta
) -> bool:
    """True when an alarm of ``kind`` cleared by itself within ``within`` of being raised."""
    return kind in SELF_RESOLVING and cleared_at - raised_at <= within
