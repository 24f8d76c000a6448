"""What the access-list pages share: reading their forms and making one audited change.

A card or CPR number typed into a form becomes a :class:`Credential` here and is hashed by the
list functions at once (services/patrons/access_lists.py); it is never put into a URL, a log
line, the database or the page sent back. Every change runs in one transaction with its audit
row and a new lists version, which the server's list publisher sends to the door controllers.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from services.core.credentials import Credential
from services.dashboard.auth import Login
from services.dashboard.web import dashboard, refuse, wants_json
from services.patrons.access_lists import ListError

MAX_NUMBER = 64


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
