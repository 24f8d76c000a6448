"""Statistics pages: entries with charts and CSV, and the year for Danmarks Statistik.

The figures are the recorder's own queries (:mod:`services.recorder.stats`), so the dashboard,
``aabent stats`` and any export count alike; this module only picks the range, draws the charts
and writes the CSV downloads.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response

from services.dashboard.auth import Login
from services.dashboard.charts import stacked_bars
from services.dashboard.web import Dashboard, dashboard, guarded, render, site_of, words
from services.recorder import stats
from services.recorder.stats import Period
from services.store.dashboard import Role

MAX_HOURLY_DAYS = 31  # beyond this an hourly chart is unreadable and the page slow
LABELS = {
    Period.HOUR: "%Y-%m-%d %H:00",
    Period.DAY: "%Y-%m-%d",
    Period.WEEK: "%G-W%V",
    Period.MONTH: "%Y-%m",
}


@dataclass(frozen=True)
class Range:
    """A span of whole local days, ``first`` to ``last`` inclusive."""

    first: date
    last: date

    def bounds(self, ctx: Dashboard) -> tuple[datetime, datetime]:
        """The span as aware instants ``[start, end)`` in the site's time zone."""
        tz = ctx.schedule.timezone
        start = datetime.combine(self.first, datetime.min.time(), tz)
        return start, datetime.combine(self.last + timedelta(days=1), datetime.min.time(), tz)


def _date(text: str | None, default: date) -> date:
    try:
        return date.fromisoformat(text) if text else default
    except ValueError:
        return default


def date_range(params: QueryParams, ctx: Dashboard, days: int = 30) -> Range:
    """The days asked for by ``from``/``to`` (YYYY-MM-DD); by default the last ``days``."""
    today = ctx.clock().date()
    last = _date(params.get("to"), today)
    first = _date(params.get("from"), last - timedelta(days=days - 1))
    return Range(min(first, last), max(first, last))


def chosen_year(params: QueryParams, ctx: Dashboard) -> int:
    """The year asked for (``year``), this one by default, within reason."""
    this_year = ctx.clock().year
    try:
        which = int(params.get("year", this_year))
    except ValueError:
        which = this_year
    return min(max(which, 2000), this_year + 1)


def _period(params: QueryParams, span: Range) -> Period:
    try:
        period = Period(params.get("period", "day"))
    except ValueError:
        period = Period.DAY
    if period is Period.HOUR and (span.last - span.first).days >= MAX_HOURLY_DAYS:
        return Period.DAY
    return period


def csv_response(filename: str, rows: Sequence[Any]) -> Response:
    """Dataclass rows as a CSV download (UTF-8 with BOM, so Excel opens æøå intact)."""
    out = io.StringIO()
    out.write("\ufeff")
    stats.write_csv(rows, out)
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@dataclass(frozen=True)
class Figures:
    """The tables of the statistics page."""

    entries: list[stats.EntryCount]
    by_opening: list[stats.OpeningCount]
    peaks: list[stats.DayPeak]
    attendance: list[stats.Attendance]


def _reader(ctx: Dashboard, site: str, span: Range, period: Period) -> Callable[[Session], Figures]:
    start, end = span.bounds(ctx)
    tz = ctx.schedule.timezone

    def read(session: Session) -> Figures:
        return Figures(
            stats.entries(session, site, start, end, period, tz),
            stats.entries_by_opening(session, site, start, end, ctx.schedule),
            stats.peak_occupancy(session, site, start, end, tz),
            stats.activity_attendance(session, site, start, end),
        )

    return read


@guarded(Role.VIEWER)
async def page(request: Request, login: Login) -> Response:
    """Entries per period, staffed vs self-service, daily peak occupancy, event attendance."""
    ctx = dashboard(request)
    span = date_range(request.query_params, ctx)
    period = _period(request.query_params, span)
    data = await ctx.db(_reader(ctx, site_of(request), span, period))
    labels = [e.start.strftime(LABELS[period]) for e in data.entries]
    t = words(request)
    return render(
        request,
        "stats.html",
        {
            "span": span,
            "period": period,
            "periods": list(Period),
            "data": data,
            "labels": labels,
            "entry_chart": stacked_bars(labels, [e.counted_entries for e in data.entries]),
            "opening_chart": stacked_bars(
                [t.code("opening", o.state) for o in data.by_opening],
                [o.counted_entries for o in data.by_opening],
            ),
            "peak_chart": stacked_bars(
                [str(p.day) for p in data.peaks], [p.peak for p in data.peaks]
            ),
            "capacity": ctx.settings.access.capacity,
            "query": str(request.query_params),
        },
    )


@guarded(Role.VIEWER)
async def export(request: Request, login: Login) -> Response:
    """One statistics table as CSV: ``what`` = entries, opening, peaks or attendance."""
    ctx = dashboard(request)
    span = date_range(request.query_params, ctx)
    period = _period(request.query_params, span)
    data = await ctx.db(_reader(ctx, site_of(request), span, period))
    what = request.query_params.get("what", "entries")
    tables: dict[str, Sequence[Any]] = {
        "entries": data.entries,
        "opening": data.by_opening,
        "peaks": data.peaks,
        "attendance": data.attendance,
    }
    what = what if what in tables else "entries"
    return csv_response(f"{site_of(request)}-{what}-{span.first}-{span.last}.csv", tables[what])


@guarded(Role.VIEWER)
async def year(request: Request, login: Login) -> Response:
    """The year's figures for Danmarks Statistik: visits and weekly opening hours."""
    ctx = dashboard(request)
    this_year, which = ctx.clock().year, chosen_year(request.query_params, ctx)
    site, tz = site_of(request), ctx.schedule.timezone
    start, end = datetime(which, 1, 1, tzinfo=tz), datetime(which + 1, 1, 1, tzinfo=tz)

    def read(session: Session) -> tuple[stats.YearFigures, list[stats.EntryCount]]:
        figures = stats.yearly_figures(session, site, which, ctx.schedule)
        return figures, stats.entries(session, site, start, end, Period.MONTH, tz)

    figures, months = await ctx.db(read)
    if request.query_params.get("format") == "csv":
        return csv_response(f"{site}-{which}.csv", [figures])
    chart = stacked_bars(
        [m.start.strftime("%Y-%m") for m in months], [m.counted_entries for m in months]
    )
    return render(
        request, "year.html", {"f": figures, "chart": chart, "years": range(this_year, 2019, -1)}
    )
