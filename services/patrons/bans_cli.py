"""``aabent bans …``: the local ban list (blokeringsliste), by staff."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from services.patrons.staff_edit import (
    actor,
    card_arg,
    credential,
    doors,
    edit,
    instant,
    opened,
)
from services.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from services.core.credentials import SiteKey


def add_commands(sub: Any) -> None:
    """Register ``bans add|lift|list``."""
    bans = sub.add_parser("bans", help="the local ban list (blokeringsliste)")
    actions = bans.add_subparsers(dest="bans_action", required=True, metavar="ACTION")
    p = actions.add_parser("add", help="ban CARD from the doors")
    card_arg(p)
    p.add_argument("--until", type=instant, help="YYYY-MM-DD[THH:MM] (default: until lifted)")
    p.add_argument("--reason", required=True, help="shown to staff only")
    p.add_argument("--doors", type=doors, default=frozenset(), help="door ids (default: all)")
    p.set_defaults(handler=_ban)
    p = actions.add_parser("lift", help="end every ban of CARD now")
    card_arg(p)
    p.set_defaults(handler=_lift)
    p = actions.add_parser("list", help="the bans in force (by pseudonym)")
    p.set_defaults(handler=_list_bans)


def _ban(args: argparse.Namespace, settings: Settings) -> int:
    from services.patrons.access_lists import ban

    def change(session: Session, key: SiteKey) -> str:
        pseudonym = ban(
            session,
            key,
            actor(),
            credential(args.card),
            until=args.until,
            reason=args.reason,
            doors=args.doors,
        )
        return f"banned {pseudonym} until {args.until.isoformat() if args.until else 'lifted'}"

    return edit(settings, change)


def _lift(args: argparse.Namespace, settings: Settings) -> int:
    from services.patrons.access_lists import lift_bans

    def change(session: Session, key: SiteKey) -> str:
        return f"{lift_bans(session, key, actor(), credential(args.card))} bans lifted"

    return edit(settings, change)


def _list_bans(args: argparse.Namespace, settings: Settings) -> int:
    from services.patrons import list_views

    with opened(settings) as (session, _):
        for b in list_views.bans_in_force(session, datetime.now(UTC)):
            until = b.until.isoformat() if b.until else "lifted"
            print(f"{b.pseudonym}\tuntil {until}\tdoors: {b.doors or 'all'}\t{b.reason}")
    return 0
