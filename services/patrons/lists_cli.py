"""``aabent groups|bans|codes|log …``: the local access lists and a patron's own log, by staff.

Each command opens the database from the settings (the server's, where staff edit), makes its
change in one transaction with its audit row and a new lists version, and says what it did. Card
and CPR numbers are hashed at once and never printed; a code is printed once, when issued.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from services.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from services.core.credentials import Credential, SiteKey


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date as YYYY-MM-DD") from None


def _instant(text: str) -> datetime:
    """``YYYY-MM-DD`` (local midnight) or ``YYYY-MM-DDTHH:MM`` (local), as an aware instant."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a time as YYYY-MM-DD or YYYY-MM-DDTHH:MM"
        ) from None
    return moment if moment.tzinfo else moment.astimezone()


def _doors(text: str) -> frozenset[str]:
    return frozenset(d.strip() for d in text.split(",") if d.strip())


def _credential(text: str) -> Credential:
    from services.core.credentials import Credential

    return Credential.from_text(text)


def _actor() -> str:
    return getpass.getuser()


Handler = Callable[[argparse.Namespace, Settings], int]


def _card_arg(p: Any) -> None:
    p.add_argument("card", metavar="CARD", help="card or CPR number, as the reader gives it")


def add_commands(sub: Any) -> None:
    """Register ``groups``, ``bans``, ``codes`` and ``log``."""
    _group_commands(sub)
    _ban_commands(sub)
    _code_commands(sub)
    log = sub.add_parser("log", help="a patron's own log (GDPR right of access)")
    actions = log.add_subparsers(dest="log_action", required=True, metavar="ACTION")
    p = actions.add_parser("export", help="every event still held for CARD, as CSV")
    _card_arg(p)
    p.add_argument("--out", type=Path, help="the CSV file (default: standard output)")
    p.set_defaults(handler=_log_export)


def _group_commands(sub: Any) -> None:
    groups = sub.add_parser("groups", help="access groups: staff, cleaners, volunteers")
    actions = groups.add_subparsers(dest="groups_action", required=True, metavar="ACTION")
    p = actions.add_parser("define", help="create a group or replace its rules")
    p.add_argument("name")
    p.add_argument("--windows", required=True, help="e.g. 'mon-fri 05:30-07:30, tue 13:00-16:00'")
    p.add_argument("--doors", type=_doors, default=frozenset(), help="door ids (default: all)")
    p.add_argument("--valid-from", type=_iso_date)
    p.add_argument("--valid-until", type=_iso_date)
    p.add_argument("--no-pin", action="store_true", help="members enter with the card alone")
    p.add_argument(
        "--when-armed",
        choices=("refuse", "disarm"),
        default="refuse",
        help="a member's entry while the intruder alarm is armed",
    )
    p.set_defaults(handler=_define_group)
    p = actions.add_parser("remove", help="delete a group and its memberships")
    p.add_argument("name")
    p.set_defaults(handler=_remove_group)
    p = actions.add_parser("add-member", help="put CARD into a group")
    p.add_argument("name", metavar="GROUP")
    _card_arg(p)
    p.add_argument("--member-name", required=True, help="who holds the card (for staff)")
    p.add_argument("--note", default="")
    p.add_argument("--expires", type=_iso_date)
    p.add_argument("--pin", action="store_true", help="set the member's PIN (asked, or stdin)")
    p.set_defaults(handler=_add_member)
    p = actions.add_parser("remove-member", help="take CARD out of a group")
    p.add_argument("name", metavar="GROUP")
    _card_arg(p)
    p.set_defaults(handler=_remove_member)
    p = actions.add_parser("list", help="the groups, their rules and member counts")
    p.set_defaults(handler=_list_groups)


def _ban_commands(sub: Any) -> None:
    bans = sub.add_parser("bans", help="the local ban list (blokeringsliste)")
    actions = bans.add_subparsers(dest="bans_action", required=True, metavar="ACTION")
    p = actions.add_parser("add", help="ban CARD from the doors")
    _card_arg(p)
    p.add_argument("--until", type=_instant, help="YYYY-MM-DD[THH:MM] (default: until lifted)")
    p.add_argument("--reason", required=True, help="shown to staff only")
    p.add_argument("--doors", type=_doors, default=frozenset(), help="door ids (default: all)")
    p.set_defaults(handler=_ban)
    p = actions.add_parser("lift", help="end every ban of CARD now")
    _card_arg(p)
    p.set_defaults(handler=_lift)
    p = actions.add_parser("list", help="the bans in force (by pseudonym)")
    p.set_defaults(handler=_list_bans)


def _code_commands(sub: Any) -> None:
    codes = sub.add_parser("codes", help="one-time and time-limited PIN-pad codes")
    actions = codes.add_subparsers(dest="codes_action", required=True, metavar="ACTION")
    p = actions.add_parser("issue", help="a new code, printed once")
    p.add_argument("label", help="what it is for, e.g. 'carpenter 3 Dec'")
    p.add_argument("--from", dest="valid_from", type=_instant, required=True)
    p.add_argument("--until", type=_instant, required=True)
    p.add_argument("--uses", type=int, default=1)
    p.add_argument("--doors", type=_doors, default=frozenset(), help="door ids (default: all)")
    p.add_argument("--digits", type=int, default=6, choices=(6, 7, 8))
    p.set_defaults(handler=_issue_code)
    p = actions.add_parser("revoke", help="withdraw a code by its label")
    p.add_argument("label")
    p.set_defaults(handler=_revoke_code)
    p = actions.add_parser("list", help="the codes, their windows and uses (never the digits)")
    p.set_defaults(handler=_list_codes)


@contextmanager
def opened(settings: Settings) -> Iterator[tuple[Session, SiteKey]]:
    """One transaction on the settings' database, with the site key."""
    from services.store.engine import make_sessionmaker
    from services.store.schema import open_database

    engine = open_database(settings.database_url)
    try:
        key = settings.site.site_key()
        with make_sessionmaker(engine)() as session, session.begin():
            yield session, key
    finally:
        engine.dispose()


def _fail(message: str) -> int:
    print(f"aabent: {message}", file=sys.stderr)
    return 1


def _edit(settings: Settings, change: Callable[[Session, SiteKey], str]) -> int:
    """Make ``change`` in one transaction; print its summary, or the reason it was refused."""
    from services.patrons.access_lists import ListError

    try:
        with opened(settings) as (session, key):
            summary = change(session, key)
    except (ListError, ValueError) as exc:
        return _fail(f"{exc}; nothing changed")
    print(summary)
    return 0


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
        new = define_group(session, _actor(), spec)
        return f"group {args.name!r} {'created' if new else 'updated'}"

    return _edit(settings, change)


def _remove_group(args: argparse.Namespace, settings: Settings) -> int:
    from services.patrons.access_lists import remove_group

    def change(session: Session, _key: SiteKey) -> str:
        members = remove_group(session, _actor(), args.name)
        return f"group {args.name!r} removed with its {members} members"

    return _edit(settings, change)


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
        return _fail(f"{exc}; nothing changed")

    def change(session: Session, key: SiteKey) -> str:
        cred = _credential(args.card)
        add_member(
            session,
            key,
            _actor(),
            args.name,
            cred,
            name=args.member_name,
            note=args.note,
            expires=args.expires,
            pin=pin,
        )
        return f"{args.member_name} is a member of {args.name!r} ({key.pseudonym(cred)})"

    return _edit(settings, change)


def _remove_member(args: argparse.Namespace, settings: Settings) -> int:
    from services.patrons.access_lists import remove_member

    def change(session: Session, key: SiteKey) -> str:
        remove_member(session, key, _actor(), args.name, _credential(args.card))
        return f"removed from {args.name!r}"

    return _edit(settings, change)


def _list_groups(args: argparse.Namespace, settings: Settings) -> int:
    from sqlalchemy import select

    from services.store.access_lists import AccessGroupRecord

    with opened(settings) as (session, _):
        for g in session.scalars(select(AccessGroupRecord).order_by(AccessGroupRecord.name)):
            valid = f"{g.valid_from or '…'} to {g.valid_until or '…'}"
            print(
                f"{g.name}\t{g.windows}\tdoors: {g.doors or 'all'}\tvalid {valid}\t"
                f"pin: {'yes' if g.pin_required else 'no'}\tarmed: {g.when_armed}\t"
                f"{len(g.members)} members"
            )
    return 0


def _ban(args: argparse.Namespace, settings: Settings) -> int:
    from services.patrons.access_lists import ban

    def change(session: Session, key: SiteKey) -> str:
        pseudonym = ban(
            session,
            key,
            _actor(),
            _credential(args.card),
            until=args.until,
            reason=args.reason,
            doors=args.doors,
        )
        return f"banned {pseudonym} until {args.until.isoformat() if args.until else 'lifted'}"

    return _edit(settings, change)


def _lift(args: argparse.Namespace, settings: Settings) -> int:
    from services.patrons.access_lists import lift_bans

    def change(session: Session, key: SiteKey) -> str:
        return f"{lift_bans(session, key, _actor(), _credential(args.card))} bans lifted"

    return _edit(settings, change)


def _list_bans(args: argparse.Namespace, settings: Settings) -> int:
    from sqlalchemy import or_, select

    from services.store.access_lists import BanRecord

    now = datetime.now(UTC)
    with opened(settings) as (session, _):
        in_force = or_(BanRecord.until.is_(None), BanRecord.until > now)
        for b in session.scalars(select(BanRecord).where(in_force).order_by(BanRecord.created)):
            until = b.until.isoformat() if b.until else "lifted"
            print(f"{b.pseudonym}\tuntil {until}\tdoors: {b.doors or 'all'}\t{b.reason}")
    return 0


def _issue_code(args: argparse.Namespace, settings: Settings) -> int:
    from services.patrons.access_lists import issue_code

    def change(session: Session, key: SiteKey) -> str:
        code = issue_code(
            session,
            key,
            _actor(),
            args.label,
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

    return _edit(settings, change)


def _revoke_code(args: argparse.Namespace, settings: Settings) -> int:
    from services.patrons.access_lists import revoke_code

    def change(session: Session, _key: SiteKey) -> str:
        revoke_code(session, _actor(), args.label)
        return f"code {args.label!r} revoked"

    return _edit(settings, change)


def _list_codes(args: argparse.Namespace, settings: Settings) -> int:
    from sqlalchemy import select

    from services.store.access_lists import PadCodeRecord

    with opened(settings) as (session, _):
        for c in session.scalars(select(PadCodeRecord).order_by(PadCodeRecord.valid_from)):
            print(
                f"{c.label}\t{c.valid_from.isoformat()} to {c.valid_until.isoformat()}\t"
                f"{c.uses}/{c.max_uses} uses\tdoors: {c.doors or 'all'}"
            )
    return 0


def _log_export(args: argparse.Namespace, settings: Settings) -> int:
    from services.patrons.own_log import write_own_log

    with opened(settings) as (session, key):
        cred = _credential(args.card)
        if args.out is None:
            rows = write_own_log(session, key, _actor(), cred, sys.stdout)
        else:
            with args.out.open("w", encoding="utf-8", newline="") as out:
                rows = write_own_log(session, key, _actor(), cred, out)
    print(f"{rows} events for {key.pseudonym(cred)}", file=sys.stderr)
    return 0
