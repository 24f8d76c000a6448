"""One batch of received messages into the database, in the caller's transaction.

Events are inserted first (the database skips ids it has); only the events actually new derive
alarms, so a redelivery never raises an alarm twice. States and events are then walked in
arrival order against the open alarms of their own site; only the last state per site and key
is written. A batch may hold messages of many sites (a municipality's recorder): every row,
state and alarm is keyed by the site its topic named.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from services.core.alarms import ALARMING_EVENTS, AlarmKind, Clear, OpenKey, Raise, resolved_itself
from services.core.alarms import from_event as alarms_from_event
from services.core.alarms import from_state as alarms_from_state
from services.recorder.inbox import EventItem, Item, SiteItem, StateItem
from services.recorder.notify import AlarmNotice
from services.recorder.retention import past_retention
from services.store.recorder import (
    AUTO_ACK,
    CODE_USES_KEY,
    AlarmAcknowledgement,
    AlarmRecord,
    delete_site,
    delete_state,
    event_row,
    insert_events,
    open_alarms_of,
    put_site,
    put_state,
    site_name,
    take_code_uses,
)


@dataclass(frozen=True, slots=True)
class Received:
    """A decoded message, when it arrived and the site its topic named (None: the recorder's)."""

    item: Item
    received: datetime
    site: str | None = None


@dataclass(frozen=True, slots=True)
class BatchContext:
    """What every batch of one recorder needs to know."""

    site: str  # the recorder's own site (settings.site.id)
    site_name: str
    retention_days: int
    own_status: str  # the recorder's own status/<component>: its queued last will is no alarm
    # An outage over within this long acknowledges itself (services.core.alarms.resolved_itself)
    self_resolved: timedelta


@dataclass
class Outcome:
    """What a batch did: events new and repeated, and the alarms it raised."""

    stored: int = 0
    duplicates: int = 0
    raised: list[AlarmNotice] = field(default_factory=list)


def write_batch(session: Session, batch: Sequence[Received], ctx: BatchContext) -> Outcome:
    """Store the batch's events once, its latest states, and the alarms they raise or clear."""
    rows: dict[str, dict[str, Any]] = {}
    for r in batch:
        if isinstance(r.item, EventItem):
            row = event_row(r.item.event, r.site or ctx.site, r.received)
            rows.setdefault(r.item.event.id, past_retention(row, r.received, ctx.retention_days))
    fresh = insert_events(session, list(rows.values()))
    events = sum(isinstance(r.item, EventItem) for r in batch)
    outcome = Outcome(stored=len(fresh), duplicates=events - len(fresh))
    # One query for the open alarms of every site in the batch where something can raise or
    # clear one (a state, or a new event of a type with an alarm rule), not one per site; a
    # batch of entries and passes needs none.
    concerned = {
        r.site or ctx.site
        for r in batch
        if isinstance(r.item, StateItem)
        or (
            isinstance(r.item, EventItem)
            and r.item.event.type in ALARMING_EVENTS
            and r.item.event.id in fresh
        )
    }
    found = open_alarms_of(session, concerned) if concerned else {}
    alarms = {
        site: _OpenAlarms(session, site, ctx.self_resolved, found.get(site, []))
        for site in concerned
    }
    raised: list[AlarmRecord] = []
    latest: dict[tuple[str, str], tuple[StateItem, datetime]] = {}
    described: dict[str, tuple[SiteItem, datetime]] = {}
    for r in batch:
        item, site = r.item, r.site or ctx.site
        if isinstance(item, SiteItem):
            described[site] = (item, r.received)
        elif isinstance(item, EventItem):
            if item.event.id not in fresh:
                continue  # stored before: its alarms were derived then
            fresh.discard(item.event.id)
            if item.event.type in ALARMING_EVENTS:
                open_now = alarms[site]
                raised += open_now.apply(alarms_from_event(item.event, open_now.keys()))
        else:
            latest[(site, item.key)] = (item, r.received)
            open_now = alarms[site]
            if item.payload is not None and not (site == ctx.site and item.key == ctx.own_status):
                raised += open_now.apply(
                    alarms_from_state(item.key, item.payload, open_now.keys(), r.received)
                )
    for (site, key), (state, updated) in latest.items():
        if state.payload is None:
            delete_state(session, site, key)
        else:
            put_state(session, site, key, state.payload, updated)
    for site in {site for site, key in latest if key.startswith(CODE_USES_KEY)}:
        take_code_uses(session, site)  # the server's `codes list` and page show the uses
    for site, (about, announced) in described.items():
        if about.description is None:
            delete_site(session, site)
        else:
            put_site(session, site, about.description, announced)
    session.flush()  # the alarms' ids, for the notices
    names = {ctx.site: ctx.site_name}
    for alarm in raised:
        if alarm.site not in names:
            names[alarm.site] = site_name(session, alarm.site) or alarm.site
    outcome.raised = [_notice(alarm, names[alarm.site]) for alarm in raised]
    return outcome


def _notice(alarm: AlarmRecord, site_name: str) -> AlarmNotice:
    return AlarmNotice(
        alarm_id=alarm.id,
        site=alarm.site,
        site_name=site_name,
        kind=alarm.kind,
        source=alarm.source,
        severity=alarm.severity,
        message=alarm.message,
        raised_at=alarm.raised_at,
    )


class _OpenAlarms:
    """The site's open alarms during one batch, updated as actions are applied."""

    def __init__(
        self, session: Session, site: str, self_resolved: timedelta, open_now: list[AlarmRecord]
    ) -> None:
        self.session, self.site, self.self_resolved = session, site, self_resolved
        known = {str(k) for k in AlarmKind}
        self._open: dict[OpenKey, AlarmRecord] = {
            (AlarmKind(a.kind), a.source): a for a in open_now if a.kind in known
        }

    def keys(self) -> set[OpenKey]:
        """(kind, source) of every open alarm."""
        return set(self._open)

    def apply(self, actions: Sequence[Raise | Clear]) -> list[AlarmRecord]:
        """Raise and clear; returns the alarms raised."""
        raised: list[AlarmRecord] = []
        for action in actions:
            key = (action.kind, action.source)
            if isinstance(action, Clear):
                alarm = self._open.pop(key, None)
                if alarm is not None:
                    alarm.cleared_at = action.at
                    self._acknowledge_if_resolved(alarm)
                continue
            alarm = AlarmRecord(
                site=self.site,
                kind=str(action.kind),
                source=action.source,
                severity=str(action.severity),
                raised_at=action.at,
                event_id=action.event_id,
                message=action.message,
            )
            self.session.add(alarm)
            self._open[key] = alarm
            raised.append(alarm)
        return raised

    def _acknowledge_if_resolved(self, alarm: AlarmRecord) -> None:
        at = alarm.cleared_at
        if at is None or alarm.acknowledged_at is not None:
            return
        if resolved_itself(alarm.kind, alarm.raised_at, at, self.self_resolved):
            alarm.acknowledged_at, alarm.acknowledged_by = at, AUTO_ACK
            if alarm.id is None:
                self.session.flush()  # raised in this very batch: it needs its id first
            self.session.add(AlarmAcknowledgement(alarm_id=alarm.id, username=AUTO_ACK, ts=at))
