"""Staff orders to the building's evening from the dashboard: extend, swept — arm now, announce.

The same commands ``aabent building`` sends (services/cli/building.py), on the site's
``building/command`` topic, and through the same path as the door commands
(:meth:`services.dashboard.commands.Commander.dispatch`): audited before they go out, "not
delivered" with no broker or no answer in time, the controller's ``command.done`` or
``command.rejected`` (matched by ``details.command_id``) filling in the result. The controller's
own parser checks each order first, so nothing it would refuse is sent.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection
from datetime import datetime
from typing import Any

from services.bus.topics import SITE_SOURCE, Topics
from services.core.building_commands import (
    MAX_EXTEND_MIN,
    BuildingAction,
    BuildingOrder,
    parse_building_command,
)
from services.core.commands import SeenIds
from services.dashboard.commands import Commander, CommandError, checked_reason
from services.store.dashboard import CommandAudit


def order_payload(
    action: BuildingAction,
    *,
    command_id: str,
    now: datetime,
    by: str,
    reason: str,
    minutes: int | None = None,
    message: str | None = None,
) -> dict[str, Any]:
    """The JSON object the controller accepts (services.core.building_commands)."""
    data: dict[str, Any] = {
        "id": command_id,
        "ts": now.isoformat(),
        "action": action.value,
        "by": by,
        "reason": reason,
    }
    if action is BuildingAction.EXTEND:
        data["minutes"] = minutes
    if action is BuildingAction.ANNOUNCE:
        data["message"] = message
    return data


def send_order(
    commander: Commander,
    topics: Topics,
    messages: Collection[str],
    *,
    username: str,
    action: BuildingAction,
    reason: str,
    minutes: int | None = None,
    message: str | None = None,
    now: datetime,
    max_age_s: float,
) -> CommandAudit:
    """Audit and send one order to the evening of ``topics``' site; CommandError if not sendable.

    ``messages`` are the announcements the site knows (``building.messages``)."""
    reason = checked_reason(reason)
    if action is not BuildingAction.EXTEND:
        minutes = None
    elif minutes is None or not 1 <= minutes <= MAX_EXTEND_MIN:
        raise CommandError(
            f"extend needs minutes between 1 and {MAX_EXTEND_MIN}",
            "tonight.bad_minutes",
            high=MAX_EXTEND_MIN,
        )
    if action is not BuildingAction.ANNOUNCE:
        message = None
    elif message not in messages:
        raise CommandError(f"no message {message!r}", "tonight.bad_message")
    command_id = str(uuid.uuid4())
    payload = order_payload(
        action,
        command_id=command_id,
        now=now,
        by=f"staff:{username}",
        reason=reason,
        minutes=minutes,
        message=message,
    )
    raw = json.dumps(payload, ensure_ascii=False).encode()
    parsed = parse_building_command(
        raw, now=now, max_age_s=max_age_s, seen=SeenIds(), messages=frozenset(messages)
    )
    if not isinstance(parsed, BuildingOrder):
        raise CommandError(
            f"command not valid: {parsed.reason}", "command_error.invalid", why=parsed.reason
        )
    audit = CommandAudit(
        command_id=command_id,
        ts=now,
        username=username,
        site=topics.site,
        door=SITE_SOURCE,
        action=action.value,
        seconds=None if minutes is None else minutes * 60,
        reason=reason,
        result="pending",
        detail=message,
    )
    return commander.dispatch(audit, topics.building_command, raw)
