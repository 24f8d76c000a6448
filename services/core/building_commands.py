"""Staff commands to the building's evening, checked before the controller obeys them. Pure.

A command arrives on ``building/command`` as JSON, with the envelope every command has
(:func:`services.core.commands.read_envelope`: id, ts, by, reason) and one of::

    {"action": "extend", "minutes": 30}     postpone the rest of tonight's closing sequence
    {"action": "swept"}                     the building was checked: arm now
    {"action": "announce", "message": "closing_10"}   play a message now
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from services.core.commands import Envelope, Rejection, SeenIds, read_envelope

MAX_EXTEND_MIN = 240  # an evening is extended by hours at most; more is a typo


class BuildingAction(StrEnum):
    """What staff can ask the building to do."""

    EXTEND = "extend"
    SWEPT = "swept"
    ANNOUNCE = "announce"


@dataclass(frozen=True, slots=True)
class BuildingOrder:
    """A building command the controller may carry out."""

    id: str
    ts: datetime
    action: BuildingAction
    by: str
    reason: str
    minutes: int | None = None  # only for EXTEND
    message: str | None = None  # only for ANNOUNCE


def _order(envelope: Envelope, messages: frozenset[str]) -> BuildingOrder | Rejection:
    data = envelope.data
    allowed = ", ".join(a.value for a in BuildingAction)
    try:
        action = BuildingAction(str(data.get("action")))
    except ValueError:
        return Rejection(f"action: {data.get('action')!r:.32} is not one of {allowed}", envelope.id)
    minutes = data.get("minutes")
    message = data.get("message")
    if (action is BuildingAction.EXTEND) != (minutes is not None):
        return Rejection("minutes: needed by extend and only by it", envelope.id)
    if (action is BuildingAction.ANNOUNCE) != (message is not None):
        return Rejection("message: needed by announce and only by it", envelope.id)
    if minutes is not None and (
        isinstance(minutes, bool)
        or not isinstance(minutes, int)
        or not 1 <= minutes <= MAX_EXTEND_MIN
    ):
        return Rejection(f"minutes: {minutes!r:.32} is not 1 to {MAX_EXTEND_MIN}", envelope.id)
    if message is not None and message not in messages:
        known = ", ".join(sorted(messages))
        return Rejection(f"message: {message!r:.32} is not one of {known}", envelope.id)
    return BuildingOrder(
        envelope.id, envelope.ts, action, envelope.by, envelope.reason, minutes, message
    )


def parse_building_command(
    raw: bytes, *, now: datetime, max_age_s: float, seen: SeenIds, messages: frozenset[str]
) -> BuildingOrder | Rejection:
    """Check a building command at ``now``; an accepted id is remembered in ``seen``.

    ``messages`` are the announcements the site knows; any other is refused by name.
    """
    envelope = read_envelope(raw, now=now, max_age_s=max_age_s, seen=seen)
    if isinstance(envelope, Rejection):
        return envelope
    order = _order(envelope, messages)
    if isinstance(order, BuildingOrder):
        seen.add(order.id)
    return order
