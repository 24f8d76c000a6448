"""Staff commands to a door, checked before the door obeys them (pure: no I/O, clock passed in).

A command arrives on ``door/<door>/command`` as JSON::

    {"id": "<uuid>", "ts": "2025-03-01T09:00:00+01:00", "action": "unlock",
     "by": "staff:anne", "reason": "delivery", "seconds": 60}

Anything that is not exactly a fresh, well-formed, first-seen command becomes a
:class:`Rejection` naming the problem; it is never an exception.
"""

from __future__ import annotations

import json
import math
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from services.core.access import DoorMode

MAX_FUTURE_S = 5.0  # clocks of dashboard and door may differ a little; more is suspicious
MIN_UNLOCK_S = 1
MAX_UNLOCK_S = 3600


class Action(StrEnum):
    """What staff can ask a door to do."""

    UNLOCK = "unlock"  # stay unlocked for ``seconds``
    LOCK = "lock"  # lock now
    PULSE = "pulse"  # unlock for the door's own unlock time, as for a patron
    MODE = "mode"  # set the door's mode (normal, lockdown, out of service)


@dataclass(frozen=True, slots=True)
class Command:
    """A command the door may carry out."""

    id: str
    ts: datetime
    door: str
    action: Action
    by: str
    reason: str
    seconds: float | None = None  # only for UNLOCK
    mode: DoorMode | None = None  # only for MODE


@dataclass(frozen=True, slots=True)
class Rejection:
    """A command refused, with why (for the ``command.rejected`` event) and its id if known."""

    reason: str
    command_id: str | None = None


class SeenIds:
    """A bounded memory of recent command ids, so a replayed command is refused.

    Commands older than the maximum age are refused anyway, so the memory only has to cover
    that window; the oldest ids are forgotten once ``capacity`` is reached.
    """

    def __init__(self, capacity: int = 4096) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self._ids: OrderedDict[str, None] = OrderedDict()

    def __contains__(self, command_id: object) -> bool:
        return command_id in self._ids

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, command_id: str) -> None:
        """Remember ``command_id``, forgetting the oldest one if full."""
        self._ids[command_id] = None
        self._ids.move_to_end(command_id)
        while len(self._ids) > self.capacity:
            self._ids.popitem(last=False)


class _Invalid(Exception):
    """Internal: one field is wrong; becomes a Rejection."""


def _text(data: dict[str, Any], key: str, *, required: bool = True) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise _Invalid(f"{key}: missing or not a string")
    if required and not value.strip():
        raise _Invalid(f"{key}: empty")
    return value


def _timestamp(data: dict[str, Any], now: datetime, max_age_s: float) -> datetime:
    raw = _text(data, "ts")
    try:
        ts = datetime.fromisoformat(raw)
    except ValueError:
        raise _Invalid(f"ts: not an ISO-8601 time: {raw!r}") from None
    if ts.tzinfo is None:
        raise _Invalid(f"ts: no UTC offset: {raw!r}")
    age = (now - ts).total_seconds()
    if age > max_age_s:
        raise _Invalid(f"ts: {age:.1f} s old, more than {max_age_s:g} s")
    if -age > MAX_FUTURE_S:
        raise _Invalid(f"ts: {-age:.1f} s in the future")
    return ts


def _seconds(data: dict[str, Any]) -> float:
    value = data.get("seconds")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Invalid("seconds: missing or not a number (unlock needs it)")
    if not math.isfinite(value) or not MIN_UNLOCK_S <= value <= MAX_UNLOCK_S:
        raise _Invalid(f"seconds: {value!r} is not between {MIN_UNLOCK_S} and {MAX_UNLOCK_S}")
    return float(value)


def _mode(data: dict[str, Any]) -> DoorMode:
    value = data.get("mode")
    allowed = ", ".join(m.value for m in DoorMode)
    if not isinstance(value, str):
        raise _Invalid(f"mode: {value!r} is not one of {allowed}")
    try:
        return DoorMode(value)
    except ValueError:
        raise _Invalid(f"mode: {value!r} is not one of {allowed}") from None


def _fields(data: dict[str, Any], door: str, now: datetime, max_age_s: float) -> Command:
    command_id = _text(data, "id")
    ts = _timestamp(data, now, max_age_s)
    raw_action = _text(data, "action")
    try:
        action = Action(raw_action)
    except ValueError:
        allowed = ", ".join(a.value for a in Action)
        raise _Invalid(f"action: {raw_action!r} is not one of {allowed}") from None
    by = _text(data, "by")
    reason = _text(data, "reason", required=False)
    # A field meant for another action is refused rather than ignored: the sender meant something.
    if action is not Action.UNLOCK and "seconds" in data:
        raise _Invalid(f"seconds: only for unlock, not {action.value}")
    if action is not Action.MODE and "mode" in data:
        raise _Invalid(f"mode: only for action mode, not {action.value}")
    return Command(
        id=command_id,
        ts=ts,
        door=door,
        action=action,
        by=by,
        reason=reason,
        seconds=_seconds(data) if action is Action.UNLOCK else None,
        mode=_mode(data) if action is Action.MODE else None,
    )


def _command_id(data: dict[str, Any]) -> str | None:
    """The id if it is a UUID string, else None (a Rejection then carries no id)."""
    value = data.get("id")
    if not isinstance(value, str):
        return None
    try:
        uuid.UUID(value)
    except ValueError:
        return None
    return value


def parse_command(
    raw: bytes, *, door: str, now: datetime, max_age_s: float, seen: SeenIds
) -> Command | Rejection:
    """Check a command payload for ``door`` at ``now``; an accepted id is remembered in ``seen``."""
    if now.tzinfo is None:
        raise ValueError("now must carry its UTC offset")  # a programming error, not bad input
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        return Rejection(f"not JSON: {exc}")
    if not isinstance(data, dict):
        return Rejection(f"not a JSON object but {type(data).__name__}")
    command_id = _command_id(data)
    if command_id is None:
        return Rejection(f"id: missing or not a UUID: {data.get('id')!r}"[:200])
    try:
        command = _fields(data, door, now, max_age_s)
    except _Invalid as exc:
        return Rejection(str(exc), command_id)
    if command_id in seen:
        return Rejection("id: seen before (replayed command)", command_id)
    seen.add(command_id)
    return command
