"""The recorder's tables: every event once, the current state of each component, and alarms.

The dashboard reads these tables; the recorder is their only writer apart from staff
acknowledging an alarm. Store functions take the session first; the caller owns the transaction.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import JSON, ForeignKey, Integer, String, Table, delete, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from services.core.alarms import LATCHED, AlarmKind
from services.core.events import Event, EventType
from services.store.access_lists import PadCodeRecord
from services.store.base import Base, UtcDateTime

AUTO_ACK = (
    "aabent"  # the acknowledger of an outage that ended by itself (services/recorder/batch.py)
)

# Events whose details carry the id of the staff command they answer (dashboard: "did it work?").
COMMAND_ANSWERS = frozenset({EventType.COMMAND_DONE, EventType.COMMAND_REJECTED})


class EventRecord(Base):
    """One event, stored once under its UUID whatever how often the broker delivered it."""

    __tablename__ = "events"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    site: Mapped[str] = mapped_column(String)
    ts: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    type: Mapped[str] = mapped_column(String, index=True)
    source: Mapped[str] = mapped_column(String, index=True)
    reason: Mapped[str | None] = mapped_column(String)
    credential: Mapped[str | None] = mapped_column(String)  # the pseudonym; NULL after retention
    command_id: Mapped[str | None] = mapped_column(String(36), index=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    received: Mapped[datetime] = mapped_column(UtcDateTime)

    def __repr__(self) -> str:
        return f"EventRecord({self.type!r}, source={self.source!r}, ts={self.ts.isoformat()})"


class ComponentState(Base):
    """The latest retained state of a door, the opening, occupancy or a component's status.

    Keys: ``door/<id>`` (the door's state JSON), ``opening``, ``occupancy`` and
    ``status/<component>`` (payload ``{"status": "online"}``), ``code_uses/<controller>`` (the
    uses of one-time codes made at its doors, ``{"uses": {hash: n}}``), ``health/<recorder>``
    (a recorder's own counters, services/recorder/health.py). The key is unique per
    site, so one database can hold the states of a municipality's branches.
    """

    __tablename__ = "component_states"

    site: Mapped[str] = mapped_column(String, primary_key=True)
    key: Mapped[str] = mapped_column(String, primary_key=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated: Mapped[datetime] = mapped_column(UtcDateTime)


class SiteRecord(Base):
    """A site as it announced itself (its retained ``site`` topic): what the server knows of a
    branch without any configuration of its own. ``description`` keeps the whole payload."""

    __tablename__ = "sites"

    site: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    doors: Mapped[list[str]] = mapped_column(JSON)
    capacity: Mapped[int | None] = mapped_column(Integer)
    opening: Mapped[str | None] = mapped_column(String(32))  # staffed, self-service, closed
    description: Mapped[dict[str, Any]] = mapped_column(JSON)
    announced: Mapped[datetime] = mapped_column(UtcDateTime)  # when the recorder received it


class AlarmRecord(Base):
    """An alarm raised from events or states; open while ``cleared_at`` is NULL."""

    __tablename__ = "alarms"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site: Mapped[str] = mapped_column(String)
    kind: Mapped[str] = mapped_column(String)  # an AlarmKind value
    source: Mapped[str] = mapped_column(String)
    severity: Mapped[str] = mapped_column(String)  # "critical" or "warning"
    raised_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    event_id: Mapped[str | None] = mapped_column(String(36))
    message: Mapped[str] = mapped_column(String)
    cleared_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String)
    comment: Mapped[str | None] = mapped_column(String)

    def __repr__(self) -> str:
        return f"AlarmRecord({self.kind!r}, source={self.source!r}, open={self.cleared_at is None})"


class AlarmAcknowledgement(Base):
    """One acknowledgement of an alarm: who, when and what they wrote. Only ever added to.

    An alarm may be acknowledged more than once (one person takes it, another closes it); each
    word stays on record under its own author. The alarm keeps the first acknowledger and time.
    """

    __tablename__ = "alarm_acknowledgements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alarm_id: Mapped[int] = mapped_column(ForeignKey("alarms.id", ondelete="CASCADE"), index=True)
    username: Mapped[str] = mapped_column(String(64))
    ts: Mapped[datetime] = mapped_column(UtcDateTime)
    comment: Mapped[str | None] = mapped_column(String(500))


class AlarmNotification(Base):
    """One attempt to send an alarm out (e-mail, webhook, Apprise) and how it went.

    ``outcome`` is ``sent``, ``retrying`` (this attempt failed, another follows) or ``failed``
    (given up): staff see on the alarm whether the on-call person was reached.
    """

    __tablename__ = "alarm_notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alarm_id: Mapped[int] = mapped_column(ForeignKey("alarms.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    outcome: Mapped[str] = mapped_column(String(10))
    attempt: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(300))
    ts: Mapped[datetime] = mapped_column(UtcDateTime)


def _command_id(event: Event) -> str | None:
    value = event.details.get("command_id") if event.type in COMMAND_ANSWERS else None
    if not isinstance(value, str):
        return None
    try:
        return str(uuid.UUID(value))  # anything else would not fit the column, nor mean anything
    except ValueError:
        return None


def event_row(event: Event, site: str, received: datetime) -> dict[str, Any]:
    """The ``events`` row of ``event`` as received at ``received``."""
    return {
        "id": event.id,
        "site": site,
        "ts": event.ts,
        "type": str(event.type),
        "source": event.source,
        "reason": event.reason,
        "credential": event.credential,
        "command_id": _command_id(event),
        "details": dict(event.details),
        "received": received,
    }


# PostgreSQL: one short statement for any number of rows, the rows one JSON array parameter
# (serialised in one call). psycopg caches and, from its fifth use, prepares a statement this
# short; the multi-row VALUES SQLAlchemy builds is new text for each batch size, which psycopg
# parsed anew every time: most of the recorder's CPU per event before (issue 16).
_PG_INSERT_EVENTS = (
    "INSERT INTO events (id, site, ts, type, source, reason, credential, command_id, details,"
    " received) SELECT id, site, ts, type, source, reason, credential, command_id, details,"
    " received FROM json_to_recordset(%s::json) AS u(id text, site text, ts timestamptz,"
    " type text, source text, reason text, credential text, command_id text, details json,"
    " received timestamptz) ON CONFLICT (id) DO NOTHING RETURNING id"
)


def _aware_text(value: datetime) -> str:
    # ISO 8601 with its offset: timestamptz takes it as it is. Naive is refused as UtcDateTime does.
    if value.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return value.isoformat()


def _insert_events_pg(session: Session, rows: Sequence[Mapping[str, Any]]) -> set[str]:
    document = json.dumps(
        [{**r, "ts": _aware_text(r["ts"]), "received": _aware_text(r["received"])} for r in rows]
    )
    found = session.connection().exec_driver_sql(_PG_INSERT_EVENTS, (document,))
    return set(found.scalars())


def insert_events(session: Session, rows: Sequence[Mapping[str, Any]]) -> set[str]:
    """Insert event rows, skipping ids already stored; returns the ids actually inserted."""
    if not rows:
        return set()
    table = cast(Table, EventRecord.__table__)
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return _insert_events_pg(session, rows)
    if dialect == "sqlite":
        # The database decides, so two recorders (or a redelivery) can never store one id twice.
        insert = sqlite_insert(table)
        statement = insert.on_conflict_do_nothing(index_elements=["id"]).returning(table.c.id)
        return set(session.scalars(statement, [dict(r) for r in rows]))
    ids = [str(r["id"]) for r in rows]
    known = set(session.scalars(select(EventRecord.id).where(EventRecord.id.in_(ids))))
    fresh = [dict(r) for r in rows if r["id"] not in known]
    if fresh:
        session.execute(table.insert(), fresh)
    return {str(r["id"]) for r in fresh}


def put_state(
    session: Session, site: str, key: str, payload: Mapping[str, Any], updated: datetime
) -> None:
    """Store the latest state under ``key``, replacing the previous one."""
    state = session.get(ComponentState, (site, key))
    if state is None:
        session.add(ComponentState(site=site, key=key, payload=dict(payload), updated=updated))
    else:
        state.payload = dict(payload)
        state.updated = updated


HEALTH_PREFIX = "health/"  # + the recorder (and its instance): its counters for the dashboard
CODE_USES_KEY = "code_uses/"  # + the controller: its retained counts of code uses


def take_code_uses(session: Session, site: str) -> int:
    """Raise the uses of the site's one-time codes to what its controllers have counted: the
    sum over every controller's retained count (``code_uses/<controller>``). Counts only grow;
    returns how many codes were raised."""
    totals: dict[str, int] = {}
    payloads = session.scalars(
        select(ComponentState.payload).where(
            ComponentState.site == site, ComponentState.key.startswith(CODE_USES_KEY)
        )
    )
    for payload in payloads:
        for code_hash, uses in dict(payload.get("uses") or {}).items():
            totals[str(code_hash)] = totals.get(str(code_hash), 0) + int(uses)
    if not totals:
        return 0
    codes = session.scalars(
        select(PadCodeRecord).where(
            PadCodeRecord.site == site, PadCodeRecord.code_hash.in_(list(totals))
        )
    )
    raised = 0
    for code in codes:
        if totals[code.code_hash] > code.uses:
            code.uses, raised = totals[code.code_hash], raised + 1
    return raised


def delete_state(session: Session, site: str, key: str) -> None:
    """Forget a state (its retained message was cleared: the component was taken away)."""
    session.execute(
        delete(ComponentState).where(ComponentState.site == site, ComponentState.key == key)
    )


def put_site(
    session: Session, site: str, description: Mapping[str, Any], announced: datetime
) -> None:
    """Keep the site's latest announcement (already checked: services/recorder/inbox.py)."""
    opening = description.get("opening")
    values = {
        "name": str(description["name"]),
        "doors": [str(d) for d in description["doors"]],
        "capacity": description.get("capacity"),
        "opening": str(opening["state"]) if isinstance(opening, Mapping) else None,
        "description": dict(description),
        "announced": announced,
    }
    row = session.get(SiteRecord, site)
    if row is None:
        session.add(SiteRecord(site=site, **values))
    else:
        for name, value in values.items():
            setattr(row, name, value)


def delete_site(session: Session, site: str) -> None:
    """Forget a site whose announcement was cleared (the branch was taken away)."""
    session.execute(delete(SiteRecord).where(SiteRecord.site == site))


def site_name(session: Session, site: str) -> str | None:
    """The name the site announced; None if it never did."""
    row = session.get(SiteRecord, site)
    return None if row is None else row.name


def open_alarms_of(session: Session, sites: Iterable[str]) -> dict[str, list[AlarmRecord]]:
    """The open alarms of each of ``sites`` in one query, oldest first; a site without is absent."""
    found: dict[str, list[AlarmRecord]] = {}
    rows = session.scalars(
        select(AlarmRecord)
        .where(AlarmRecord.site.in_(list(sites)), AlarmRecord.cleared_at.is_(None))
        .order_by(AlarmRecord.raised_at, AlarmRecord.id)
    )
    for alarm in rows:
        found.setdefault(alarm.site, []).append(alarm)
    return found


def open_alarms(session: Session, site: str) -> list[AlarmRecord]:
    """The site's alarms not yet cleared, oldest first."""
    return list(
        session.scalars(
            select(AlarmRecord)
            .where(AlarmRecord.site == site, AlarmRecord.cleared_at.is_(None))
            .order_by(AlarmRecord.raised_at, AlarmRecord.id)
        )
    )


def acknowledge_alarm(
    session: Session, alarm_id: int, by: str, at: datetime, comment: str | None = None
) -> AlarmRecord | None:
    """Staff saw the alarm: their acknowledgement is added to its record, never replacing one.

    The first acknowledgement also marks the alarm acknowledged (by whom, when, its comment); a
    latched alarm (no end condition, e.g. a PIN attack) is cleared by it.
    """
    alarm = session.get(AlarmRecord, alarm_id)
    if alarm is None:
        return None
    session.add(AlarmAcknowledgement(alarm_id=alarm_id, username=by, ts=at, comment=comment))
    if alarm.acknowledged_at is None:
        alarm.acknowledged_at, alarm.acknowledged_by, alarm.comment = at, by, comment
    if alarm.cleared_at is None and alarm.kind in {str(k) for k in LATCHED}:
        alarm.cleared_at = at
    return alarm


def acknowledgements(session: Session, alarm_id: int) -> Sequence[AlarmAcknowledgement]:
    """Every acknowledgement of the alarm, oldest first."""
    return session.scalars(
        select(AlarmAcknowledgement)
        .where(AlarmAcknowledgement.alarm_id == alarm_id)
        .order_by(AlarmAcknowledgement.ts, AlarmAcknowledgement.id)
    ).all()


RECORDER_TABLES: tuple[Table, ...] = tuple(
    cast(Table, model.__table__)
    for model in (
        EventRecord,
        ComponentState,
        SiteRecord,
        AlarmRecord,
        AlarmAcknowledgement,
        AlarmNotification,
    )
)

__all__ = [
    "AUTO_ACK",
    "RECORDER_TABLES",
    "AlarmAcknowledgement",
    "AlarmKind",
    "AlarmNotification",
    "AlarmRecord",
    "ComponentState",
    "EventRecord",
    "SiteRecord",
    "acknowledge_alarm",
    "acknowledgements",
    "delete_site",
    "delete_state",
    "event_row",
    "insert_events",
    "open_alarms",
    "open_alarms_of",
    "put_site",
    "put_state",
    "site_name",
]
