"""``aabent codes …``: one-time and time-limited PIN-pad codes, by staff; shown once."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from services.patrons.staff_edit import (
    actor,
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
    """Register ``codes issue|revoke|list``."""
    codes = sub.add_parser("codes", help="one-time and time-limited PIN-pad codes")
    actions = codes.add_subparsers(dest="codes_action", required=True, metavar="ACTION")
    p = actions.add_parser("issue", help="a new code, printed once")
    p.add_argument("label", help="what it is for, e.g. 'carpenter 3 Dec'")
    p.add_argument("--from", dest="valid_from", type=instant, required=True)
    p.add_argument("--until", type=instant, required=True)
    p.add_argument("--uses", type=int, default=1)
    p.add_argument("--doors", type=doors, default=frozenset(), help="door ids (default: all)")
    p.add_argument("--digits", type=int, default=6, choices=(6, 7, 8))
    site_arg(p)
    p.set_defaults(handler=_issue_code)
    p = actions.add_parser("revoke", help="withdraw a code by its label")
    p.add_argument("label")
    site_arg(p)
    p.set_defaults(handler=_revoke_code)
    p = actions.add_parser("list", help="the codes, their windows and uses (never the digits)")
    site_arg(p)
    p.set_defaults(handler=_list_codes)


def _issue_code(args: argparse.Namespace, settings: Settings) -> int:
    from services.patrons.access_lists import issue_code

    def change(session: Session, key: SiteKey) -> str:
        code = issue_code(
            session,
            key,
            actor(),
            args.label,
            site=site_of(args, settings),
            valid_from=args.valid_from,
            valid_until=args.until,
            max_uses=args.uses,
            doors=args.doors,
            digits=args.digits,
        )
        return (
            f"code for {args.label!r}: {code}\n"
            f"valid {args.valid_from.isoformat()} to {args.until.isoformat()}, "
            f"{args.uses} uses, doors: {', '.join(sorted(args.doors)) or 'all'}\n"
            "type it at the PIN pad and press #. It is shown only now."
        )

    return edit(settings, change)


def _revoke_code(args: argparse.Namespace, settings: Settings) -> int:
    from services.patrons.access_lists import revoke_code

    def change(session: Session, _key: SiteKey) -> str:
        revoke_code(session, actor(), args.label, site=site_of(args, settings))
        return f"code {args.label!r} revoked"

    return edit(settings, change)


def _list_codes(args: argparse.Namespace, settings: Settings) -> int:
    from services.patrons import list_views

    with opened(settings) as (session, _):
        for c in list_views.codes(session, site_of(args, settings)):
            print(
                f"{c.label}\t{c.valid_from.isoformat()} to {c.valid_until.isoformat()}\t"
                f"{c.uses}/{c.max_uses} uses\tdoors: {c.doors or 'all'}"
            )
    return 0
