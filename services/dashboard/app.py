"""The dashboard's Starlette application: routes, static files and security headers.

Starlette + uvicorn + Jinja2 were chosen as the smallest well-kept stack that does what is
needed and no more: ASGI streaming for Server-Sent Events, plain functions as handlers, server
rendered pages, and nothing that needs a JavaScript build or a CDN.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.dashboard import (
    access_groups,
    alarms,
    bans_page,
    codes_page,
    eventlog,
    overview,
    own_log_page,
    pages,
    rooms,
    signups_page,
    staff,
    statistics,
    tonight,
)
from services.dashboard.web import Dashboard, dashboard, site_prefix

STATIC = Path(__file__).resolve().parent / "static"
EXPIRY_S = 1.0  # how often unanswered commands are looked for
log = logging.getLogger(__name__)

# Only our own scripts and styles run: an injected <script> or inline handler does nothing.
SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        b"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]


class SecurityHeaders:
    """Adds the headers above to every HTTP response (pure ASGI, so SSE streams untouched)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name for name, _ in headers}
                headers += [(n, v) for n, v in SECURITY_HEADERS if n not in names]
                if scope.get("scheme") == "https":
                    headers.append((b"strict-transport-security", b"max-age=31536000"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def favicon(_request: Request) -> Response:
    """The tab icon where browsers look for it first."""
    return FileResponse(STATIC / "favicon.svg", media_type="image/svg+xml")


async def health(_request: Request) -> Response:
    """Liveness for monitoring: answers without a login."""
    return PlainTextResponse("ok")


def site_routes() -> list[Route | Mount]:
    """The pages of one branch, under ``/site/<id>/``: the handlers read the site from the URL
    (``web.site_of``); ``guarded`` checks it is known and the user's to see or operate."""
    return [
        Route("/", pages.live),
        Route("/live/stream", pages.stream),
        Route("/live/snapshot", pages.snapshot),
        Route("/doors/{door}/command", pages.command, methods=["POST"]),
        Route("/commands", pages.commands),
        Route("/alarms", alarms.page),
        Route("/alarms/panel", alarms.panel),
        Route("/alarms/ack", alarms.acknowledge_many, methods=["POST"]),
        Route("/alarms/{alarm_id:int}/ack", alarms.acknowledge, methods=["POST"]),
        Route("/tonight", tonight.page),
        Route("/tonight/order", tonight.order, methods=["POST"]),
        Route("/stats", statistics.page),
        Route("/stats/export.csv", statistics.export),
        Route("/events", eventlog.event_log),
        Route("/events.csv", eventlog.event_log_csv),
        Route("/events/patron", eventlog.patron, methods=["POST"]),
        Route("/year", statistics.year),
        Route("/rooms", rooms.page),
        Route("/rooms/book", rooms.book, methods=["POST"]),
        Route("/rooms/{booking:int}/cancel", rooms.cancel, methods=["POST"]),
        # The branch's access lists (its operators'); the municipality's bans are shown too.
        Route("/lists", access_groups.page),
        Route("/lists/groups", access_groups.page),
        Route("/lists/groups/save", access_groups.save, methods=["POST"]),
        Route("/lists/groups/{name}", access_groups.group),
        Route("/lists/groups/{name}/remove", access_groups.remove, methods=["POST"]),
        Route("/lists/groups/{name}/members/add", access_groups.add, methods=["POST"]),
        Route("/lists/groups/{name}/members/remove", access_groups.remove_one, methods=["POST"]),
        Route("/lists/bans", bans_page.page),
        Route("/lists/bans/add", bans_page.add, methods=["POST"]),
        Route("/lists/bans/lift", bans_page.lift, methods=["POST"]),
        Route("/lists/codes", codes_page.page),
        Route("/lists/codes/issue", codes_page.issue, methods=["POST"]),
        Route("/lists/codes/revoke", codes_page.revoke, methods=["POST"]),
        Route("/lists/signups", signups_page.page),
        Route("/lists/signups/add", signups_page.add, methods=["POST"]),
        Route("/lists/signups/withdraw", signups_page.withdraw, methods=["POST"]),
    ]


async def own_site_lists(request: Request) -> Response:
    """``/lists/…`` (an address from before the lists were each branch's): the same page of
    the server's own site, where its login guard decides."""
    own = dashboard(request).settings.site.id
    rest = request.path_params.get("rest", "groups")
    return RedirectResponse(f"{site_prefix(own)}/lists/{quote(rest)}", status_code=303)


def routes() -> list[Route | Mount]:
    """Every URL of the dashboard: the municipality's pages, then each branch's."""
    return [
        Route("/", overview.page),
        Route("/municipality/stats", overview.statistics),
        Route("/municipality/year", overview.year),
        Route("/login", pages.login_form, methods=["GET"]),
        Route("/login", pages.login, methods=["POST"]),
        Route("/logout", pages.logout, methods=["POST"]),
        Route("/language", pages.language),
        Route("/whoami", pages.whoami),
        Route("/users", staff.page),
        Route("/users/add", staff.add, methods=["POST"]),
        Route("/users/{username}/role", staff.role, methods=["POST"]),
        Route("/users/{username}/sites", staff.site_role, methods=["POST"]),
        Route("/users/{username}/password", staff.reset, methods=["POST"]),
        Route("/users/{username}/remove", staff.remove, methods=["POST"]),
        Route("/users/{username}/unthrottle", staff.unthrottle, methods=["POST"]),
        Route("/account", staff.account),
        Route("/account/password", staff.change_password, methods=["POST"]),
        # A patron's own log is the municipality's (every branch's events); the lists are each
        # branch's, under /site/<id>/lists/: an old address leads to the own site's.
        Route("/lists/log", own_log_page.page),
        Route("/lists/log/export", own_log_page.export, methods=["POST"]),
        Route("/lists", own_site_lists),
        Route("/lists/{rest:path}", own_site_lists),
        Route("/healthz", health),
        Route("/favicon.ico", favicon),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
        Mount("/site/{site}", routes=site_routes()),
    ]


async def _expire_commands(ctx: Dashboard) -> None:
    """Turn commands nobody answered into "not delivered", so none stays pending for ever."""
    while True:
        await asyncio.sleep(EXPIRY_S)
        try:
            await run_in_threadpool(ctx.commander.expire)
        except Exception:  # the database may be away for a while; try again next time
            log.exception("could not expire unanswered commands")


def create_app(ctx: Dashboard) -> Starlette:
    """The ASGI app serving ``ctx``; the server runs it under uvicorn."""

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        task = asyncio.create_task(_expire_commands(ctx))
        try:
            yield
        finally:
            task.cancel()

    app = Starlette(routes=routes(), lifespan=lifespan)
    app.state.dashboard = ctx
    return app


def asgi(ctx: Dashboard) -> ASGIApp:
    """The app wrapped in its security headers: what uvicorn serves."""
    return SecurityHeaders(create_app(ctx))
