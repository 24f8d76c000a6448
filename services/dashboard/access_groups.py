"""Admin pages for access groups (issue 13): staff, cleaners, volunteers on their own hours.

A group has one window per weekday (may reach outside the opening hours), its doors, validity
dates, whether members need a PIN and what a member's entry does while the alarm is armed.
Members are added by typing their card or CPR number (hashed at once) with a name, a note and
an expiry; they are listed and removed by pseudonym, never by number. A group is one site's:
the pages are the branch's (``/site/<id>/lists/groups``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from typing import Any
from urllib.parse import quote

from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from services.core.groups import WEEKDAYS, WeeklyWindow, WhenArmed, parse_windows
from services.dashboard.auth import Login
from services.dashboard.list_forms import (
    LISTS_ROLE,
    FormProblem,
    actor,
    apply,
    chosen_doors,
    day,
    field,
    lists_url,
    site_doors,
    typed_credential,
)
from services.dashboard.web import dashboard, guarded, refuse, render, site_of
from services.patrons import list_views
from services.patrons.access_lists import (
    GroupSpec,
    add_member,
    define_group,
    remove_group,
    remove_member_by_pseudonym,
)

MAX_NAME = 80


@dataclass(frozen=True, slots=True)
class DayWindow:
    """One weekday's window as the form shows it ("" for none)."""

    day: str
    start: str
    end: str


def day_windows(windows_text: str) -> list[DayWindow]:
    """A group's stored windows as one row per weekday (the first window of a day)."""
    by_day: dict[int, WeeklyWindow] = {}
    for window in parse_windows(windows_text) if windows_text else ():
        by_day.setdefault(window.weekday, window)
    rows = []
    for index, name in enumerate(WEEKDAYS):
        w = by_day.get(index)
        start = "" if w is None else w.start.strftime("%H:%M")
        end = "" if w is None else ("24:00" if w.end == time.max else w.end.strftime("%H:%M"))
        rows.append(DayWindow(name, start, end))
    return rows


def read_windows(form: FormData) -> tuple[WeeklyWindow, ...]:
    """The weekday rows of the form as windows; a day with neither time is no window."""
    parts = []
    for name in WEEKDAYS:
        start, end = field(form, f"start_{name}"), field(form, f"end_{name}")
        if not start and not end:
            continue
        if not start or not end:
            raise FormProblem("groups.half_window", day=name)
        parts.append(f"{name} {start}-{end}")
    if not parts:
        raise FormProblem("groups.no_window")
    try:
        return parse_windows(", ".join(parts))
    except ValueError:
        raise FormProblem("groups.bad_window") from None


def read_spec(form: FormData, doors: set[str]) -> GroupSpec:
    """A group as the form describes it."""
    name = field(form, "name")
    if not name or len(name) > MAX_NAME:
        raise FormProblem("groups.bad_name", n=MAX_NAME)
    try:
        when_armed = WhenArmed(field(form, "when_armed") or "refuse")
    except ValueError:
        raise FormProblem("groups.bad_window") from None
    return GroupSpec(
        name,
        read_windows(form),
        chosen_doors(form, doors),
        day(form, "valid_from"),
        day(form, "valid_until"),
        pin_required=field(form, "pin_required") == "on",
        when_armed=when_armed,
    )


def group_url(request: Request, name: str) -> str:
    """The page of one group of the request's site."""
    return lists_url(request, f"groups/{quote(name, safe='')}")


@guarded(LISTS_ROLE)
async def page(request: Request, login: Login) -> Response:
    """Every group with its rules, and the form for a new one."""
    ctx = dashboard(request)
    site = site_of(request)
    rows = await ctx.db(lambda s: list_views.groups(s, site))
    context: dict[str, Any] = {
        "rows": rows,
        "group": None,
        "windows": day_windows(""),
        "doors": list((await site_doors(request)).items()),
        "chosen": set(),
    }
    return render(request, "lists_groups.html", context)


@guarded(LISTS_ROLE)
async def group(request: Request, login: Login) -> Response:
    """One group: its rules to edit, its members, and the form to add one."""
    ctx = dashboard(request)
    name = request.path_params["name"]
    site = site_of(request)

    def read(session: Session) -> tuple[Any, Any]:
        found = [g for g in list_views.groups(session, site) if g.name == name]
        return (found[0] if found else None), list_views.members(session, site, name)

    row, members = await ctx.db(read)
    if row is None:
        return refuse(request, 404, "groups.no_group")
    context: dict[str, Any] = {
        "group": row,
        "members": members,
        "windows": day_windows(row.windows),
        "doors": list((await site_doors(request)).items()),
        "chosen": set(d for d in row.doors.split(",") if d),
        "done": request.query_params.get("done"),
    }
    return render(request, "lists_group.html", context)


@guarded(LISTS_ROLE)
async def save(request: Request, login: Login) -> Response:
    """Create a group or replace its rules (its members stay)."""
    site = site_of(request)
    try:
        spec = read_spec(await request.form(), set(await site_doors(request)))
    except FormProblem as exc:
        return refuse(request, 400, exc.key, **exc.values)
    return await apply(
        request,
        lambda s: define_group(s, actor(login), spec, site=site),
        group_url(request, spec.name) + "?done=saved",
    )


@guarded(LISTS_ROLE)
async def remove(request: Request, login: Login) -> Response:
    """Delete a group and its memberships."""
    name, site = request.path_params["name"], site_of(request)
    return await apply(
        request,
        lambda s: remove_group(s, actor(login), name, site=site),
        lists_url(request, "groups"),
    )


@guarded(LISTS_ROLE)
async def add(request: Request, login: Login) -> Response:
    """Put a typed card or CPR number into the group, with a name, a note and an expiry."""
    ctx = dashboard(request)
    name = request.path_params["name"]
    form = await request.form()
    try:
        credential = typed_credential(form)
        expires = day(form, "expires")
    except FormProblem as exc:
        return refuse(request, 400, exc.key, **exc.values)
    member = field(form, "member_name")
    if not member:
        return refuse(request, 400, "groups.member_name")
    note = field(form, "note")[:500]

    def change(session: Session) -> None:
        add_member(
            session,
            ctx.site_key,
            actor(login),
            name,
            credential,
            site=site_of(request),
            name=member[:200],
            note=note,
            expires=expires,
        )

    return await apply(request, change, group_url(request, name) + "?done=member_added")


@guarded(LISTS_ROLE)
async def remove_one(request: Request, login: Login) -> Response:
    """Take a member (by pseudonym) out of the group."""
    name, site = request.path_params["name"], site_of(request)
    pseudonym = field(await request.form(), "pseudonym")
    return await apply(
        request,
        lambda s: remove_member_by_pseudonym(s, actor(login), name, pseudonym, site=site),
        group_url(request, name) + "?done=member_removed",
    )
