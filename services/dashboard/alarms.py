"""Alarms that need a person: listed by severity, acknowledged with a comment (operator+).

The recorder raises and clears alarms in its ``alarms`` table; the dashboard reads them and
writes only the acknowledgement, through the recorder's own ``acknowledge_alarm``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, case, or_, select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from services.core.alarms import Severity
from services.dashboard.auth import Login
from services.dashboard.web import (
    Dashboard,
    dashboard,
    guarded,
    refuse,
    render,
    site_of,
    site_prefix,
    wants_json,
)
from services.store.dashboard import Role
from services.store.recorder import (
    AlarmAcknowledgement,
    AlarmNotification,
    AlarmRecord,
    acknowledge_alarm,
)

MAX_COMMENT = 500
_SEVERITY_ORDER = case((AlarmRecord.severity == "critical", 0), else_=1)


@dataclass(frozen=True)
class AlarmFilter:
    """What the alarm list is narrowed to: a severity, a source (door or component), or all."""

    severity: str | None = None
    source: str | None = None

    @classmethod
    def of(cls, request: Request) -> AlarmFilter:
        """The filter in the query string; unknown severities are ignored."""
        severity = request.query_params.get("severity") or None
        known = {str(s) for s in Severity}
        return cls(
            severity if severity in known else None, request.query_params.get("source") or None
        )

    def apply(self, stmt: Select[AlarmRecord]) -> Select[AlarmRecord]:
        """``stmt`` narrowed to this filter."""
        if self.severity:
            stmt = stmt.where(AlarmRecord.severity == self.severity)
        if self.source:
            stmt = stmt.where(AlarmRecord.source == self.source)
        return stmt


def needing_attention(
    session: Session, site: str, limit: int = 200, only: AlarmFilter = AlarmFilter()
) -> Sequence[AlarmRecord]:
    """Alarms still active or not yet acknowledged: critical first, newest first."""
    stmt = select(AlarmRecord).where(
        AlarmRecord.site == site,
        or_(AlarmRecord.cleared_at.is_(None), AlarmRecord.acknowledged_at.is_(None)),
    )
    return session.scalars(
        only.apply(stmt)
        .order_by(_SEVERITY_ORDER, AlarmRecord.raised_at.desc(), AlarmRecord.id.desc())
        .limit(limit)
    ).all()


def recently_handled(session: Session, site: str, limit: int = 50) -> Sequence[AlarmRecord]:
    """Alarms both cleared and acknowledged, newest first: the record of what was done."""
    return session.scalars(
        select(AlarmRecord)
        .where(
            AlarmRecord.site == site,
            AlarmRecord.cleared_at.is_not(None),
            AlarmRecord.acknowledged_at.is_not(None),
        )
        .order_by(AlarmRecord.raised_at.desc())
        .limit(limit)
    ).all()


def acknowledgements_of(
    session: Session, alarms: Sequence[AlarmRecord]
) -> dict[int, list[AlarmAcknowledgement]]:
    """Every acknowledgement of ``alarms``, oldest first, by alarm id."""
    found: dict[int, list[AlarmAcknowledgement]] = {}
    if not alarms:
        return found
    rows = session.scalars(
        select(AlarmAcknowledgement)
        .where(AlarmAcknowledgement.alarm_id.in_([a.id for a in alarms]))
        .order_by(AlarmAcknowledgement.ts, AlarmAcknowledgement.id)
    )
    for row in rows:
        found.setdefault(row.alarm_id, []).append(row)
    return found


def notifications_of(
    session: Session, alarms: Sequence[AlarmRecord]
) -> dict[int, list[AlarmNotification]]:
    """The latest delivery attempt per channel of each of ``alarms``: was anyone reached?"""
    latest: dict[tuple[int, str], AlarmNotification] = {}
    if alarms:
        rows = session.scalars(
            select(AlarmNotification)
            .where(AlarmNotification.alarm_id.in_([a.id for a in alarms]))
            .order_by(AlarmNotification.ts, AlarmNotification.id)
        )
        for row in rows:
            latest[(row.alarm_id, row.channel)] = row
    found: dict[int, list[AlarmNotification]] = {}
    for (alarm_id, _channel), row in sorted(latest.items()):
        found.setdefault(alarm_id, []).append(row)
    return found


async def _open(request: Request) -> dict[str, Any]:
    ctx = dashboard(request)
    site, only = site_of(request), AlarmFilter.of(request)

    def read(session: Session) -> dict[str, Any]:
        alarms = list(needing_attention(session, site, only=only))
        return {
            "alarms": alarms,
            "acks": acknowledgements_of(session, alarms),
            "sent": notifications_of(session, alarms),
            "only": only,
        }

    return await ctx.db(read)


@guarded(Role.VIEWER)
async def panel(request: Request, login: Login) -> Response:
    """The alarm list as an HTML fragment, for the live view to refresh."""
    return render(request, "alarm_panel.html", await _open(request))


@guarded(Role.VIEWER)
async def page(request: Request, login: Login) -> Response:
    """Alarms needing a person, and the ones recently handled, each with its acknowledgements."""
    ctx = dashboard(request)
    site, only = site_of(request), AlarmFilter.of(request)

    def read(session: Session) -> dict[str, Any]:
        alarms = list(needing_attention(session, site, only=only))
        handled = list(recently_handled(session, site))
        acks = acknowledgements_of(session, alarms + handled)
        sources = sorted({a.source for a in alarms + handled})
        return {
            "alarms": alarms,
            "handled": handled,
            "acks": acks,
            "sent": notifications_of(session, alarms + handled),
            "only": only,
            "sources": sources,
        }

    return render(request, "alarms.html", await ctx.db(read))


def _comment_problem(request: Request, comment: str) -> Response | None:
    if not comment:  # every acknowledgement says what was done
        return refuse(request, 400, "alarms.need_comment")
    if len(comment) > MAX_COMMENT:
        return refuse(request, 400, "alarms.comment_too_long", n=MAX_COMMENT)
    return None


def _acknowledge(
    ctx: Dashboard, site: str, ids: Sequence[int], by: str, comment: str
) -> Callable[[Session], list[int]]:
    """Only alarms of ``site`` (the one the user may operate) are acknowledged."""

    def ack(session: Session) -> list[int]:
        done = []
        for alarm_id in ids:
            alarm = session.get(AlarmRecord, alarm_id)
            if alarm is not None and alarm.site == site:
                acknowledge_alarm(session, alarm_id, by, ctx.clock(), comment)
                done.append(alarm_id)
        return done

    return ack


@guarded(Role.OPERATOR)
async def acknowledge(request: Request, login: Login) -> Response:
    """Acknowledge one alarm with a comment; who and when are recorded."""
    ctx = dashboard(request)
    alarm_id = int(request.path_params["alarm_id"])
    form = await request.form()
    comment = str(form.get("comment", "")).strip()
    problem = _comment_problem(request, comment)
    if problem is not None:
        return problem
    by = login.user.username
    if not await ctx.db(_acknowledge(ctx, site_of(request), [alarm_id], by, comment)):
        return refuse(request, 404, "alarms.no_alarm", id=alarm_id)
    if wants_json(request):
        return JSONResponse({"alarm_id": alarm_id, "acknowledged_by": by})
    return RedirectResponse(f"{site_prefix(site_of(request))}/alarms", status_code=303)


@guarded(Role.OPERATOR)
async def acknowledge_many(request: Request, login: Login) -> Response:
    """Acknowledge the ticked alarms with one comment (after a restart, say)."""
    ctx = dashboard(request)
    form = await request.form()
    ids = [int(v) for v in form.getlist("alarm") if isinstance(v, str) and v.isdigit()]
    comment = str(form.get("comment", "")).strip()
    if not ids:
        return refuse(request, 400, "alarms.none_ticked")
    problem = _comment_problem(request, comment)
    if problem is not None:
        return problem
    done = await ctx.db(_acknowledge(ctx, site_of(request), ids, login.user.username, comment))
    if wants_json(request):
        return JSONResponse({"acknowledged": done})
    return RedirectResponse(f"{site_prefix(site_of(request))}/alarms", status_code=303)
