"""Alarms that need a person: listed by severity, acknowledged with a comment (operator+).

The recorder raises and clears alarms in its ``alarms`` table; the dashboard reads them and
writes only the acknowledgement, through the recorder's own ``acknowledge_alarm``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import case, or_, select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from services.dashboard.auth import Login
from services.dashboard.web import dashboard, guarded, refuse, render, wants_json
from services.store.dashboard import Role
from services.store.recorder import AlarmAcknowledgement, AlarmRecord, acknowledge_alarm

MAX_COMMENT = 500
_SEVERITY_ORDER = case((AlarmRecord.severity == "critical", 0), else_=1)


def needing_attention(session: Session, site: str, limit: int = 200) -> Sequence[AlarmRecord]:
    """Alarms still active or not yet acknowledged: critical first, newest first."""
    return session.scalars(
        select(AlarmRecord)
        .where(
            AlarmRecord.site == site,
            or_(AlarmRecord.cleared_at.is_(None), AlarmRecord.acknowledged_at.is_(None)),
        )
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


async def _open(request: Request) -> dict[str, Any]:
    ctx = dashboard(request)
    site = ctx.settings.site.id

    def read(session: Session) -> dict[str, Any]:
        alarms = list(needing_attention(session, site))
        return {"alarms": alarms, "acks": acknowledgements_of(session, alarms)}

    return await ctx.db(read)


@guarded(Role.VIEWER)
async def panel(request: Request, login: Login) -> Response:
    """The alarm list as an HTML fragment, for the live view to refresh."""
    return render(request, "alarm_panel.html", await _open(request))


@guarded(Role.VIEWER)
async def page(request: Request, login: Login) -> Response:
    """Alarms needing a person, and the ones recently handled, each with its acknowledgements."""
    ctx = dashboard(request)
    site = ctx.settings.site.id

    def read(session: Session) -> dict[str, Any]:
        alarms = list(needing_attention(session, site))
        handled = list(recently_handled(session, site))
        acks = acknowledgements_of(session, alarms + handled)
        return {"alarms": alarms, "handled": handled, "acks": acks}

    return render(request, "alarms.html", await ctx.db(read))


@guarded(Role.OPERATOR)
async def acknowledge(request: Request, login: Login) -> Response:
    """Acknowledge one alarm with a comment; who and when are recorded."""
    ctx = dashboard(request)
    alarm_id = int(request.path_params["alarm_id"])
    form = await request.form()
    comment = str(form.get("comment", "")).strip()
    if not comment:
        return refuse(request, 400, "alarms.need_comment")
    if len(comment) > MAX_COMMENT:
        return refuse(request, 400, "alarms.comment_too_long", n=MAX_COMMENT)
    site, by = ctx.settings.site.id, login.user.username

    def ack(session: Session) -> bool:
        alarm = session.get(AlarmRecord, alarm_id)
        if alarm is None or alarm.site != site:
            return False
        return acknowledge_alarm(session, alarm_id, by, ctx.clock(), comment) is not None

    if not await ctx.db(ack):
        return refuse(request, 404, "alarms.no_alarm", id=alarm_id)
    if wants_json(request):
        return JSONResponse({"alarm_id": alarm_id, "acknowledged_by": by})
    return RedirectResponse("/alarms", status_code=303)
