"""Retention: identifiable detail goes after ``retention.days``, counts stay (docs/retention.md).

An event older than the period keeps its id, time, type, source and reason, so every statistic
still adds up; it loses its credential pseudonym and every detail that is not a count or a state
(reader ids, staff names, patron-facing messages, anything a kiosk added). PIN failure rows older
than the period are deleted. Each run remembers where it stopped, so a daily run only touches one
day of events; the recorder strips an event that arrives already past the period
(:func:`past_retention`), so a late delivery is never stored identifiable.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from services.store.lockouts import purge_before
from services.store.recorder import ComponentState, EventRecord, put_state

log = logging.getLogger(__name__)

# Detail keys that are counts, states or ids of things (not people): kept after the period.
KEPT_DETAILS = frozenset(
    {
        "inside",
        "inside_at_closing",
        "capacity",
        "seconds",
        "granted",
        "entered",
        "failures_24h",
        "cards",
        "errors",
        "state",
        "until",
        "updated",
        "action",
        "mode",
        "command_id",
        "doors",
        "kind",
        "activity_uid",
        "event_id",  # what activity_uid was called in check-ins stored before
        "title",
        "head_count",
        "guest",
    }
)
WATERMARK = ("*", "retention")  # (site, key) in component_states: where the last run stopped
CHUNK = 1000


@dataclass(frozen=True, slots=True)
class PurgeResult:
    """What one run did."""

    cutoff: datetime
    events: int  # events stripped of credential and detail
    pin_rows: int  # PIN failure and card standing rows deleted


def strip_details(details: Mapping[str, Any]) -> dict[str, Any]:
    """Only the detail keys that identify nobody."""
    return {key: value for key, value in details.items() if key in KEPT_DETAILS}


def past_retention(row: Mapping[str, Any], now: datetime, days: int) -> dict[str, Any]:
    """An ``events`` row as it may be stored at ``now``: stripped when already past the period."""
    if row["ts"] >= now - timedelta(days=days):
        return dict(row)
    return dict(row) | {"credential": None, "details": strip_details(row["details"])}


def _watermark_key(site: str | None) -> tuple[str, str]:
    """Where the run for ``site`` (None: every site on the defaults) stopped last time."""
    return WATERMARK if site is None else (WATERMARK[0], f"{WATERMARK[1]}/{site}")


def _watermark(session: Session, site: str | None = None) -> datetime | None:
    state = session.get(ComponentState, _watermark_key(site))
    if state is None:
        return None
    return datetime.fromisoformat(str(state.payload["purged_before"]))


_Key = tuple[datetime, str]


def _strip_chunk(
    session: Session,
    since: datetime | None,
    cutoff: datetime,
    after: _Key | None,
    sites: ColumnElement[bool],
) -> tuple[int, _Key | None]:
    """Strip up to CHUNK events of ``sites`` past ``after`` (keyset (ts, id)); returns the last
    key or None."""
    query = select(EventRecord.id, EventRecord.ts, EventRecord.credential, EventRecord.details)
    query = query.where(EventRecord.ts < cutoff, sites)
    if since is not None:
        query = query.where(EventRecord.ts >= since)
    if after is not None:
        ts, ident = after
        query = query.where(
            or_(EventRecord.ts > ts, and_(EventRecord.ts == ts, EventRecord.id > ident))
        )
    rows = session.execute(query.order_by(EventRecord.ts, EventRecord.id).limit(CHUNK)).all()
    changes = []
    for ident, _ts, credential, details in rows:
        kept = strip_details(details or {})
        if credential is not None or kept != (details or {}):
            changes.append({"id": ident, "credential": None, "details": kept})
    if changes:
        session.execute(update(EventRecord), changes)
    return (len(changes), (rows[-1].ts, rows[-1].id) if rows else None)


def _strip_sites(
    session: Session, now: datetime, cutoff: datetime, site: str | None, sites: ColumnElement[bool]
) -> int:
    since = _watermark(session, site)
    stripped = 0
    after: _Key | None = None
    while True:
        changed, after = _strip_chunk(session, since, cutoff, after, sites)
        stripped += changed
        if after is None:
            break
    if since is None or cutoff > since:
        key = _watermark_key(site)
        put_state(session, *key, {"purged_before": cutoff.isoformat()}, now)
    return stripped


def purge(
    session: Session, now: datetime, days: int, per_site: Mapping[str, int] | None = None
) -> PurgeResult:
    """Strip events older than ``days`` (a branch's own days in ``per_site``) and delete old
    PIN failures; the caller commits."""
    own = dict(per_site or {})
    cutoff = now - timedelta(days=days)
    stripped = _strip_sites(session, now, cutoff, None, EventRecord.site.not_in(list(own)))
    for site, site_days in sorted(own.items()):
        site_cutoff = now - timedelta(days=site_days)
        stripped += _strip_sites(session, now, site_cutoff, site, EventRecord.site == site)
    pin_rows = purge_before(session, cutoff)
    return PurgeResult(cutoff, stripped, pin_rows)


def run_once(
    sessions: sessionmaker[Session],
    now: datetime,
    days: int,
    per_site: Mapping[str, int] | None = None,
) -> PurgeResult:
    """One purge in its own transaction, logged."""
    with sessions() as session, session.begin():
        result = purge(session, now, days, per_site)
    log.info(
        "retention: %d events stripped, %d PIN rows deleted (before %s)",
        result.events,
        result.pin_rows,
        result.cutoff.isoformat(),
    )
    return result


def next_run(now: datetime, at: time, tz: ZoneInfo) -> datetime:
    """The first local ``at`` strictly after ``now`` (aware; a DST night shifts it correctly)."""
    local = now.astimezone(tz)
    candidate = datetime.combine(local.date(), at, tzinfo=tz)
    if candidate <= local:
        candidate = datetime.combine(local.date() + timedelta(days=1), at, tzinfo=tz)
    return candidate


def run_daily(
    sessions: sessionmaker[Session],
    days: int,
    *,
    at: time,
    tz: ZoneInfo,
    clock: Callable[[], datetime],
    stop: threading.Event,
    per_site: Mapping[str, int] | None = None,
) -> None:
    """Purge every day at ``at`` local time until ``stop`` is set (run it in a thread)."""
    while True:
        wait = (next_run(clock(), at, tz) - clock()).total_seconds()
        if stop.wait(max(0.0, wait)):
            return
        try:
            run_once(sessions, clock(), days, per_site)
        except Exception:  # tomorrow's run must still happen
            log.exception("retention run failed")
