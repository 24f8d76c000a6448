"""Room bookings in the dashboard: staff see today's and the coming bookings, book a free slot
for a patron (card or CPR number typed, hashed at once) and cancel a booking.

The data functions take the site's id; the handlers pass the one of the URL (``/site/<id>/rooms``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from services.core.credentials import Credential, SiteKey
from services.core.rooms import Room, Slot
from services.core.schedule import Schedule
from services.dashboard.auth import Login
from services.dashboard.web import (
    dashboard,
    guarded,
    refuse,
    render,
    site_of,
    site_prefix,
    wants_json,
)
from services.patrons import bookings
from services.store.dashboard import Role


@dataclass(frozen=True)
class RoomSlots:
    """One room's free slots of its horizon."""

    room: Room
    name: str
    free: list[Slot]


@dataclass(frozen=True)
class RoomsOverview:
    """What the rooms page shows."""

    today: list[bookings.BookingView]
    upcoming: list[bookings.BookingView]
    rooms: list[RoomSlots]


def overview(
    session: Session,
    site: str,
    rooms: list[tuple[Room, str]],
    schedule: Schedule,
    now: datetime,
) -> RoomsOverview:
    """Today's bookings, those of the days after within the longest horizon, and free slots."""
    tz = schedule.timezone
    _, tomorrow = bookings.day_bounds(now.astimezone(tz).date(), tz)
    horizon = max((r.rules.horizon_days for r, _ in rooms), default=1)
    later = bookings.bookings_between(session, site, tomorrow, tomorrow + timedelta(days=horizon))
    return RoomsOverview(
        today=bookings.todays(session, site, now, tz),
        upcoming=[b for b in later if b.state != "cancelled"],
        rooms=[
            RoomSlots(r, name, bookings.free(session, site, r, schedule, now)) for r, name in rooms
        ],
    )


def staff_book(
    session: Session,
    key: SiteKey,
    site: str,
    room: Room,
    schedule: Schedule,
    card: str,
    start: datetime,
    companions: int,
    *,
    user: str,
    now: datetime,
) -> bookings.BookingView:
    """A booking made by ``user`` for the holder of ``card``."""
    return bookings.book(
        session,
        key,
        site,
        room,
        schedule,
        Credential.from_text(card),
        start,
        companions=companions,
        via="staff",
        booked_by=user,
        now=now,
    )


def _site(request: Request) -> str:
    return site_of(request)


def _rooms(request: Request) -> list[tuple[Room, str]]:
    # The rooms of the settings are this server's own site's; another branch's server books
    # its own.
    settings = dashboard(request).settings
    if site_of(request) != settings.site.id:
        return []
    return [(r, settings.rooms[r.id].name or r.id) for r in settings.room_list()]


@guarded(Role.VIEWER)
async def page(request: Request, login: Login) -> Response:
    """Today's and the coming bookings, and the form to book for someone."""
    ctx = dashboard(request)
    site, rooms, now = _site(request), _rooms(request), ctx.clock()
    data = await ctx.db(lambda s: overview(s, site, rooms, ctx.schedule, now))
    done = request.query_params.get("done")
    names = {r.id: name for r, name in rooms}
    return render(request, "rooms.html", {"data": data, "done": done, "room_names": names})


def _field(form: object, name: str) -> str:
    value = form.get(name, "")  # type: ignore[attr-defined]
    return value.strip() if isinstance(value, str) else ""


def _answer(request: Request, done: str) -> Response:
    if wants_json(request):
        return JSONResponse({"done": done})
    return RedirectResponse(f"{site_prefix(site_of(request))}/rooms?done={done}", status_code=303)


@guarded(Role.OPERATOR)
async def book(request: Request, login: Login) -> Response:
    """Book the chosen slot (``room|start``) for the card typed."""
    ctx = dashboard(request)
    form = await request.form()
    room_id, _, start_text = _field(form, "slot").partition("|")
    rooms = {r.id: r for r, _ in _rooms(request)}
    try:
        room, start = rooms[room_id], datetime.fromisoformat(start_text)
        companions = int(_field(form, "companions") or "0")
        card = _field(form, "card")
        Credential.from_text(card)
    except (KeyError, ValueError):
        return refuse(request, 400, "rooms.bad_form")
    site, now = _site(request), ctx.clock()
    try:
        await ctx.db(
            lambda s: staff_book(
                s,
                ctx.site_key,
                site,
                room,
                ctx.schedule,
                card,
                start,
                companions,
                user=login.user.username,
                now=now,
            )
        )
    except bookings.BookingError as exc:
        return refuse(request, 400, f"rooms.refused.{exc.code}")
    return _answer(request, "booked")


@guarded(Role.OPERATOR)
async def cancel(request: Request, login: Login) -> Response:
    """Cancel a booking of the site."""
    ctx = dashboard(request)
    booking_id: int = request.path_params["booking"]
    site, now = _site(request), ctx.clock()
    try:
        await ctx.db(
            lambda s: bookings.cancel(s, site, booking_id, actor=login.user.username, now=now)
        )
    except bookings.BookingError as exc:
        return refuse(request, 400, f"rooms.refused.{exc.code}")
    return _answer(request, "cancelled")
