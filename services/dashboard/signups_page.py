"""Admin page for self-service sign-ups (issue 13): a patron's sign-up registered at the desk.

Where the site requires a signed agreement before the first unstaffed visit, staff type the
patron's card or CPR number (hashed at once) once the patron has read and signed the house
rules; a sign-up can be withdrawn the same way. A sign-up is for one site's doors: the pages
are the branch's (``/site/<id>/lists/signups``).
"""

from __future__ import annotations

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
    lists_url,
    typed_credential,
)
from services.dashboard.web import dashboard, guarded, refuse, render, site_of
from services.patrons import list_views
from services.patrons.access_lists import ListError, sign_up, withdraw_signup


@guarded(LISTS_ROLE)
async def page(request: Request, login: Login) -> Response:
    """How many have signed up, and the forms to register or withdraw one."""
    ctx = dashboard(request)
    site = site_of(request)
    count = await ctx.db(lambda s: list_views.signup_count(s, site))
    context: dict[str, Any] = {
        "count": count,
        "required": ctx.settings.access.signup_required,
        "done": request.query_params.get("done"),
    }
    return render(request, "lists_signups.html", context)


@guarded(LISTS_ROLE)
async def add(request: Request, login: Login) -> Response:
    """Register the sign-up of a typed card or CPR number (at the desk)."""
    ctx = dashboard(request)
    try:
        credential = typed_credential(await request.form())
    except FormProblem as exc:
        return refuse(request, 400, exc.key, **exc.values)
    site = site_of(request)

    def change(session: Session) -> None:
        if not sign_up(session, ctx.site_key, actor(login), credential, site=site, via="desk"):
            raise ListError("this card has signed up already", "signed_up")

    return await apply(request, change, lists_url(request, "signups?done=added"))


@guarded(LISTS_ROLE)
async def withdraw(request: Request, login: Login) -> Response:
    """Forget a typed card's sign-up: the door asks the patron to sign up again."""
    ctx = dashboard(request)
    try:
        credential = typed_credential(await request.form())
    except FormProblem as exc:
        return refuse(request, 400, exc.key, **exc.values)
    site = site_of(request)
    return await apply(
        request,
        lambda s: withdraw_signup(s, ctx.site_key, actor(login), credential, site=site),
        lists_url(request, "signups?done=withdrawn"),
    )
