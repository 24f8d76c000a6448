"""``aabent groups|bans|codes|log …``: the local access lists and a patron's own log, by staff.

Each command opens the database from the settings (the server's, where staff edit), makes its
change in one transaction with its audit row and a new lists version, and says what it did. Card
and CPR numbers are hashed at once and never printed; a code is printed once, when issued.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from services.patrons import bans_cli, codes_cli
from services.patrons.staff_edit import (
    actor,
    card_arg,
    credential,
    doors,
    edit,
    fail,
    iso_date,
    opened,
    site_arg,
    site_of,
)
from services.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from services.core.credentials import SiteKey


def add_commands(sub: Any) -> None:
    """Register ``groups``, ``bans``, ``codes`` and ``log``."""
    _group_commands(sub)
    bans_cli.add_commands(sub)
    codes_cli.add_commands(sub)
    log = sub.add_parser("log", help="a patron's own log (GDPR right of access)")
    actions = log.add_subparsers(dest="log_action", required=True, metavar="ACTION")
    p = actions.add_parser("export", help="every event still held for CARD, as CSV")
    card_arg(p)
    p.add_argument("--out", type=Path, help="the CSV file (default: standard output)")
    p.set_defaults(handler=_log_export)


def _group_commands(sub: Any) -> None:
    groups = sub.add_parser("groups", help="access groups: staff, cleaners, volunteers")
    actions = groups.add_subparsers(dest="groups_action", required=True, metavar="ACTION")
    p = actions.add_parser("define", help="create a group or replace its rules")
    p.add_argument("name")
    p.add_argument("--windows", required=True, help="e.g. 'mon-fri 05:30-07:30, tue 13:00-16:00'")
    p.add_argument("--doors", type=doors, default=frozenset(), help="door ids (default: all)")
    p.add_argument("--valid-from", type=iso_date)
    p.add_argument("--valid-until", type=iso_date)
    p.add_argument("--no-pin", action="store_true", help="members enter with the card alone")
    p.add_argument(
        "--when-armed",
        choices=("refuse", "disarm"),
        default="refuse",
        help="a member's entry while the intruder alarm is armed",
    )
    site_arg(p)
    p.set_defaults(handler=_define_group)
    p = actions.add_parser("remove", help="delete a group and its memberships")
    p.add_argument("name")
    site_arg(p)
    p.set_defaults(handler=_remove_group)
    p = actions.add_parser("add-member", help="put CARD into a group")
    p.add_argument("name", metavar="GROUP")
    card_arg(p)
    p.add_argument("--member-name", required=True, help="who holds the card (for staff)")
    p.add_argument("--note", default="")
    p.add_argument("--expires", type=iso_date)
    p.add_argument("--pin", action="store_true", help="set the member's PIN (asked, or stdin)")
    site_arg(p)
    p.set_defaults(handler=_add_member)
    p = actions.add_parser("remove-member", help="take CARD out of a group")
    p.add_argument("name", metavar="GROUP")
    card_arg(p)
    site_arg(p)
    p.set_defaults(handler=_remove_member)
    p = actions.add_parser("list", help="the groups, their rules and member counts")
    site_arg(p)
    p.set_defaults(handler=_list_groups)


def _define_group(args: argparse.Namespace, settings: Settings) -> int:
    from services.core.groups import WhenArmed, parse_windows
    from services.patrons.access_lists import GroupSpec, define_group

    def change(session: Session, _key: SiteKey) -> str:
        spec = GroupSpec(
            args.name,
            parse_windows(args.windows),
            args.doors,
            args.valid_from,
            args.valid_until,
            pin_required=not args.no_pin,
            when_armed=WhenArmed(args.when_armed),
        )
        new = define_group(session, actor(), spec, site=site_of(args, settings))
        return f"group {args.name!r} {'created' if new else 'updated'}"

    return edit(settings, change)


def _remove_group(args: argparse.Namespace, settings: Settings) -> int:
    from services.patrons.access_lists import remove_group

    def change(session: Session, _key: SiteKey) -> str:
        members = remove_group(session, actor(), args.name, site=site_of(args, settings))
        return f"group {args.name!r} removed with its {members} members"

    return edit(settings, change)


def _read_pin() -> str:
    if not sys.stdin.isatty():
        return sys.stdin.readline().strip()
    pin = getpass.getpass("PIN: ")
    if getpass.getpass("PIN again: ") != pin:
        raise ValueError("the two PINs differ")
    return pin


def _add_member(args: argparse.Namespace, settings: Settings) -> int:
    from services.patrons.access_lists import add_member

    try:
        pin = _read_pin() if args.pin else None
    except ValueError as exc:
        return fail(f"{exc}; nothing changed")

    def change(session: Session, key: SiteKey) -> str:
        cred = credential(args.card)
        add_member(
            session,
            key,
            actor(),
            args.name,
            cred,
            site=site_of(args, settings),
            name=args.member_name,
            note=args.note,
            expires=args.expires,
            pin=pin,
        )
        return f"{args.member_name} is a member of {args.name!r} ({key.pseudonym(cred)})"

    return edit(settings, change)


def _remove_member(args: argparse.Namespace, settings: Settings) -> int:
    from services.patrons.access_lists import remove_member

    def change(session: Session, key: SiteKey) -> str:
        site = site_of(args, settings)
        remove_member(session, key, actor(), args.name, credential(args.card), site=site)
        return f"removed from {args.name!r}"

    return edit(settings, change)


def _list_groups(args: argparse.Namespace, settings: Settings) -> int:
    from services.patrons import list_views

    with opened(settings) as (session, _):
        for g in list_views.groups(session, site_of(args, settings)):
            valid = f"{g.valid_from or '…'} to {g.valid_until or '…'}"
            print(
                f"{g.name}\t{g.windows}\tdoors: {g.doors or 'all'}\tvalid {valid}\t"
                f"pin: {'yes' if g.pin_required else 'no'}\tarmed: {g.when_armed}\t"
                f"{g.members} members"
            )
    return 0


def _log_export(args: argparse.Namespace, settings: Settings) -> int:
    from services.patrons.own_log import write_own_log

    with opened(settings) as (session, key):
        cred = credential(args.card)
        if args.out is None:
            rows = write_own_log(session, key, actor(), cred, sys.stdout)
        else:
            with args.out.open("w", encoding="utf-8", newline="") as out:
                rows = write_own_log(session, key, actor(), cred, out)
    print(f"{rows} events for {key.pseudonym(cred)}", file=sys.stderr)
    return 0
