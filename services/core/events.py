"""Events are data: one frozen type shared by the door, the server, the kiosk and the tests.

This is the one place that turns an event into JSON for MQTT and back; the
recorder and the outbox both go through it, so a field added here reaches every consumer.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class EventType(StrEnum):
    """Every event type, dotted ``area.what`` as in the MQTT contract."""

    ACCESS_GRANTED = "access.granted"
    ACCESS_DENIED = "access.denied"
    DOOR_UNLOCKED = "door.unlocked"
    DOOR_LOCKED = "door.locked"
    DOOR_OPENED = "door.opened"
    DOOR_CLOSED = "door.closed"
    DOOR_HELD_OPEN = "door.held_open"
    DOOR_FORCED_OPEN = "door.forced_open"
    DOOR_TAILGATING = "door.tailgating"
    EXIT_REQUEST = "exit.request"
    FIRE_ALARM = "fire.alarm"
    FIRE_CLEARED = "fire.cleared"
    LOCKDOWN_STARTED = "lockdown.started"
    LOCKDOWN_ENDED = "lockdown.ended"
    OCCUPANCY_IN = "occupancy.in"
    OCCUPANCY_OUT = "occupancy.out"
    OCCUPANCY_FULL = "occupancy.full"
    OCCUPANCY_RESET = "occupancy.reset"
    OPENING_CHANGED = "opening.changed"
    PIN_LOCKED_OUT = "pin.locked_out"
    PIN_BLOCKED = "pin.blocked"
    READER_ATTACK = "reader.attack"
    READER_ERROR = "reader.error"
    READER_OFFLINE = "reader.offline"
    READER_ONLINE = "reader.online"
    COMMAND_DONE = "command.done"
    COMMAND_REJECTED = "command.rejected"
    CONTROLLER_STARTED = "controller.started"
    SIP2_OFFLINE = "sip2.offline"
    SIP2_ONLINE = "sip2.online"
    # A check-in at an activity of the programme; the wire name predates the word "activity".
    ACTIVITY_CHECKIN = "event.checkin"
    # The building's evening and morning (hardware/core/evening.py).
    CLOSING_ANNOUNCED = "closing.announced"
    LIGHTS_CHANGED = "lights.changed"
    EQUIPMENT_CHANGED = "equipment.changed"
    ADMISSION_STOPPED = "admission.stopped"
    ALARM_ARMED = "alarm.armed"
    ALARM_DISARMED = "alarm.disarmed"
    ALARM_ARM_REFUSED = "alarm.arm_refused"
    ALARM_NO_FEEDBACK = "alarm.no_feedback"
    ALARM_INTRUSION = "alarm.intrusion"
    ALARM_PANEL_FAULT = "alarm.panel_fault"
    BUILDING_SWEPT = "building.swept"
    BUILDING_EXTENDED = "building.extended"
    BUILDING_STEP_SKIPPED = "building.step_skipped"


class PayloadError(ValueError):
    """A message that is not a valid event; the text says which field and why."""


@dataclass(frozen=True, slots=True)
class Event:
    """Something that happened at ``source`` (a door id, a kiosk id, a component)."""

    type: EventType
    source: str
    ts: datetime
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    reason: str | None = None
    credential: str | None = None  # a pseudonym (keyed hash prefix), never the card number
    details: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.ts.tzinfo is None:
            raise ValueError("event timestamps carry their UTC offset")

    def to_payload(self) -> dict[str, Any]:
        """The JSON object of the MQTT contract."""
        return {
            "id": self.id,
            "ts": self.ts.isoformat(),
            "type": str(self.type),
            "source": self.source,
            "reason": self.reason,
            "credential": self.credential,
            "details": dict(self.details),
        }

    def to_json(self) -> bytes:
        """UTF-8 JSON, as published and as kept in the outbox."""
        return json.dumps(self.to_payload(), ensure_ascii=False, separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, raw: bytes | str) -> Event:
        """Parse a payload from the wire; raises :class:`PayloadError` naming the problem."""
        try:
            data = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise PayloadError(f"not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise PayloadError("not a JSON object")
        return cls.from_payload(data)

    @classmethod
    def from_payload(cls, data: Mapping[str, Any]) -> Event:
        """Build from a decoded JSON object, checking every field's type."""
        for key in ("id", "ts", "type", "source"):
            if not isinstance(data.get(key), str):
                raise PayloadError(f"{key}: missing or not a string")
        try:
            etype = EventType(data["type"])
        except ValueError:
            raise PayloadError(f"type: unknown event type {data['type']!r}") from None
        try:
            ts = datetime.fromisoformat(data["ts"])
        except ValueError:
            raise PayloadError(f"ts: not an ISO-8601 time: {data['ts']!r}") from None
        if ts.tzinfo is None:
            raise PayloadError("ts: no UTC offset")
        for key in ("reason", "credential"):
            if data.get(key) is not None and not isinstance(data[key], str):
                raise PayloadError(f"{key}: not a string")
        details = data.get("details") or {}
        if not isinstance(details, dict):
            raise PayloadError("details: not an object")
        try:
            uuid.UUID(data["id"])
        except ValueError:
            raise PayloadError(f"id: not a UUID: {data['id']!r}") from None
        return cls(
            type=etype,
            source=data["source"],
            ts=ts,
            id=data["id"],
            reason=data.get("reason"),
            credential=data.get("credential"),
            details=details,
        )
