"""``aabent rooms …``: the bookable rooms, their free slots, and bookings made by staff."""

from __future__ import annotations

import argparse
from datetime import datetime
from itertools import groupby
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from services.patrons.staff_edit import actor, card_arg, credential, edit, fail, opened
from services.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from services.core.credentials import SiteKey
    from services.core.rooms import Room


def add_commands(sub: Any) -> None:
    """Register ``rooms list|book|cancel|today``."""
    rooms = sub.add_parser("rooms", help="bookable rooms and their bookings")
    actions = rooms.add_subparsers(dest="rooms_action", required=True, metavar="ACTION")
    p = actions.add_parser("list", help="the rooms and their free slots")
    p.add_argument("--room", help="one room only")
    p.set_defaults(handler=_list)
    p = actions.add_parser("book", help="book a slot for the holder of CARD")
    p.add_argument("room", metavar="ROOM")
    card_arg(p)
    p.add_argument(
        "--at",
        type=_wall,
        required=True,
        help="the slot's start, YYYY-MM-DDTHH:MM in the site's time zone",
    )
    p.add_argument("--companions", type=int, default=0, help="how many come with the booker")
    p.set_defaults(handler=_book)
    p = actions.add_parser("cancel", help="cancel a booking by its number")
    p.add_argument("booking", type=int, metavar="NUMBER")
    p.set_defaults(handler=_cancel)
    p = actions.add_parser("today", help="today's bookings (by pseudonym)")
    p.set_defaults(handler=_today)


def _wall(text: str) -> datetime:
    """An argparse type: ``YYYY-MM-DDTHH:MM`` on the site's wall clock (its zone added later)."""
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a time as YYYY-MM-DDTHH:MM") from None


def _now(settings: Settings) -> datetime:
    return datetime.now(ZoneInfo(settings.site.timezone))


def _room(settings: Settings, room_id: str) -> Room:
    rooms = {r.id: r for r in settings.room_list()}
    if room_id not in rooms:
        known = ", ".join(rooms) or "none: add [rooms.<id>] to the settings"
        raise ValueError(f"no room {room_id!r} (rooms: {known})")
    return rooms[room_id]


def _list(args: argparse.Namespace, settings: Settings) -> int:
    from services.patrons import bookings
    from services.runtime.holiday_file import site_schedule

    schedule, now = site_schedule(settings), _now(settings)
    tz = schedule.timezone
    try:
        rooms = [_room(settings, args.room)] if args.room else list(settings.room_list())
    except ValueError as exc:
        return fail(str(exc))
    with opened(settings) as (session, _):
        for room in rooms:
            cfg = settings.rooms[room.id]
            print(
                f"{room.id}\t{cfg.name or room.id}\tdoors: {', '.join(sorted(room.doors))}\t"
                f"{room.rules.slot_minutes} min slots"
            )
            free = bookings.free(session, settings.site.id, room, schedule, now)
            for day, slots in groupby(free, key=lambda s: s.start.astimezone(tz).date()):
                times = " ".join(f"{s.start.astimezone(tz):%H:%M}" for s in slots)
                print(f"  {day.isoformat()} {day:%a}\t{times}")
    return 0


def _book(args: argparse.Namespace, settings: Settings) -> int:
    from services.patrons import bookings
    from services.runtime.holiday_file import site_schedule

    schedule = site_schedule(settings)

    def change(session: Session, key: SiteKey) -> str:
        room = _room(settings, args.room)
        made = bookings.book(
            session,
            key,
            settings.site.id,
            room,
            schedule,
            credential(args.card),
            args.at if args.at.tzinfo else args.at.replace(tzinfo=schedule.timezone),
            companions=args.companions,
            via="staff",
            booked_by=actor(),
            now=_now(settings),
        )
        tz = schedule.timezone
        return (
            f"booking {made.id}: {room.id} {made.start.astimezone(tz):%Y-%m-%d %H:%M}-"
            f"{made.end.astimezone(tz):%H:%M} for {made.pseudonym} +{made.companions}"
        )

    return edit(settings, change)


def _cancel(args: argparse.Namespace, settings: Settings) -> int:
    from services.patrons import bookings

    def change(session: Session, _key: SiteKey) -> str:
        done = bookings.cancel(
            session, settings.site.id, args.booking, actor=actor(), now=_now(settings)
        )
        return f"booking {done.id} cancelled"

    return edit(settings, change)


def _today(args: argparse.Namespace, settings: Settings) -> int:
    from services.patrons import bookings

    tz = ZoneInfo(settings.site.timezone)
    with opened(settings) as (session, _):
        for b in bookings.todays(session, settings.site.id, _now(settings), tz):
            print(
                f"{b.id}\t{b.room}\t{b.start.astimezone(tz):%H:%M}-{b.end.astimezone(tz):%H:%M}\t"
                f"{b.pseudonym} +{b.companions}\t{b.state}\t{b.via} {b.booked_by}"
            )
    return 0
