"""Which events each event topic may carry, and in whose name. Pure: no I/O.

The broker's ACL says who may write a topic; it cannot look inside a message. So a kiosk's
credentials, which may write the kiosk's event topic, could otherwise put a forced door or
twenty visitors into the record. Here each topic accepts only the event types its component
emits, with the topic's own door or kiosk as the source: a kiosk emits check-ins and its own PIN
and reader events, a door its own doings, the building (``source`` ``site``) fire, opening and
occupancy changes and its evening (announcements, lights, the alarm panel, the sweep). Everything
else is refused (counted and logged by the recorder).
"""

from __future__ import annotations

from services.bus.topics import SITE_SOURCE, TopicKind
from services.core.events import Event, EventType

KIOSK_EVENTS = frozenset(
    {
        EventType.ACTIVITY_CHECKIN,
        EventType.PIN_BLOCKED,
        EventType.PIN_LOCKED_OUT,
        EventType.READER_ATTACK,
        EventType.READER_ERROR,
        EventType.READER_OFFLINE,
        EventType.READER_ONLINE,
        EventType.SIP2_OFFLINE,
        EventType.SIP2_ONLINE,
    }
)
# The building's evening and morning (hardware/core/evening.py) speak for the building too.
EVENING_EVENTS = frozenset(
    {
        EventType.CLOSING_ANNOUNCED,
        EventType.LIGHTS_CHANGED,
        EventType.EQUIPMENT_CHANGED,
        EventType.ADMISSION_STOPPED,
        EventType.ALARM_ARMED,
        EventType.ALARM_DISARMED,
        EventType.ALARM_ARM_REFUSED,
        EventType.ALARM_NO_FEEDBACK,
        EventType.ALARM_INTRUSION,
        EventType.ALARM_PANEL_FAULT,
        EventType.BUILDING_SWEPT,
        EventType.BUILDING_EXTENDED,
        EventType.BUILDING_STEP_SKIPPED,
    }
)
SITE_EVENTS = EVENING_EVENTS | frozenset(
    {
        EventType.FIRE_ALARM,
        EventType.FIRE_CLEARED,
        EventType.OPENING_CHANGED,
        EventType.OCCUPANCY_FULL,
        EventType.OCCUPANCY_RESET,
        EventType.CONTROLLER_STARTED,
        EventType.COMMAND_DONE,  # a building command's answer
        EventType.COMMAND_REJECTED,  # a command for a door the controller does not have
        EventType.SIP2_OFFLINE,
        EventType.SIP2_ONLINE,
    }
)
# What a door and the building both emit: a command's answer, the library system's state, and an
# intrusion (a door forced open while the alarm is armed is that door's).
SHARED_EVENTS = frozenset(
    {
        EventType.COMMAND_DONE,
        EventType.COMMAND_REJECTED,
        EventType.SIP2_OFFLINE,
        EventType.SIP2_ONLINE,
        EventType.ALARM_INTRUSION,
    }
)
# A door emits everything about itself; never a check-in, and never what is the building's.
DOOR_EVENTS = frozenset(EventType) - {EventType.ACTIVITY_CHECKIN} - (SITE_EVENTS - SHARED_EVENTS)


def forbidden(kind: TopicKind, subject: str | None, event: Event) -> str | None:
    """Why ``event`` may not arrive on a topic of ``kind`` naming ``subject``; None if it may."""
    source: str | None
    if kind is TopicKind.SITE_EVENT:
        allowed, source = SITE_EVENTS, SITE_SOURCE
    elif kind is TopicKind.DOOR_EVENT:
        allowed, source = DOOR_EVENTS, subject
    elif kind is TopicKind.KIOSK_EVENT:
        allowed, source = KIOSK_EVENTS, subject
    else:
        return f"{kind} carries no events"
    if event.type not in allowed:
        return f"{event.type} is not an event of {kind}"
    if event.source != source:
        return f"{event.type} in the name of {event.source!r} on {kind} of {source!r}"
    return None
