"""The "Tonight" page (I aften): the branch's evening step by step, and the operator's orders.

Everyone logged in sees the sequence, people inside and the panel; an operator can extend the
evening, confirm the sweep ("swept — arm now") or play an announcement. Each order is audited
and sent like a door command (services/dashboard/building_orders.py); the page waits a moment
for the controller's answer so a plain form post shows it.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from services.bus.topics import SITE_SOURCE, Topics
from services.core.building_commands import MAX_EXTEND_MIN, BuildingAction
from services.dashboard.auth import Login
from services.dashboard.building_orders import send_order
from services.dashboard.commands import PENDING, UNDELIVERED, CommandError
from services.dashboard.tonight_view import Tonight, tonight
from services.dashboard.web import (
    Dashboard,
    dashboard,
    guarded,
    refuse,
    render,
    site_of,
    site_prefix,
    wants_json,
    words,
)
from services.store.dashboard import CommandAudit, Role

ANSWER_WAIT_S = 4.0  # a form post waits this long for the controller's answer
RECENT_ORDERS = 10


def runs_evening(ctx: Dashboard, site_id: str) -> bool:
    """Whether this server knows ``site_id``'s evening: its own site's, when the building runs
    it (another branch's schedule and sequences are that branch's settings, not ours)."""
    return site_id == ctx.settings.site.id and ctx.settings.building.enabled


def read_tonight(ctx: Dashboard, session: Session, site_id: str) -> Tonight:
    """Tonight at ``site_id``, from its plan, its stored events and its retained state."""
    state = ctx.buildings.get(site_id)
    if not runs_evening(ctx, site_id):
        return Tonight((), None, state)
    rules = ctx.settings.building.sequences.rules()
    return tonight(session, site_id, ctx.schedule, rules, ctx.clock(), state)


def recent_orders(session: Session, site_id: str, limit: int = RECENT_ORDERS) -> list[CommandAudit]:
    """The newest orders to the building of ``site_id``, newest first."""
    query = (
        select(CommandAudit)
        .where(CommandAudit.site == site_id, CommandAudit.door == SITE_SOURCE)
        .order_by(CommandAudit.ts.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


@guarded(Role.VIEWER)
async def page(request: Request, login: Login) -> Response:
    """The evening, its outcomes, the building's state and (for operators) the orders."""
    ctx = dashboard(request)
    site_id = site_of(request)

    def read(session: Session) -> tuple[Tonight, list[CommandAudit]]:
        return read_tonight(ctx, session, site_id), recent_orders(session, site_id)

    view, orders = await ctx.db(read)
    lang = words(request).lang
    messages = [
        (name, (m.en if lang == "en" and m.en else m.da) or name)
        for name, m in ctx.settings.building.messages.items()
    ]
    context: dict[str, Any] = {
        "view": view,
        "orders": orders,
        "messages": messages,
        "enabled": runs_evening(ctx, site_id),
        "max_minutes": MAX_EXTEND_MIN,
        "sent": request.query_params.get("sent", ""),
    }
    return render(request, "tonight.html", context)


def _int(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


async def _answered(ctx: Dashboard, command_id: str) -> CommandAudit | None:
    """The audit row once the controller answered (or ``ANSWER_WAIT_S`` passed)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + ANSWER_WAIT_S
    while True:
        row = await ctx.db(lambda s: s.get(CommandAudit, command_id))
        if row is None or row.result != PENDING or loop.time() >= deadline:
            return row
        await asyncio.sleep(0.1)


@guarded(Role.OPERATOR)
async def order(request: Request, login: Login) -> Response:
    """Extend, swept — arm now, or announce: audited, sent, and its answer awaited a moment."""
    ctx = dashboard(request)
    form = await request.form()
    try:
        action = BuildingAction(str(form.get("action", "")))
    except ValueError:
        return refuse(request, 400, "commands.unknown_action")
    s = ctx.settings
    topics = Topics(s.mqtt.prefix, site_of(request))
    try:
        audit = await asyncio.to_thread(
            send_order,
            ctx.commander,
            topics,
            list(s.building.messages),
            username=login.user.username,
            action=action,
            reason=str(form.get("reason", "")),
            minutes=_int(str(form.get("minutes", ""))),
            message=str(form.get("message", "")) or None,
            now=ctx.clock(),
            max_age_s=s.mqtt.command_max_age_s,
        )
    except CommandError as exc:
        return refuse(request, 400, exc.key, **exc.values)
    if audit.result == UNDELIVERED:
        why = words(request).code("result", audit.result_reason)
        return refuse(request, 503, "js.not_delivered", reason=why)
    answered = await _answered(ctx, audit.command_id) or audit
    if wants_json(request):
        return JSONResponse({"command_id": audit.command_id, "result": answered.result})
    here = site_prefix(site_of(request))
    return RedirectResponse(f"{here}/tonight?sent={audit.command_id}", status_code=303)
