"""The event log: recorded events searchable by time, door, type and card, on a page and as CSV.

"Why was this card refused on Tuesday night?": staff type the card or CPR number into a form
(POST, so the number is in no URL, proxy log or browser history); the server turns it into the
pseudonym the doors put in events (the site key's keyed hash) and shows that card's events. The
number itself is never stored or logged; the look-up is logged with who did it and the pseudonym.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Select, select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from services.core.credentials import Credential
from services.core.events import EventType
from services.dashboard.auth import Login
from services.dashboard.statistics import csv_response, date_range
from services.dashboard.web import dashboard, guarded, refuse, render, site_of, site_prefix
from services.store.dashboard import Role
from services.store.recorder import EventRecord

log = logging.getLogger(__name__)
PAGE = 500
CSV_MAX_ROWS = 200_000


@dataclass(frozen=True)
class LogRow:
    """One event as a row of the CSV download, in the page's order: when, where, what, why."""

    ts: datetime
    source: str
    type: str
    reason: str
    credential: str  # the pseudonym, never a card number
    command_id: str
    id: str


def search(
    site: str,
    start: datetime,
    end: datetime,
    door: str | None,
    types: Sequence[str],
    credential: str | None = None,
) -> Select[EventRecord]:
    """Events of ``site`` in ``[start, end)`` from ``door`` (any if None) of ``types`` (any if
    empty), of the card with pseudonym ``credential`` (any if None)."""
    stmt = select(EventRecord).where(
        EventRecord.site == site, EventRecord.ts >= start, EventRecord.ts < end
    )
    if credential:
        stmt = stmt.where(EventRecord.credential == credential)
    if door:
        stmt = stmt.where(EventRecord.source == door)
    if types:
        stmt = stmt.where(EventRecord.type.in_(list(types)))
    return stmt.order_by(EventRecord.ts.desc(), EventRecord.id)


@dataclass(frozen=True)
class Filters:
    """The event log's search, as read from the query string."""

    site: str
    start: datetime
    end: datetime
    door: str | None
    types: list[str]
    credential: str | None
    shown: dict[str, Any]

    def statement(self) -> Select[EventRecord]:
        """The search as a query."""
        return search(self.site, self.start, self.end, self.door, self.types, self.credential)


def _filters(request: Request) -> Filters:
    ctx = dashboard(request)
    span = date_range(request.query_params, ctx, days=1)
    start, end = span.bounds(ctx)
    door = request.query_params.get("door") or None
    known = {str(t) for t in EventType}
    types = [t for t in request.query_params.getlist("type") if t in known]
    credential = request.query_params.get("credential") or None
    shown = {"span": span, "door": door, "types": types, "credential": credential}
    return Filters(site_of(request), start, end, door, types, credential, shown)


@guarded(Role.VIEWER)
async def event_log(request: Request, login: Login) -> Response:
    """The newest events matching the filters (up to 500; narrow the search for older ones)."""
    ctx = dashboard(request)
    found = _filters(request)
    stmt = found.statement().limit(PAGE + 1)

    def read(session: Session) -> list[EventRecord]:
        return list(session.scalars(stmt))

    rows = await ctx.db(read)
    sources = sorted({*ctx.door_names(site_of(request)), "site"})
    return render(
        request,
        "events.html",
        {
            **found.shown,
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
    found = _filters(request)
    tz = ctx.schedule.timezone
    stmt = found.statement().limit(CSV_MAX_ROWS)

    def read(session: Session) -> list[LogRow]:
        return [
            LogRow(
                e.ts.astimezone(tz),
                e.source,
                e.type,
                e.reason or "",
                e.credential or "",
                e.command_id or "",
                e.id,
            )
            for e in session.scalars(stmt)
        ]

    rows = await ctx.db(read)
    span = found.shown["span"]
    return csv_response(f"{site_of(request)}-events-{span.first}-{span.last}.csv", rows)


@guarded(Role.OPERATOR)
async def patron(request: Request, login: Login) -> Response:
    """One card's events: the typed card or CPR number becomes its pseudonym, never a URL."""
    ctx = dashboard(request)
    form = await request.form()
    number = str(form.get("number", "")).strip()
    if not number or not number.replace("-", "").isalnum() or len(number) > 64:
        return refuse(request, 400, "eventlog.bad_number")
    pseudonym = ctx.site_key.pseudonym(Credential.from_text(number))
    log.info("patron look-up", extra={"by": login.user.username, "credential": pseudonym})
    query = {"credential": pseudonym}
    for name in ("from", "to"):
        value = form.get(name)
        if isinstance(value, str) and value:
            query[name] = value
    here = site_prefix(site_of(request))
    return RedirectResponse(f"{here}/events?{urlencode(query)}", status_code=303)
