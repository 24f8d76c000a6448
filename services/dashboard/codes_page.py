"""Admin page for one-time and time-limited PIN-pad codes (issue 13).

Staff give a label, a window, a number of uses and the doors; the code's digits are shown once,
on a printable page that no cache keeps, and stored only as their keyed hash. The list shows
every code without its digits, each with a button to revoke it. A code is one site's: the
pages are the branch's (``/site/<id>/lists/codes``).
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
    chosen_doors,
    field,
    lists_url,
    moment,
    refuse_list_error,
    site_doors,
)
from services.dashboard.web import dashboard, guarded, refuse, render, site_of
from services.patrons import list_views
from services.patrons.access_lists import ListError, issue_code, revoke_code

DIGITS = (6, 7, 8)
MAX_USES = 1000
MAX_LABEL = 200


@guarded(LISTS_ROLE)
async def page(request: Request, login: Login) -> Response:
    """Every issued code (never its digits) and the form for a new one."""
    ctx = dashboard(request)
    site = site_of(request)
    rows = await ctx.db(lambda s: list_views.codes(s, site))
    context: dict[str, Any] = {
        "rows": rows,
        "doors": list((await site_doors(request)).items()),
        "digits": DIGITS,
        "done": request.query_params.get("done"),
        "now": ctx.clock(),
    }
    return render(request, "lists_codes.html", context)


def _uses(text: str) -> int:
    try:
        uses = int(text or "1")
    except ValueError:
        raise FormProblem("codes.bad_uses", n=MAX_USES) from None
    if not 1 <= uses <= MAX_USES:
        raise FormProblem("codes.bad_uses", n=MAX_USES)
    return uses


@guarded(LISTS_ROLE)
async def issue(request: Request, login: Login) -> Response:
    """Issue a code and show its digits, this once."""
    ctx = dashboard(request)
    form = await request.form()
    tz = ctx.schedule.timezone
    site, known = site_of(request), await site_doors(request)
    try:
        label = field(form, "label")
        if not label or len(label) > MAX_LABEL:
            raise FormProblem("codes.bad_label", n=MAX_LABEL)
        start, end = moment(form, "valid_from", tz), moment(form, "valid_until", tz)
        if start is None or end is None:
            raise FormProblem("codes.bad_window")
        uses = _uses(field(form, "uses"))
        digits = int(field(form, "digits") or "6")
        if digits not in DIGITS:
            raise FormProblem("codes.bad_window")
        doors = chosen_doors(form, set(known))
    except FormProblem as exc:
        return refuse(request, 400, exc.key, **exc.values)

    def change(session: Session) -> str:
        return issue_code(
            session,
            ctx.site_key,
            actor(login),
            label,
            site=site,
            valid_from=start,
            valid_until=end,
            max_uses=uses,
            doors=doors,
            digits=digits,
        )

    try:
        code = await ctx.db(change)
    except ListError as exc:
        return refuse_list_error(request, exc)
    shown = {
        "code": code,
        "label": label,
        "start": start,
        "end": end,
        "uses": uses,
        "door_list": [known[d].name for d in sorted(doors)],
    }
    response = render(request, "lists_code_issued.html", shown)
    response.headers["cache-control"] = "no-store"  # the digits exist only on this page
    return response


@guarded(LISTS_ROLE)
async def revoke(request: Request, login: Login) -> Response:
    """Withdraw a code by its label."""
    label, site = field(await request.form(), "label"), site_of(request)
    return await apply(
        request,
        lambda s: revoke_code(s, actor(login), label, site=site),
        lists_url(request, "codes?done=revoked"),
    )
