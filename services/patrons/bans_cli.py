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
    site_arg,
    site_of,
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
    _scope_args(p, "ban CARD at every branch of the municipality (no --doors)")
    p.set_defaults(handler=_ban)
    p = actions.add_parser("lift", help="end every ban of CARD at the site (or municipality) now")
    card_arg(p)
    _scope_args(p, "lift the municipality's bans of CARD")
    p.set_defaults(handler=_lift)
    p = actions.add_parser("list", help="the bans in force at the site (by pseudonym)")
    site_arg(p)
    p.set_defaults(handler=_list_bans)


def _scope_args(p: Any, municipality_help: str) -> None:
    site_arg(p)
    p.add_argument("--municipality", action="store_true", help=municipality_help)


def _scope(args: argparse.Namespace, settings: Settings) -> str | None:
    """The ban's site, or None for the municipality's (``--municipality``)."""
    if args.municipality:
        if args.site is not None:
            raise ValueError("give --site or --municipality, not both")
        return None
    return site_of(args, settings)


def _ban(args: argparse.Namespace, settings: Settings) -> int:
    from services.patrons.access_lists import ban

    def change(session: Session, key: SiteKey) -> str:
        site = _scope(args, settings)
        if site is None and args.doors:
            raise ValueError("a municipality ban is for every door: leave out --doors")
        pseudonym = ban(
            session,
            key,
            actor(),
            credential(args.card),
            site=site,
            until=args.until,
            reason=args.reason,
            doors=args.doors,
        )
        where = "every branch" if site is None else site
        until = args.until.isoformat() if args.until else "lifted"
        return f"banned {pseudonym} at {where} until {until}"

    return edit(settings, change)


def _lift(args: argparse.Namespace, settings: Settings) -> int:
    from services.patrons.access_lists import lift_bans

    def change(session: Session, key: SiteKey) -> str:
        site = _scope(args, settings)
        return f"{lift_bans(session, key, actor(), credential(args.card), site=site)} bans lifted"

    return edit(settings, change)


def _list_bans(args: argparse.Namespace, settings: Settings) -> int:
    from services.patrons import list_views

    with opened(settings) as (session, _):
        for b in list_views.bans_in_force(session, site_of(args, settings), datetime.now(UTC)):
            until = b.until.isoformat() if b.until else "lifted"
            where = "municipality" if b.municipality else "branch"
            print(f"{b.pseudonym}\t{where}\tuntil {until}\tdoors: {b.doors or 'all'}\t{b.reason}")
    return 0
