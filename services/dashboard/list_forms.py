"""What the access-list pages share: reading their forms and making one audited change.

A card or CPR number typed into a form becomes a :class:`Credential` here and is hashed by the
list functions at once (services/patrons/access_lists.py); it is never put into a URL, a log
line, the database or the page sent back. Every change runs in one transaction with its audit
row and a new lists version, which the server's list publisher sends to the door controllers.

The pages are a branch's, under ``/site/<id>/lists/…``: each shows and changes that site's
lists only (and the municipality's bans, marked), and ``guarded`` checks the user's role at
that site, as for a command: an operator of one branch cannot see or edit another's lists.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from services.core.credentials import Credential
from services.dashboard.auth import Login
from services.dashboard.sites import doors_of
from services.dashboard.web import dashboard, refuse, site_of, site_prefix, wants_json
from services.patrons.access_lists import ListError
from services.store.dashboard import Role

MAX_NUMBER = 64
# Who may see and change a branch's lists: its operators, as for its doors' commands.
LISTS_ROLE = Role.OPERATOR


@dataclass(frozen=True, slots=True)
class DoorChoice:
    """A door offered in a list form: its id and the name staff know it by."""

    name: str


def lists_url(request: Request, rest: str) -> str:
    """A page of the request's site's lists: ``/site/<id>/lists/<rest>``."""
    return f"{site_prefix(site_of(request))}/lists/{rest}"


async def site_doors(request: Request) -> dict[str, DoorChoice]:
    """The doors of the request's site a list entry may be limited to: the settings' for the
    server's own site, else those the store holds a state of."""
    ctx = dashboard(request)
    site = site_of(request)
    if site == ctx.settings.site.id:
        return {d: DoorChoice(cfg.name or d) for d, cfg in ctx.settings.doors.items()}
    found = await ctx.db(lambda s: doors_of(s, site))
    return {d: DoorChoice(d) for d in found}


class FormProblem(ValueError):
    """A form field that cannot be read: ``key`` is the catalogue's words for it."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


def field(form: FormData, name: str) -> str:
    """A text field, stripped ("" when missing)."""
    value = form.get(name, "")
    return value.strip() if isinstance(value, str) else ""


def typed_credential(form: FormData, name: str = "number") -> Credential:
    """The card or CPR number typed into ``name``."""
    number = field(form, name)
    if not number or not number.replace("-", "").isalnum() or len(number) > MAX_NUMBER:
        raise FormProblem("lists.bad_number")
    return Credential.from_text(number)


def chosen_doors(form: FormData, known: set[str]) -> frozenset[str]:
    """The doors ticked (none ticked: every door)."""
    doors = frozenset(v for v in form.getlist("doors") if isinstance(v, str))
    unknown = doors - known
    if unknown:
        raise FormProblem("lists.bad_door", door=", ".join(sorted(unknown)))
    return doors


def day(form: FormData, name: str) -> date | None:
    """A date field (``YYYY-MM-DD``), None when empty."""
    text = field(form, name)
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise FormProblem("lists.bad_date", value=text[:20]) from None


def moment(form: FormData, name: str, tz: ZoneInfo) -> datetime | None:
    """A ``datetime-local`` field read in the site's time zone, None when empty."""
    text = field(form, name)
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise FormProblem("lists.bad_date", value=text[:20]) from None
    return value if value.tzinfo else value.replace(tzinfo=tz)


def refuse_list_error(request: Request, exc: ListError) -> Response:
    """A refused list edit in the reader's words (its English message where it has no key)."""
    if exc.key:
        return refuse(request, 400, f"list_error.{exc.key}", **exc.values)
    return refuse(request, 400, "lists.refused", why=str(exc))


def actor(login: Login) -> str:
    """Who made a change, as the lists' audit names staff of the dashboard."""
    return f"dashboard:{login.user.username}"


async def apply(request: Request, change: Callable[[Session], object], done: str) -> Response:
    """Make ``change`` in one transaction; back to ``done``, or the reason nothing changed."""
    ctx = dashboard(request)
    try:
        await ctx.db(change)
    except FormProblem as exc:
        return refuse(request, 400, exc.key, **exc.values)
    except ListError as exc:
        return refuse_list_error(request, exc)
    except ValueError as exc:
        return refuse(request, 400, "lists.refused", why=str(exc))
    if wants_json(request):
        return JSONResponse({"done": done})
    return RedirectResponse(done, status_code=303)
