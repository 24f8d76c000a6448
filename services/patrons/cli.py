"""``aabent patrons …``: the local registry from the command line (import, add, block, PINs).

Every command opens the database from the settings, brings its schema up to date and reads the
site key, so the same commands work on a device's SQLite and on a server's PostgreSQL. Card and
CPR numbers and PINs are never printed; a PIN is asked for without echo on a terminal.
"""

from __future__ import annotations

import argparse
import getpass
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from services.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from services.core.credentials import SiteKey
    from services.patrons.registry import LocalRegistry

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class _Refused(Exception):
    """The operator's input cannot be used; the message says why."""


def _iso_date(text: str) -> date:
    try:
        if _ISO_DATE.match(text):
            return date.fromisoformat(text)
    except ValueError:
        pass
    raise argparse.ArgumentTypeError(f"{text!r} is not a date as YYYY-MM-DD")


def add_commands(sub: Any) -> None:
    """Register ``patrons import|add|block|unblock|set-pin|lift-pin-block|count|signup|…``."""
    patrons = sub.add_parser("patrons", help="the local patron registry")
    actions = patrons.add_subparsers(dest="patrons_action", required=True, metavar="ACTION")

    p = actions.add_parser("import", help="add or update patrons from a CSV file (all or nothing)")
    p.add_argument("csv_file", type=Path, metavar="FILE.csv")
    p.set_defaults(handler=_import)

    p = actions.add_parser("add", help="register one patron")
    p.add_argument("--card", help="library card number")
    p.add_argument("--cpr", help="CPR number (yellow health card); only its hash is kept")
    p.add_argument("--name", required=True)
    p.add_argument("--birth-date", type=_iso_date, help="YYYY-MM-DD (taken from --cpr if given)")
    p.add_argument("--expires", type=_iso_date, help="YYYY-MM-DD")
    p.add_argument("--guardian-consent", action="store_true", help="under-age patron may enter")
    p.add_argument("--pin", help="4-8 digits; omit to be asked without echo")
    p.set_defaults(handler=_add)

    for name, help_text, handler in (
        ("block", "refuse the patron holding CARD at the door", _block),
        ("unblock", "make the patron holding CARD active again (lifts a PIN block)", _unblock),
        ("set-pin", "give the patron holding CARD a new PIN (lifts a PIN block)", _set_pin),
        (
            "lift-pin-block",
            "lift the PIN block of CARD and forget its wrong PINs (library-system cards too)",
            _lift_pin_block,
        ),
    ):
        p = actions.add_parser(name, help=help_text)
        p.add_argument("card", metavar="CARD", help="card or CPR number, as the reader gives it")
        p.set_defaults(handler=handler)

    p = actions.add_parser("count", help="how many patrons the registry holds")
    p.set_defaults(handler=_count)

    from services.patrons.staff_edit import site_arg

    for name, help_text, handler in (
        ("signup", "record that CARD's holder accepted the self-service rules", _signup),
        ("withdraw-signup", "forget CARD's sign-up for self-service", _withdraw_signup),
    ):
        p = actions.add_parser(name, help=help_text)
        p.add_argument("card", metavar="CARD", help="card or CPR number, as the reader gives it")
        site_arg(p)
        p.set_defaults(handler=handler)


@contextmanager
def _opened(settings: Settings) -> Iterator[tuple[LocalRegistry, sessionmaker[Session], SiteKey]]:
    # Imported here so that `aabent --help` and the door's commands do not load SQLAlchemy.
    from services.patrons.registry import LocalRegistry
    from services.store.engine import make_sessionmaker
    from services.store.schema import open_database

    engine = open_database(settings.database_url, settings.site.id)
    try:
        key = settings.site.site_key()
        sessions = make_sessionmaker(engine)
        yield LocalRegistry(sessions, key), sessions, key
    finally:
        engine.dispose()


def _fail(message: str) -> int:
    print(f"aabent: {message}", file=sys.stderr)
    return 1


def _import(args: argparse.Namespace, settings: Settings) -> int:
    from services.patrons.importer import PatronImportError, import_patrons

    with _opened(settings) as (_, sessions, key):
        try:
            with sessions() as session, session.begin():
                summary = import_patrons(session, key, args.csv_file)
        except PatronImportError as exc:
            return _fail(f"{exc}\nnothing imported")
    print(
        f"{args.csv_file}: {summary.rows} rows, "
        f"{summary.added} patrons added, {summary.updated} updated"
    )
    return 0


def _ask_pin(prompt: str) -> str:
    """Read a PIN twice without echo; the two must agree."""
    pin = getpass.getpass(prompt)
    if pin and getpass.getpass("PIN again: ") != pin:
        raise _Refused("the two PINs differ; nothing changed")
    return pin


def _add(args: argparse.Namespace, settings: Settings) -> int:
    from services.core.cpr import CprError, normalise_cpr
    from services.core.credentials import Credential, CredentialKind
    from services.patrons.registry import RegistryError

    credentials = []
    if args.card:
        credentials.append(Credential(CredentialKind.CARD, args.card.strip()))
    try:
        if args.cpr:
            credentials.append(Credential(CredentialKind.CPR, normalise_cpr(args.cpr)))
        pin = args.pin
        if pin is None and sys.stdin.isatty():
            pin = _ask_pin("PIN (empty for none): ") or None
        with _opened(settings) as (registry, _, _):
            patron = registry.add_patron(
                args.name,
                credentials,
                birth_date=args.birth_date,
                expires=args.expires,
                guardian_consent=args.guardian_consent,
                pin=pin,
            )
    except CprError as exc:
        return _fail(f"--cpr: {exc}")
    except (RegistryError, _Refused) as exc:
        return _fail(str(exc))
    print(f"added patron {patron.patron_id} ({patron.name})")
    return 0


def _set_status(args: argparse.Namespace, settings: Settings, blocked: bool) -> int:
    from services.core.credentials import Credential
    from services.core.patrons import PatronStatus
    from services.patrons.registry import RegistryError

    status = PatronStatus.BLOCKED if blocked else PatronStatus.ACTIVE
    try:
        with _opened(settings) as (registry, _, _):
            patron = registry.set_status(Credential.from_text(args.card), status)
    except RegistryError as exc:
        return _fail(str(exc))
    print(f"patron {patron.patron_id} ({patron.name}) is now {patron.status}")
    return 0


def _block(args: argparse.Namespace, settings: Settings) -> int:
    return _set_status(args, settings, blocked=True)


def _unblock(args: argparse.Namespace, settings: Settings) -> int:
    return _set_status(args, settings, blocked=False)


def _set_pin(args: argparse.Namespace, settings: Settings) -> int:
    from services.core.credentials import Credential
    from services.patrons.registry import RegistryError, credential_noun

    credential = Credential.from_text(args.card)
    try:
        with _opened(settings) as (registry, _, _):
            if registry.find(credential) is None:  # say so before asking for a PIN
                raise _Refused(f"no patron holds this {credential_noun(credential)}")
            # On a terminal: asked twice without echo. From a script: the first line of stdin.
            pin = _ask_pin("New PIN: ") if sys.stdin.isatty() else sys.stdin.readline().strip()
            if not pin:
                raise _Refused("no PIN given; nothing changed")
            patron = registry.set_pin(credential, pin)
    except (RegistryError, _Refused) as exc:
        return _fail(str(exc))
    print(f"new PIN set for patron {patron.patron_id} ({patron.name}), now {patron.status}")
    return 0


def _lift_pin_block(args: argparse.Namespace, settings: Settings) -> int:
    from services.core.credentials import Credential
    from services.patrons.registry import credential_noun

    credential = Credential.from_text(args.card)
    with _opened(settings) as (registry, _, _):
        lifted = registry.lift_pin_block(credential)
    noun = credential_noun(credential)
    if not lifted.blocked:
        print(
            f"this {noun} was not PIN-blocked; nothing changed"
            if not lifted.failures
            else f"this {noun} was not PIN-blocked; its {lifted.failures} wrong PINs are forgotten"
        )
        return 0
    print(f"PIN block lifted for this {noun}; its {lifted.failures} wrong PINs are forgotten")
    return 0


def _count(args: argparse.Namespace, settings: Settings) -> int:
    with _opened(settings) as (registry, _, _):
        print(registry.count())
    return 0


def _signup(args: argparse.Namespace, settings: Settings) -> int:
    from services.patrons.access_lists import sign_up
    from services.patrons.staff_edit import actor, credential, opened, site_of

    with opened(settings) as (session, key):
        site = site_of(args, settings)
        new = sign_up(session, key, actor(), credential(args.card), site=site, via="desk")
    print("signed up for self-service" if new else "already signed up; nothing changed")
    return 0


def _withdraw_signup(args: argparse.Namespace, settings: Settings) -> int:
    from services.patrons.access_lists import ListError, withdraw_signup
    from services.patrons.staff_edit import actor, credential, opened, site_of

    try:
        with opened(settings) as (session, key):
            site = site_of(args, settings)
            withdraw_signup(session, key, actor(), credential(args.card), site=site)
    except ListError as exc:
        return _fail(str(exc))
    print("sign-up withdrawn")
    return 0
