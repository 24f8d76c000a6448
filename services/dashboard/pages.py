"""The dashboard's pages: login and logout, the live view and its stream, door commands."""

from __future__ import annotations

import asyncio
import math
import secrets
from datetime import timedelta

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse

from services.dashboard.auth import Login, same_token
from services.dashboard.commands import CommandError, StaffAction, recent_commands
from services.dashboard.users import check_login, list_users
from services.dashboard.web import (
    LOGIN_COOKIE,
    SESSION_COOKIE,
    dashboard,
    guarded,
    refuse,
    render,
    secure,
    wants_json,
)
from services.store.dashboard import Role


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
        return await login_form(request, "The form expired; please try again.", 400)
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
            message = f"Too many failed logins. Try again in {minutes} minutes."
            return await login_form(request, message, 429)
        return await login_form(request, "Wrong user name or password.", 401)
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


@guarded(Role.VIEWER)
async def logout(request: Request, login: Login) -> Response:
    """End the session here and in the database."""
    ctx = dashboard(request)
    token = request.cookies.get(SESSION_COOKIE)
    await ctx.db(lambda s: ctx.logins.close(s, token))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@guarded(Role.VIEWER)
async def live(request: Request, login: Login) -> Response:
    """The live view: doors, occupancy, opening state, alarms and the event feed."""
    ctx = dashboard(request)
    doors = [(d, cfg.name or d) for d, cfg in ctx.settings.doors.items()]
    return render(request, "live.html", {"doors": doors})


@guarded(Role.VIEWER)
async def stream(request: Request, login: Login) -> Response:
    """Server-Sent Events for the live view; ends with the session, and the browser logs in."""
    ctx = dashboard(request)
    remaining = (login.record.expires - ctx.clock()).total_seconds()
    return StreamingResponse(
        ctx.hub.stream(max(remaining, 1.0)),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@guarded(Role.VIEWER)
async def snapshot(request: Request, login: Login) -> Response:
    """The live state as JSON (for scripts and for the page's first paint)."""
    return JSONResponse(dashboard(request).hub.snapshot())


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
        return refuse(request, 400, "unknown action")
    reason = str(form.get("reason", ""))
    seconds = _seconds(str(form.get("seconds", "")))
    username = login.user.username
    try:
        audit = await asyncio.to_thread(ctx.commander.send, username, door, action, reason, seconds)
    except CommandError as exc:
        return refuse(request, 400, str(exc))
    if wants_json(request):
        return JSONResponse({"command_id": audit.command_id, "result": audit.result})
    return RedirectResponse("/commands", status_code=303)


@guarded(Role.VIEWER)
async def commands(request: Request, login: Login) -> Response:
    """The command audit: who sent what, when, why, and what the door answered."""
    ctx = dashboard(request)
    rows = await ctx.db(lambda s: list(recent_commands(s, 200)))
    return render(request, "commands.html", {"rows": rows})


@guarded(Role.ADMIN)
async def users(request: Request, login: Login) -> Response:
    """The staff list (changed with ``aabent users``)."""
    ctx = dashboard(request)
    rows = await ctx.db(lambda s: list(list_users(s)))
    return render(request, "users.html", {"rows": rows})
