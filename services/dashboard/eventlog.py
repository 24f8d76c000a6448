"""The event log: recorded events searchable by time, door and type, on a page and as CSV."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from services.core.events import EventType
from services.dashboard.auth import Login
from services.dashboard.statistics import csv_response, date_range
from services.dashboard.web import dashboard, guarded, render
from services.store.dashboard import Role
from services.store.recorder import EventRecord

PAGE = 500
CSV_MAX_ROWS = 200_000


@dataclass(frozen=True)
class LogRow:
    """One event as a row of the CSV download."""

    ts: datetime
    type: str
    source: str
    reason: str
    credential: str  # the pseudonym, never a card number
    command_id: str
    id: str


def search(
    start: datetime, end: datetime, door: str | None, types: Sequence[str]
) -> Select[EventRecord]:
    """Events in ``[start, end)`` from ``door`` (any if None) of ``types`` (any if empty)."""
    stmt = select(EventRecord).where(EventRecord.ts >= start, EventRecord.ts < end)
    if door:
        stmt = stmt.where(EventRecord.source == door)
    if types:
        stmt = stmt.where(EventRecord.type.in_(list(types)))
    return stmt.order_by(EventRecord.ts.desc(), EventRecord.id)


def _filters(request: Request) -> tuple[datetime, datetime, str | None, list[str], dict[str, Any]]:
    ctx = dashboard(request)
    span = date_range(request.query_params, ctx, days=1)
    start, end = span.bounds(ctx)
    door = request.query_params.get("door") or None
    known = {str(t) for t in EventType}
    types = [t for t in request.query_params.getlist("type") if t in known]
    shown = {"span": span, "door": door, "types": types}
    return start, end, door, types, shown


@guarded(Role.VIEWER)
async def event_log(request: Request, login: Login) -> Response:
    """The newest events matching the filters (up to 500; narrow the search for older ones)."""
    ctx = dashboard(request)
    start, end, door, types, shown = _filters(request)
    stmt = search(start, end, door, types).limit(PAGE + 1)

    def read(session: Session) -> list[EventRecord]:
        return list(session.scalars(stmt))

    rows = await ctx.db(read)
    sources = sorted({*ctx.settings.doors, "site"})
    return render(
        request,
        "events.html",
        {
            **shown,
            "rows": rows[:PAGE],
            "more": len(rows) > PAGE,
            "sources": sources,
            "all_types": sorted(str(t) for t in EventType),
            "query": str(request.query_params),
        },
    )


@guarded(Role.VIEWER)
async def event_log_csv(request: Request, login: Login) -> Response:
    """The events matching the filters as CSV (oldest rows beyond 200 000 are left out)."""
    ctx = dashboard(request)
    start, end, door, types, shown = _filters(request)
    tz = ctx.schedule.timezone
    stmt = search(start, end, door, types).limit(CSV_MAX_ROWS)

    def read(session: Session) -> list[LogRow]:
        return [
            LogRow(
                e.ts.astimezone(tz),
                e.type,
                e.source,
                e.reason or "",
                e.credential or "",
                e.command_id or "",
                e.id,
            )
            for e in session.scalars(stmt)
        ]

    rows = await ctx.db(read)
    span = shown["span"]
    return csv_response(f"{ctx.settings.site.id}-events-{span.first}-{span.last}.csv", rows)
