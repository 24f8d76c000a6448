"""The dashboard's pages: login and logout, the live view and its stream, door commands."""

from __future__ import annotations

import asyncio
import math
import secrets
from datetime import timedelta

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse

from services.bus.topics import SITE_SOURCE
from services.dashboard.auth import Login, same_token
from services.dashboard.commands import UNDELIVERED, CommandError, StaffAction, recent_commands
from services.dashboard.feed import recent_feed
from services.dashboard.i18n import LANG_COOKIE
from services.dashboard.sites import doors_of
from services.dashboard.users import check_login
from services.dashboard.web import (
    LOGIN_COOKIE,
    SESSION_COOKIE,
    dashboard,
    guarded,
    refuse,
    render,
    secure,
    site_of,
    site_prefix,
    wants_json,
    words,
)
from services.recorder.stats import tailgating_on
from services.store.dashboard import CommandAudit, Role

# The catalogue sections the live page's script writes with.
SCRIPT_SECTIONS = (
    "js.",
    "event.",
    "reason.",
    "lock.",
    "contact.",
    "mode.",
    "door_alarm.",
    "result.",
    "action.",
    "opening.",
    "time.",
    "severity.",
)


async def login_form(request: Request, error: str = "", status_code: int = 200) -> Response:
    """The login page, with a fresh double-submit token for its form."""
    token = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(32)
    response = render(
        request, "login.html", {"login_csrf": token, "error": error}, status_code=status_code
    )
    response.set_cookie(
        LOGIN_COOKIE, token, max_age=3600, httponly=True, samesite="strict", secure=secure(request)
    )
    return response


async def login(request: Request) -> Response:
    """Check the form; throttled per user name and per address; sets the session cookie."""
    ctx = dashboard(request)
    form = await request.form()
    username = str(form.get("username", "")).strip().lower()
    password = str(form.get("password", ""))
    if not same_token(str(form.get("csrf", "")), request.cookies.get(LOGIN_COOKIE, "")):
        return await login_form(request, words(request)("login.expired_form"), 400)
    address = request.client.host if request.client else "unknown"

    def attempt(session: Session) -> tuple[str | None, timedelta | None]:
        now = ctx.clock()
        wait = ctx.throttle.retry_after(session, username, address, now)
        if wait is not None:
            return None, wait
        user = check_login(session, username, password)
        if user is None:
            ctx.throttle.failed(session, username, address, now)
            return None, None
        ctx.throttle.succeeded(session, username, address)
        return ctx.logins.open(session, user, now), None

    token, wait = await ctx.db(attempt)
    if token is None:
        if wait is not None:
            minutes = max(1, math.ceil(wait.total_seconds() / 60))
            message = words(request)("login.throttled", minutes=minutes)
            return await login_form(request, message, 429)
        return await login_form(request, words(request)("login.wrong"), 401)
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(ctx.logins.lifetime.total_seconds()),
        httponly=True,
        samesite="strict",
        secure=secure(request),
    )
    response.delete_cookie(LOGIN_COOKIE)
    return response


async def language(request: Request) -> Response:
    """Switch the pages' language (a cookie, no login needed) and go back where one was."""
    ctx = dashboard(request)
    lang = ctx.catalogue.choose(request.query_params.get("lang"), ctx.settings.dashboard.language)
    back = request.query_params.get("next", "/")
    if not back.startswith("/") or back.startswith("//") or "\\" in back:
        back = "/"  # only our own pages: no open redirect
    response = RedirectResponse(back, status_code=303)
    response.set_cookie(
        LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax", secure=secure(request)
    )
    return response


@guarded(Role.VIEWER)
async def whoami(request: Request, login: Login) -> Response:
    """Who is logged in: the live page asks when its stream ends, to tell logged out from gone."""
    return JSONResponse({"username": login.user.username, "role": login.user.role})


@guarded(Role.VIEWER)
async def logout(request: Request, login: Login) -> Response:
    """End the session here and in the database."""
    ctx = dashboard(request)
    token = request.cookies.get(SESSION_COOKIE)
    await ctx.db(lambda s: ctx.logins.close(s, token))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


async def _door_list(request: Request) -> list[tuple[str, str]]:
    """The site's doors and their names: the settings' for the own site, else the stored ones."""
    ctx, site = dashboard(request), site_of(request)
    if site == ctx.settings.site.id:
        return [(d, cfg.name or d) for d, cfg in ctx.settings.doors.items()]
    stored = await ctx.db(lambda s: doors_of(s, site))
    return [(d, d) for d in stored]


async def _preload(request: Request) -> None:
    """A branch's feed and today's tailgating from the stored events, the first time it is
    watched since the server started (the server's own site is preloaded at start)."""
    ctx, site = dashboard(request), site_of(request)
    day = ctx.clock().date()
    if not ctx.hub.has_feed(site):
        limit = ctx.settings.dashboard.feed_size
        ctx.hub.preload(await ctx.db(lambda s: recent_feed(s, site, limit)), site)
    if not ctx.hub.tailgating_seeded(site, day):
        tz = ctx.schedule.timezone
        stored = await ctx.db(lambda s: tailgating_on(s, site, day, tz))
        ctx.hub.seed_tailgating(site, day, stored)


@guarded(Role.VIEWER)
async def live(request: Request, login: Login) -> Response:
    """The live view: doors, occupancy, opening state, alarms and the event feed."""
    ctx = dashboard(request)
    doors = await _door_list(request)
    t = words(request)
    lang = t.lang
    script_words = {
        "lang": lang,
        "doors": {SITE_SOURCE: t("live.building"), **dict(doors)},
        "t": ctx.catalogue.section(lang, *SCRIPT_SECTIONS),
    }
    # The floor plan is the server's own branch's (config/floorplan.toml).
    plan = ctx.plan if site_of(request) == ctx.settings.site.id else None
    context = {"doors": doors, "js_words": script_words, "plan": plan}
    return render(request, "live.html", context)


@guarded(Role.VIEWER)
async def stream(request: Request, login: Login) -> Response:
    """Server-Sent Events for the live view; ends the moment the session does."""
    ctx = dashboard(request)
    token = request.cookies.get(SESSION_COOKIE) or ""
    remaining = (login.record.expires - ctx.clock()).total_seconds()
    await _preload(request)

    async def still_valid() -> bool:
        return await ctx.db(lambda s: ctx.logins.holds(s, token, login, ctx.clock()))

    return StreamingResponse(
        ctx.hub.stream(max(remaining, 1.0), still_valid, site_of(request)),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@guarded(Role.VIEWER)
async def snapshot(request: Request, login: Login) -> Response:
    """The live state as JSON (for scripts and for the page's first paint)."""
    await _preload(request)
    return JSONResponse(dashboard(request).hub.snapshot(site_of(request)))


def _seconds(text: str) -> int | None:
    try:
        return int(text) if text.strip() else None
    except ValueError:
        return None


@guarded(Role.OPERATOR)
async def command(request: Request, login: Login) -> Response:
    """Send one command to a door; the outcome follows on the live stream."""
    ctx = dashboard(request)
    form = await request.form()
    door = request.path_params["door"]
    try:
        action = StaffAction(str(form.get("action", "")))
    except ValueError:
        return refuse(request, 400, "commands.unknown_action")
    reason = str(form.get("reason", ""))
    seconds = _seconds(str(form.get("seconds", "")))
    username, site = login.user.username, site_of(request)
    try:
        audit = await asyncio.to_thread(
            ctx.commander.send, username, site, door, action, reason, seconds
        )
    except CommandError as exc:
        return refuse(request, 400, exc.key, **exc.values)
    if audit.result == UNDELIVERED:
        why = words(request).code("result", audit.result_reason)
        return refuse(request, 503, "js.not_delivered", reason=why)
    if wants_json(request):
        return JSONResponse({"command_id": audit.command_id, "result": audit.result})
    return RedirectResponse(f"{site_prefix(site)}/commands", status_code=303)


@guarded(Role.VIEWER)
async def commands(request: Request, login: Login) -> Response:
    """The command audit: who sent what, when, why, and what the door answered."""
    ctx = dashboard(request)
    timeout, site, own = ctx.commander.answer_timeout_s, site_of(request), ctx.settings.site.id

    def read(session: Session) -> list[CommandAudit]:
        found = recent_commands(
            session, 200, now=ctx.clock(), timeout_s=timeout, site=site, own_site=own
        )
        return list(found)

    rows = await ctx.db(read)
    return render(request, "commands.html", {"rows": rows})
