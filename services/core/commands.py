"""Staff commands to a door, checked before the door obeys them (pure: no I/O, clock passed in).

A command arrives on ``door/<door>/command`` as JSON::

    {"id": "<uuid>", "ts": "2025-03-01T09:00:00+01:00", "action": "unlock",
     "by": "staff:anne", "reason": "delivery", "seconds": 60}

Anything that is not exactly a fresh, well-formed, first-seen command becomes a
:class:`Rejection` naming the problem; it is never an exception. The id is compared as a UUID
(``A1B2…``, ``a1b2…`` without dashes, ``urn:uuid:…`` and ``{…}`` are one id), and every field has
a bound, so a command cannot carry a megabyte into the events that answer it.
"""

from __future__ import annotations

import json
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
MAX_COMMAND_BYTES = 4096  # a command is a few hundred bytes; more is not a command
MAX_BY_CHARS = 100  # "staff:" and a dashboard username (64)
MAX_REASON_CHARS = 500
_SHOWN_CHARS = 32  # how much of a wrong value a rejection repeats


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


def _shown(value: object) -> str:
    """``value``'s repr, cut short: a rejection names the wrong value without copying it whole."""
    text = repr(value)
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 1] + "…"


def _text(
    data: dict[str, Any], key: str, *, required: bool = True, max_chars: int | None = None
) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise _Invalid(f"{key}: missing or not a string")
    if required and not value.strip():
        raise _Invalid(f"{key}: empty")
    if max_chars is not None and len(value) > max_chars:
        raise _Invalid(f"{key}: {len(value)} characters, more than {max_chars}")
    return value


def _timestamp(data: dict[str, Any], now: datetime, max_age_s: float) -> datetime:
    raw = _text(data, "ts")
    try:
        ts = datetime.fromisoformat(raw)
    except ValueError:
        raise _Invalid(f"ts: not an ISO-8601 time: {_shown(raw)}") from None
    if ts.tzinfo is None:
        raise _Invalid(f"ts: no UTC offset: {_shown(raw)}")
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
    # The comparison also refuses inf and nan; math.isfinite would overflow on a huge int.
    if not MIN_UNLOCK_S <= value <= MAX_UNLOCK_S:
        raise _Invalid(f"seconds: {_shown(value)} is not between {MIN_UNLOCK_S} and {MAX_UNLOCK_S}")
    return float(value)


def _mode(data: dict[str, Any]) -> DoorMode:
    value = data.get("mode")
    allowed = ", ".join(m.value for m in DoorMode)
    if not isinstance(value, str):
        raise _Invalid(f"mode: {_shown(value)} is not one of {allowed}")
    try:
        return DoorMode(value)
    except ValueError:
        raise _Invalid(f"mode: {_shown(value)} is not one of {allowed}") from None


def _fields(envelope: Envelope, door: str) -> Command:
    data = envelope.data
    raw_action = _text(data, "action")
    try:
        action = Action(raw_action)
    except ValueError:
        allowed = ", ".join(a.value for a in Action)
        raise _Invalid(f"action: {_shown(raw_action)} is not one of {allowed}") from None
    # A field meant for another action is refused rather than ignored: the sender meant something.
    if action is not Action.UNLOCK and "seconds" in data:
        raise _Invalid(f"seconds: only for unlock, not {action.value}")
    if action is not Action.MODE and "mode" in data:
        raise _Invalid(f"mode: only for action mode, not {action.value}")
    return Command(
        id=envelope.id,
        ts=envelope.ts,
        door=door,
        action=action,
        by=envelope.by,
        reason=envelope.reason,
        seconds=_seconds(data) if action is Action.UNLOCK else None,
        mode=_mode(data) if action is Action.MODE else None,
    )


def _command_id(data: dict[str, Any]) -> str | None:
    """The id in its one canonical spelling if it is a UUID, else None (then no id is known)."""
    value = data.get("id")
    if not isinstance(value, str) or len(value) > 64:  # the longest spelling, urn:uuid:, is 45
        return None
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class Envelope:
    """What every staff command carries: a first-seen UUID, a fresh time, who, and why.

    ``data`` is the whole JSON object, for the fields of the command itself.
    """

    id: str
    ts: datetime
    by: str
    reason: str
    data: dict[str, Any]


def read_envelope(
    raw: bytes,
    *,
    now: datetime,
    max_age_s: float,
    seen: SeenIds,
    max_bytes: int = MAX_COMMAND_BYTES,
) -> Envelope | Rejection:
    """Check the parts every command shares; the id is *not* yet remembered in ``seen``.

    The caller checks its own fields, then calls :meth:`SeenIds.add`, so a command refused for a
    wrong field can be sent again once mended.
    """
    if now.tzinfo is None:
        raise ValueError("now must carry its UTC offset")  # a programming error, not bad input
    if len(raw) > max_bytes:
        return Rejection(f"too large: {len(raw)} bytes, more than {max_bytes}")
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        return Rejection(f"not JSON: {exc}")
    if not isinstance(data, dict):
        return Rejection(f"not a JSON object but {type(data).__name__}")
    command_id = _command_id(data)
    if command_id is None:
        return Rejection(f"id: missing or not a UUID: {_shown(data.get('id'))}")
    try:
        ts = _timestamp(data, now, max_age_s)
        by = _text(data, "by", max_chars=MAX_BY_CHARS)
        reason = _text(data, "reason", required=False, max_chars=MAX_REASON_CHARS)
    except _Invalid as exc:
        return Rejection(str(exc), command_id)
    if command_id in seen:
        return Rejection("id: seen before (replayed command)", command_id)
    return Envelope(command_id, ts, by, reason, data)


def parse_command(
    raw: bytes,
    *,
    door: str,
    now: datetime,
    max_age_s: float,
    seen: SeenIds,
    max_bytes: int = MAX_COMMAND_BYTES,
) -> Command | Rejection:
    """Check a command payload for ``door`` at ``now``; an accepted id is remembered in ``seen``.

    The id of the result is the canonical spelling of the UUID, as ``seen`` keeps it.
    """
    envelope = read_envelope(raw, now=now, max_age_s=max_age_s, seen=seen, max_bytes=max_bytes)
    if isinstance(envelope, Rejection):
        return envelope
    try:
        command = _fields(envelope, door)
    except _Invalid as exc:
        return Rejection(str(exc), envelope.id)
    seen.add(envelope.id)
    return command
