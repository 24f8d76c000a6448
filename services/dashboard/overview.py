"""The municipality's pages: every branch at a glance, and the statistics per branch and summed.

A user sees the branches they have a role at (an admin: all). The figures are the recorder's
own queries (:mod:`services.recorder.stats`), per site, so a branch's line here is the same as
on its own statistics page.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from services.dashboard.auth import Login
from services.dashboard.recorder_health import recorder_health
from services.dashboard.sites import SiteInfo, overview
from services.dashboard.statistics import chosen_year, csv_response, date_range
from services.dashboard.web import dashboard, guarded, render
from services.recorder import stats
from services.store.dashboard import Role


async def _visible(request: Request, login: Login) -> list[SiteInfo]:
    ctx = dashboard(request)
    sites = await ctx.db(lambda s: ctx.sites(s))
    return [s for s in sites if login.access.at(s.id) is not None]


@guarded(Role.VIEWER)
async def page(request: Request, login: Login) -> Response:
    """All branches: opening state, people inside, alarms, doors needing attention; and the
    server's recorders (storing, stuck or reconnecting), which every staff member may see."""
    ctx = dashboard(request)

    def read(session: Session) -> dict[str, Any]:
        sites, now = ctx.sites(session), ctx.clock()
        return {
            "branches": overview(session, sites, login.access, now),
            "recorders": recorder_health(session, ctx.settings, now),
            "own_site": ctx.settings.site.id,
        }

    return render(request, "overview.html", await ctx.db(read))


@guarded(Role.VIEWER)
async def statistics(request: Request, login: Login) -> Response:
    """Entries, staffed vs self-service, peak and attendance per branch, and the sum."""
    ctx = dashboard(request)
    span = date_range(request.query_params, ctx)
    start, end = span.bounds(ctx)
    sites = [(s.id, s.name) for s in await _visible(request, login)]

    def read(session: Session) -> list[stats.BranchFigures]:
        return stats.branch_figures(session, sites, start, end, ctx.schedule)

    rows = await ctx.db(read)
    if request.query_params.get("format") == "csv":
        return csv_response(f"municipality-{span.first}-{span.last}.csv", rows)
    return render(
        request,
        "municipality_stats.html",
        {"rows": rows, "span": span, "all_sites": stats.ALL_SITES, "query": request.url.query},
    )


@guarded(Role.VIEWER)
async def year(request: Request, login: Login) -> Response:
    """Danmarks Statistik's yearly figures per branch and summed for the municipality.

    Every branch is counted with the server's schedule until branches announce their own
    opening hours."""
    ctx = dashboard(request)
    this_year, which = ctx.clock().year, chosen_year(request.query_params, ctx)
    sites = [(s.id, s.name, ctx.schedule) for s in await _visible(request, login)]
    rows = await ctx.db(lambda s: stats.branch_years(s, sites, which))
    if request.query_params.get("format") == "csv":
        return csv_response(f"municipality-{which}.csv", rows)
    return render(
        request,
        "municipality_year.html",
        {
            "rows": rows,
            "year": which,
            "years": range(this_year, 2019, -1),
            "all_sites": stats.ALL_SITES,
        },
    )
