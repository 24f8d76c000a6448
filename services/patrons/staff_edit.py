"""How a staff command edits the local lists: argument types, one transaction, the actor.

Shared by ``aabent groups|bans|codes|log`` and ``patrons signup``. A change runs in one
transaction with its audit row; a refused one prints why and changes nothing. ``--site`` says
whose lists (a municipality's server holds every branch's); without it, the server's own.
"""

from __future__ import annotations

import argparse
import getpass
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from services.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from services.core.credentials import Credential, SiteKey


def iso_date(text: str) -> date:
    """An argparse type: ``YYYY-MM-DD``."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date as YYYY-MM-DD") from None


def instant(text: str) -> datetime:
    """``YYYY-MM-DD`` (local midnight) or ``YYYY-MM-DDTHH:MM`` (local), as an aware instant."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a time as YYYY-MM-DD or YYYY-MM-DDTHH:MM"
        ) from None
    return moment if moment.tzinfo else moment.astimezone()


def doors(text: str) -> frozenset[str]:
    """An argparse type: comma-separated door ids."""
    return frozenset(d.strip() for d in text.split(",") if d.strip())


def credential(text: str) -> Credential:
    """A card or CPR number as the reader gives it."""
    from services.core.credentials import Credential

    return Credential.from_text(text)


def actor() -> str:
    """Who runs the command, for the audit."""
    return getpass.getuser()


_SITE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,40}$")  # as [site] id


def site_id(text: str) -> str:
    """An argparse type: a site's id, as ``[site] id`` and the topics spell it."""
    if not _SITE.match(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a site id (e.g. 'vallensbaek')")
    return text


def site_arg(p: Any) -> None:
    """``--site``: whose lists (default: the server's own site, ``[site] id``)."""
    p.add_argument(
        "--site",
        type=site_id,
        default=None,
        help="the branch whose lists these are (default: this server's own site)",
    )


def site_of(args: argparse.Namespace, settings: Settings) -> str:
    """The site a command is about: its ``--site``, else the settings' own."""
    site = getattr(args, "site", None)
    return site if isinstance(site, str) else settings.site.id


def card_arg(p: Any) -> None:
    """The positional CARD argument."""
    p.add_argument("card", metavar="CARD", help="card or CPR number, as the reader gives it")


@contextmanager
def opened(settings: Settings) -> Iterator[tuple[Session, SiteKey]]:
    """One transaction on the settings' database, with the site key."""
    from services.store.engine import make_sessionmaker
    from services.store.schema import open_database

    engine = open_database(settings.database_url, settings.site.id)
    try:
        key = settings.site.site_key()
        with make_sessionmaker(engine)() as session, session.begin():
            yield session, key
    finally:
        engine.dispose()


def fail(message: str) -> int:
    """Say why on stderr; exit status 1."""
    print(f"aabent: {message}", file=sys.stderr)
    return 1


def edit(settings: Settings, change: Callable[[Session, SiteKey], str]) -> int:
    """Make ``change`` in one transaction; print its summary, or the reason it was refused."""
    from services.patrons.access_lists import ListError

    try:
        with opened(settings) as (session, key):
            summary = change(session, key)
    except (ListError, ValueError) as exc:
        return fail(f"{exc}; nothing changed")
    print(summary)
    return 0
