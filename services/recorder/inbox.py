"""What one MQTT message is worth recording, or why it is refused. Pure: no I/O.

Everything that could make a database statement fail is refused here, with a reason, so a bad
message from one client can never block the batch it arrives in: NaN and infinite numbers (not
JSON to PostgreSQL), NUL characters (not storable in PostgreSQL text), timestamps that do not
fit in UTC.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC
from enum import StrEnum
from typing import Any

from services.bus.topics import Route, TopicKind, Topics, route_any
from services.core.events import Event, PayloadError
from services.recorder.contract import forbidden
from services.store.recorder import CODE_USES_KEY

STATUS_VALUES = frozenset({"online", "offline"})
EVENT_TOPICS = frozenset({TopicKind.DOOR_EVENT, TopicKind.SITE_EVENT, TopicKind.KIOSK_EVENT})
# Commands are recorded through the door's command.done/command.rejected answers; sim inputs are
# the demo's stand-ins for hardware and mean nothing once the door has reacted to them.
# The lists snapshot is the server's own (and large): the recorder neither keeps nor refuses it.
IGNORED_TOPICS = frozenset(
    {
        TopicKind.DOOR_COMMAND,
        TopicKind.BUILDING_COMMAND,
        TopicKind.SIM,
        TopicKind.PRESENCE,
        TopicKind.LISTS,
    }
)


class Refusal(StrEnum):
    """Why a message was not recorded: the keys of the ``rejected`` counter."""

    OVERSIZED = "oversized"
    TOPIC = "topic"
    JSON = "json"
    EVENT = "event"
    STATE = "state"
    STATUS = "status"
    FORBIDDEN = "forbidden"  # a valid event its topic's component may not emit
    DATABASE = "database"


class Refused(Exception):
    """A message that is not recorded; ``detail`` is for the log."""

    def __init__(self, reason: Refusal, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail[:200]  # a hostile payload must not flood the log through us


@dataclass(frozen=True, slots=True)
class EventItem:
    """An event to store once."""

    event: Event


@dataclass(frozen=True, slots=True)
class StateItem:
    """The latest state under ``key``; ``payload`` None means its retained message was cleared."""

    key: str
    payload: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class SiteItem:
    """A site's announcement (``site``): its name, doors, capacity and opening; None: cleared."""

    description: dict[str, Any] | None


Item = EventItem | StateItem | SiteItem


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} does not fit a number")
    return value


_DECODER = json.JSONDecoder(parse_constant=_no_constant, parse_float=_finite)


def decode_object(payload: bytes, reason: Refusal) -> dict[str, Any]:
    """A JSON object the database can store, or :class:`Refused` with ``reason``."""
    if b"\x00" in payload or b"\\u0000" in payload:
        raise Refused(reason, "contains a NUL character")
    try:
        # As json.loads(payload, parse_constant=..., parse_float=...), without a new decoder each
        # time (json.loads builds one whenever it is given hooks).
        data = _DECODER.decode(payload.decode(json.detect_encoding(payload), "surrogatepass"))
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise Refused(Refusal.JSON, f"not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise Refused(reason, f"not a JSON object but {type(data).__name__}")
    return data


def decode_event(payload: bytes) -> Event:
    """The event in ``payload``, checked field by field."""
    data = decode_object(payload, Refusal.EVENT)
    try:
        event = Event.from_payload(data)
    except (PayloadError, ValueError) as exc:
        raise Refused(Refusal.EVENT, str(exc)) from None
    try:
        event.ts.astimezone(UTC)
    except OverflowError:
        raise Refused(Refusal.EVENT, f"ts: {event.ts.isoformat()} is out of range") from None
    return event


def state_key(kind: TopicKind, subject: str | None) -> str | None:
    """The ``component_states`` key of a state topic; None for other topics."""
    if kind is TopicKind.DOOR_STATE:
        return f"door/{subject}"
    if kind is TopicKind.STATUS:
        return f"status/{subject}"
    if kind in (TopicKind.OPENING, TopicKind.OCCUPANCY, TopicKind.BUILDING):
        return str(kind)
    if kind is TopicKind.CODE_USES:
        return f"{CODE_USES_KEY}{subject}"
    return None


def decode_code_uses(payload: bytes) -> dict[str, Any]:
    """A controller's counts of one-time code uses: ``{"uses": {code hash: count}}``."""
    data = decode_object(payload, Refusal.STATE)
    uses = data.get("uses")
    if not isinstance(uses, dict) or not all(
        isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in uses.values()
    ):
        raise Refused(Refusal.STATE, "code uses: uses is not a mapping of counts >= 0")
    return {"uses": uses}


def decode_description(payload: bytes) -> dict[str, Any]:
    """A site description checked field by field: name, doors, capacity, opening."""
    data = decode_object(payload, Refusal.STATE)
    name, doors, capacity = data.get("name"), data.get("doors"), data.get("capacity")
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise Refused(Refusal.STATE, "site: name is not a text of 1 to 200 characters")
    if not isinstance(doors, list) or not all(isinstance(d, str) and d for d in doors):
        raise Refused(Refusal.STATE, "site: doors is not a list of door ids")
    if capacity is not None and (
        not isinstance(capacity, int) or isinstance(capacity, bool) or capacity < 0
    ):
        raise Refused(Refusal.STATE, "site: capacity is not a whole number >= 0")
    opening = data.get("opening")
    if opening is not None and not (
        isinstance(opening, dict) and isinstance(opening.get("state"), str)
    ):
        raise Refused(Refusal.STATE, "site: opening has no state")
    return data


def decode(topics: Topics, topic: str, payload: bytes, max_bytes: int) -> Item | None:
    """What to record for one message of ``topics``' site; None for a topic not recorded.

    Raises :class:`Refused` for anything malformed, oversized or outside the contract.
    """
    return _decode(topics.parse(topic), payload, max_bytes)


def decode_any(prefix: str, topic: str, payload: bytes, max_bytes: int) -> tuple[str, Item] | None:
    """Like :func:`decode` for a topic of any site under ``prefix``: (site, what to record)."""
    found = route_any(prefix, topic)
    item = _decode(None if found is None else found[1], payload, max_bytes)
    if item is None:
        return None
    assert found is not None  # _decode refuses a topic outside the contract
    return found[0].site, item


def _decode(route: Route | None, payload: bytes, max_bytes: int) -> Item | None:
    if route is not None and route.kind in IGNORED_TOPICS:
        return None
    if len(payload) > max_bytes:
        raise Refused(Refusal.OVERSIZED, f"{len(payload)} bytes, more than {max_bytes}")
    if route is None:
        raise Refused(Refusal.TOPIC, "not a topic of the contract")
    if route.kind in EVENT_TOPICS:
        event = decode_event(payload)
        problem = forbidden(route.kind, route.subject, event)
        if problem is not None:
            raise Refused(Refusal.FORBIDDEN, problem)
        return EventItem(event)
    if route.kind is TopicKind.SITE_DESCRIPTION:
        return SiteItem(decode_description(payload) if payload else None)
    key = state_key(route.kind, route.subject)
    if key is None:  # a topic kind added to the contract but not yet to the recorder
        raise Refused(Refusal.TOPIC, f"no recorder rule for {route.kind}")
    if not payload:
        return StateItem(key, None)  # the retained message was cleared
    if route.kind is TopicKind.STATUS:
        text = payload.decode("utf-8", "replace").strip()
        if text not in STATUS_VALUES:
            raise Refused(Refusal.STATUS, f"{text[:40]!r} is neither online nor offline")
        return StateItem(key, {"status": text})
    if route.kind is TopicKind.CODE_USES:
        return StateItem(key, decode_code_uses(payload))
    return StateItem(key, decode_object(payload, Refusal.STATE))
