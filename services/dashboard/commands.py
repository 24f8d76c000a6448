"""Remote door commands from staff: built, checked, audited, sent, and matched to their outcome.

Every command is written to the audit table *before* it is published, so an attempt is on
record even if the broker is away; the door's ``command.done`` / ``command.rejected`` event,
matched by ``details.command_id``, fills in the result.

A command never stays "pending" for ever. While the dashboard has no broker connection it is
not sent at all (paho would queue it and deliver it late) and is audited as ``undelivered``.
One that goes out but gets no answer within the door's age limit (``mqtt.command_max_age_s``,
after which the door refuses it anyway) plus a moment for the answer becomes ``undelivered``
too; a late answer from the door still wins, since it is what happened.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Collection, Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from services.bus.topics import Topics
from services.core.commands import (
    MAX_REASON_CHARS,
    MAX_UNLOCK_S,
    MIN_UNLOCK_S,
    Command,
    SeenIds,
    parse_command,
)
from services.core.events import Event, EventType
from services.store.dashboard import CommandAudit
from services.store.recorder import COMMAND_ANSWERS, EventRecord

log = logging.getLogger(__name__)

MAX_REASON = MAX_REASON_CHARS  # the door refuses a longer one
ANSWER_GRACE_S = 5.0  # after the door's age limit, this long for its answer to reach us
Publish = Callable[[str, bytes], object]
Settled = Callable[[CommandAudit], object]
PENDING, UNDELIVERED = "pending", "undelivered"
NO_BROKER = "no connection to the broker"
NO_ANSWER = "no answer from the door"


class StaffAction(StrEnum):
    """The commands the dashboard offers, as staff think of them."""

    UNLOCK = "unlock"
    LOCK = "lock"
    LOCKDOWN = "lockdown"
    END_LOCKDOWN = "end_lockdown"


class CommandError(ValueError):
    """A command that cannot be sent: ``key`` and ``values`` are the operator's words for it
    (the dashboard's catalogue), the message the same in English for the log."""

    def __init__(self, message: str, key: str, **values: object) -> None:
        super().__init__(message)
        self.key = key
        self.values = values


def command_payload(
    action: StaffAction,
    *,
    command_id: str,
    now: datetime,
    by: str,
    reason: str,
    seconds: int | None = None,
) -> dict[str, Any]:
    """The JSON object the door accepts (services.core.commands) for ``action``."""
    data: dict[str, Any] = {"id": command_id, "ts": now.isoformat(), "by": by, "reason": reason}
    if action is StaffAction.UNLOCK:
        data.update(action="unlock", seconds=seconds)
    elif action is StaffAction.LOCK:
        data.update(action="lock")
    else:
        mode = "lockdown" if action is StaffAction.LOCKDOWN else "normal"
        data.update(action="mode", mode=mode)
    return data


def checked_reason(reason: str) -> str:
    """The reason of a staff order, stripped; CommandError when it is empty or too long for the
    controller (door and building orders alike)."""
    reason = reason.strip()
    if not reason:
        raise CommandError("give a reason: it goes into the audit log", "command_error.reason")
    if len(reason) > MAX_REASON:
        raise CommandError(
            f"the reason is longer than {MAX_REASON} characters",
            "command_error.too_long",
            n=MAX_REASON,
        )
    return reason


def _checked_seconds(action: StaffAction, seconds: int | None) -> int | None:
    if action is not StaffAction.UNLOCK:
        return None
    if seconds is None or not MIN_UNLOCK_S <= seconds <= MAX_UNLOCK_S:
        raise CommandError(
            f"unlock needs seconds between {MIN_UNLOCK_S} and {MAX_UNLOCK_S}",
            "command_error.seconds",
            low=MIN_UNLOCK_S,
            high=MAX_UNLOCK_S,
        )
    return seconds


class Commander:
    """Sends staff commands to doors and keeps the audit trail."""

    def __init__(
        self,
        publish: Publish,
        topics: Topics,
        sessions: sessionmaker[Session],
        doors: Callable[[str], Collection[str]],
        clock: Callable[[], datetime],
        max_age_s: float,
        *,
        connected: Callable[[], bool],
    ) -> None:
        self._publish = publish
        self._topics = topics
        self._sessions = sessions
        self._doors = doors
        self._clock = clock
        self._max_age_s = max_age_s
        self._connected = connected
        self._listeners: list[Settled] = []
        self.answer_timeout_s = max_age_s + ANSWER_GRACE_S

    def add_listener(self, listener: Settled) -> None:
        """Call ``listener(audit)`` when a command is settled (answered or not delivered)."""
        self._listeners.append(listener)

    def _settled(self, audit: CommandAudit) -> None:
        for listener in self._listeners:
            try:
                listener(audit)
            except Exception:
                log.exception("command listener failed", extra={"command_id": audit.command_id})

    def send(
        self,
        username: str,
        site: str,
        door: str,
        action: StaffAction,
        reason: str,
        seconds: int | None,
    ) -> CommandAudit:
        """Audit and publish one command to ``door`` at ``site``; raises CommandError for a
        command not worth sending. Whether the user may command that site is the caller's
        check (the dashboard's ``guarded``)."""
        if door not in self._doors(site):
            raise CommandError(f"no door {door!r}", "command_error.no_door", door=door)
        reason = checked_reason(reason)
        seconds = _checked_seconds(action, seconds)
        now = self._clock()
        command_id = str(uuid.uuid4())
        payload = command_payload(
            action,
            command_id=command_id,
            now=now,
            by=f"staff:{username}",
            reason=reason,
            seconds=seconds,
        )
        raw = json.dumps(payload, ensure_ascii=False).encode()
        # The door's own parser is the judge of the format: never send what it would refuse.
        parsed = parse_command(raw, door=door, now=now, max_age_s=self._max_age_s, seen=SeenIds())
        if not isinstance(parsed, Command):
            raise CommandError(
                f"command not valid: {parsed.reason}", "command_error.invalid", why=parsed.reason
            )
        audit = CommandAudit(
            command_id=command_id,
            ts=now,
            username=username,
            site=site,
            door=door,
            action=action.value,
            seconds=seconds,
            reason=reason,
            result=PENDING,
        )
        return self.dispatch(audit, Topics(self._topics.prefix, site).door_command(door), raw)

    def dispatch(self, audit: CommandAudit, topic: str, raw: bytes) -> CommandAudit:
        """Audit ``audit`` first, then publish ``raw`` on ``topic`` (or, with no broker, mark it
        not delivered): the one way every staff command goes out, to a door or to the building."""
        if not self._connected():
            audit.result, audit.result_reason, audit.result_at = UNDELIVERED, NO_BROKER, audit.ts
        with self._sessions() as session, session.begin():
            session.add(audit)
        extra = {
            "site": audit.site,
            "door": audit.door,
            "command_id": audit.command_id,
            "action": audit.action,
        }
        if audit.result == UNDELIVERED:
            log.warning("command not sent: %s", NO_BROKER, extra=extra)
            return audit
        self._publish(topic, raw)
        log.info("command sent", extra=extra)
        return audit

    def expire(self) -> int:
        """Mark commands unanswered past the timeout as not delivered; returns how many."""
        now = self._clock()
        with self._sessions() as session, session.begin():
            expired = expire_pending(session, now, self.answer_timeout_s)
        for audit in expired:
            self._settled(audit)
        return len(expired)

    def outcome(self, event: Event) -> CommandAudit | None:
        """Record a door's answer to one of our commands; None if it answers nothing of ours."""
        if event.type not in (EventType.COMMAND_DONE, EventType.COMMAND_REJECTED):
            return None
        command_id = event.details.get("command_id")
        if not isinstance(command_id, str):
            return None
        with self._sessions() as session, session.begin():
            audit = session.get(CommandAudit, command_id)
            if audit is None or audit.result not in (PENDING, UNDELIVERED):
                return audit
            audit.result = "done" if event.type is EventType.COMMAND_DONE else "rejected"
            audit.result_reason = (event.reason or "")[:MAX_REASON] or None
            audit.result_at = event.ts
        self._settled(audit)
        return audit


def command_view(audit: CommandAudit) -> dict[str, Any]:
    """A settled command as the live page hears of it."""
    return {
        "command_id": audit.command_id,
        "site": audit.site,
        "door": audit.door,
        "action": audit.action,
        "result": audit.result,
        "result_reason": audit.result_reason,
    }


def recent_commands(
    session: Session,
    limit: int = 100,
    *,
    now: datetime | None = None,
    timeout_s: float | None = None,
    site: str | None = None,
    own_site: str | None = None,
) -> Sequence[CommandAudit]:
    """The newest audited commands first (of ``site`` only, if given), outcomes the live path
    missed filled in from events; with ``now`` and ``timeout_s``, the ones unanswered for
    longer are read as not delivered. Rows from before commands named their site belong to
    ``own_site``, the server's own."""
    stmt = select(CommandAudit)
    if site is not None:
        mine = CommandAudit.site == site
        stmt = stmt.where(or_(mine, CommandAudit.site.is_(None)) if site == own_site else mine)
    rows = session.scalars(stmt.order_by(CommandAudit.ts.desc()).limit(limit)).all()
    settle_from_events(session, [r for r in rows if r.result in (PENDING, UNDELIVERED)])
    if now is not None and timeout_s is not None:
        expire_pending(session, now, timeout_s)
    return rows


def expire_pending(session: Session, now: datetime, timeout_s: float) -> list[CommandAudit]:
    """Commands still pending ``timeout_s`` after they were sent become ``undelivered``."""
    cutoff = now - timedelta(seconds=timeout_s)
    stale = session.scalars(
        select(CommandAudit).where(CommandAudit.result == PENDING, CommandAudit.ts < cutoff)
    ).all()
    settle_from_events(session, stale)
    expired = [row for row in stale if row.result == PENDING]
    for row in expired:
        row.result, row.result_reason, row.result_at = UNDELIVERED, NO_ANSWER, now
    return expired


def settle_from_events(session: Session, pending: Sequence[CommandAudit]) -> int:
    """Fill in results from the recorder's events (e.g. answered while the dashboard restarted)."""
    if not pending:
        return 0
    by_id = {row.command_id: row for row in pending}
    answers = session.scalars(
        select(EventRecord)
        .where(EventRecord.command_id.in_(list(by_id)))
        .where(EventRecord.type.in_([str(t) for t in COMMAND_ANSWERS]))
    )
    settled = 0
    for event in answers:
        row = by_id.get(event.command_id or "")
        if row is not None and row.result in (PENDING, UNDELIVERED):
            row.result = "done" if event.type == EventType.COMMAND_DONE else "rejected"
            row.result_reason = (event.reason or "")[:MAX_REASON] or None
            row.result_at = event.ts
            settled += 1
    return settled
