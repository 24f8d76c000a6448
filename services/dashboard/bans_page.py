"""Admin page for the local ban list (blokeringsliste, issue 13).

Staff type the card or CPR number (hashed at once, never stored or shown), an until-date, the
reason staff will see and the doors; the list shows bans in force by pseudonym, each with a
button to lift it. Expired bans stop counting at the door by themselves.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from services.dashboard.auth import Login
from services.dashboard.list_forms import (
    FormProblem,
    actor,
    apply,
    chosen_doors,
    field,
    moment,
    typed_credential,
)
from services.dashboard.web import dashboard, guarded, refuse, render
from services.patrons import list_views
from services.patrons.access_lists import ban, lift_bans_by_pseudonym
from services.store.dashboard import Role

MAX_REASON = 500


@guarded(Role.ADMIN)
async def page(request: Request, login: Login) -> Response:
    """The bans in force and the form for a new one."""
    ctx = dashboard(request)
    now = datetime.now(UTC)
    rows = await ctx.db(lambda s: list_views.bans_in_force(s, now))
    context: dict[str, Any] = {
        "rows": rows,
        "doors": list(ctx.settings.doors.items()),
        "done": request.query_params.get("done"),
    }
    return render(request, "lists_bans.html", context)


@guarded(Role.ADMIN)
async def add(request: Request, login: Login) -> Response:
    """Ban a typed card or CPR number until a date, for a reason, at some or all doors."""
    ctx = dashboard(request)
    form = await request.form()
    try:
        credential = typed_credential(form)
        until = moment(form, "until", ctx.schedule.timezone)
        doors = chosen_doors(form, set(ctx.settings.doors))
    except FormProblem as exc:
        return refuse(request, 400, exc.key, **exc.values)
    reason = field(form, "reason")
    if not reason or len(reason) > MAX_REASON:
        return refuse(request, 400, "bans.reason", n=MAX_REASON)

    def change(session: Session) -> str:
        return ban(
            session, ctx.site_key, actor(login), credential, until=until, reason=reason, doors=doors
        )

    return await apply(request, change, "/lists/bans?done=added")


@guarded(Role.ADMIN)
async def lift(request: Request, login: Login) -> Response:
    """End every ban of the pseudonym now."""
    pseudonym = field(await request.form(), "pseudonym")
    return await apply(
        request,
        lambda s: lift_bans_by_pseudonym(s, actor(login), pseudonym),
        "/lists/bans?done=lifted",
    )
