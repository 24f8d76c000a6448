"""The ban list (blokeringsliste, issue 13) of one branch, with the municipality's bans.

Staff type the card or CPR number (hashed at once, never stored or shown), an until-date, the
reason staff will see and where it counts: at this branch only (some or all of its doors), or
at every branch of the municipality, the default on a server that knows more than one branch (a
patron banned at one branch is, as a rule, banned at all). The list shows the bans in force at
the branch by pseudonym, the municipality's marked, each with a button to lift it. Lifting a
municipality ban opens the doors of every branch again, so it needs the right to operate every
branch; any operator of the branch may make one. Expired bans stop counting by themselves.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from services.dashboard.auth import Login
from services.dashboard.list_forms import (
    LISTS_ROLE,
    FormProblem,
    actor,
    apply,
    chosen_doors,
    field,
    lists_url,
    moment,
    site_doors,
    typed_credential,
)
from services.dashboard.web import dashboard, guarded, refuse, render, site_of
from services.patrons import list_views
from services.patrons.access_lists import ban, lift_bans_by_pseudonym

MAX_REASON = 500
BRANCH, MUNICIPALITY = "site", "municipality"  # the form's choice of where a ban counts


async def _branches(request: Request) -> list[str]:
    ctx = dashboard(request)
    return [s.id for s in await ctx.db(ctx.sites)]


@guarded(LISTS_ROLE)
async def page(request: Request, login: Login) -> Response:
    """The bans in force at the branch (its own and the municipality's) and the form."""
    ctx = dashboard(request)
    now, site = datetime.now(UTC), site_of(request)
    rows = await ctx.db(lambda s: list_views.bans_in_force(s, site, now))
    branches = await _branches(request)
    context: dict[str, Any] = {
        "rows": rows,
        "doors": list((await site_doors(request)).items()),
        "municipality": len(branches) > 1,  # offer the choice, municipality first
        "may_lift_municipality": login.access.operable(branches) == branches,
        "done": request.query_params.get("done"),
    }
    return render(request, "lists_bans.html", context)


@guarded(LISTS_ROLE)
async def add(request: Request, login: Login) -> Response:
    """Ban a typed card or CPR number until a date, for a reason, at this branch (some or all
    of its doors) or at every branch of the municipality."""
    ctx = dashboard(request)
    form = await request.form()
    site = site_of(request)
    scope = field(form, "scope") or BRANCH
    if scope not in (BRANCH, MUNICIPALITY):
        return refuse(request, 400, "bans.bad_scope")
    try:
        credential = typed_credential(form)
        until = moment(form, "until", ctx.schedule.timezone)
        doors = chosen_doors(form, set(await site_doors(request)))
    except FormProblem as exc:
        return refuse(request, 400, exc.key, **exc.values)
    if scope == MUNICIPALITY and doors:
        return refuse(request, 400, "bans.municipality_doors")
    reason = field(form, "reason")
    if not reason or len(reason) > MAX_REASON:
        return refuse(request, 400, "bans.reason", n=MAX_REASON)
    where = None if scope == MUNICIPALITY else site

    def change(session: Session) -> str:
        return ban(
            session,
            ctx.site_key,
            actor(login),
            credential,
            site=where,
            until=until,
            reason=reason,
            doors=doors,
        )

    return await apply(request, change, lists_url(request, "bans?done=added"))


@guarded(LISTS_ROLE)
async def lift(request: Request, login: Login) -> Response:
    """End every ban of the pseudonym at the branch now, or (``scope=municipality``) its
    municipality ban, for a user who may operate every branch."""
    form = await request.form()
    pseudonym, scope = field(form, "pseudonym"), field(form, "scope") or BRANCH
    if scope not in (BRANCH, MUNICIPALITY):
        return refuse(request, 400, "bans.bad_scope")
    where: str | None = site_of(request)
    if scope == MUNICIPALITY:
        branches = await _branches(request)
        if login.access.operable(branches) != branches:
            return refuse(request, 403, "bans.lift_municipality")
        where = None
    return await apply(
        request,
        lambda s: lift_bans_by_pseudonym(s, actor(login), pseudonym, site=where),
        lists_url(request, "bans?done=lifted"),
    )
