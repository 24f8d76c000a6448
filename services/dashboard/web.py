"""What every dashboard request shares: the context object, the login guard and CSRF checking."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates

from services.bus.topics import SITE_SOURCE
from services.core.credentials import SiteKey
from services.core.schedule import Schedule
from services.dashboard.auth import Login, LoginThrottle, SessionStore, same_token
from services.dashboard.commands import Commander
from services.dashboard.floorplan import Plan
from services.dashboard.i18n import LANG_COOKIE, Catalogue, Words
from services.dashboard.live import LiveHub
from services.dashboard.sites import SiteInfo, known_sites
from services.settings import Settings
from services.store.dashboard import Role
from services.store.recorder import AUTO_ACK

SESSION_COOKIE = "aabent_session"
LOGIN_COOKIE = "aabent_login"  # double-submit token of the login form (no session yet)
CSRF_HEADER = "x-csrf-token"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
TEMPLATES = Path(__file__).resolve().parent / "templates"
T = TypeVar("T")


@dataclass
class Dashboard:
    """Everything the handlers need, built once by the server and kept on ``app.state``."""

    settings: Settings
    sessions: sessionmaker[Session]
    logins: SessionStore
    throttle: LoginThrottle
    hub: LiveHub
    commander: Commander
    schedule: Schedule
    clock: Callable[[], datetime]
    templates: Jinja2Templates
    catalogue: Catalogue
    site_key: SiteKey  # turns a typed card number into the pseudonym events carry
    plan: Plan | None = None  # the doors on the floor plan, if the plan places any

    @property
    def own(self) -> SiteInfo:
        """The site this server's settings name (a one-branch installation's only one)."""
        return SiteInfo(self.settings.site.id, self.settings.site.name)

    def sites(self, session: Session) -> list[SiteInfo]:
        """Every branch the store knows, the own one first (``sites.known_sites``)."""
        configured = {s: b.name for s, b in self.settings.branches.items() if b.name}
        return known_sites(session, self.own, configured)

    def door_names(self, site: str) -> dict[str, str]:
        """The doors' names at ``site``: the settings' for the own site, else their ids."""
        if site != self.settings.site.id:
            return {}
        return {d: cfg.name or d for d, cfg in self.settings.doors.items()}

    def db(self, work: Callable[[Session], T]) -> Awaitable[T]:
        """Run ``work(session)`` in one transaction on a worker thread (SQLAlchemy is sync)."""

        def run() -> T:
            with self.sessions() as session, session.begin():
                return work(session)

        return run_in_threadpool(run)


def dashboard(request: Request) -> Dashboard:
    """The dashboard context of the running app."""
    ctx: Dashboard = request.app.state.dashboard
    return ctx


def secure(request: Request) -> bool:
    """Cookies get ``Secure`` when the browser reached us over TLS (directly or via the proxy)."""
    return request.url.scheme == "https"


def wants_json(request: Request) -> bool:
    """True for the page's own fetch() calls, which want JSON instead of a redirect."""
    return "application/json" in request.headers.get("accept", "")


def words(request: Request) -> Words:
    """The language of this request (its cookie, else the site's) and today's date."""
    ctx = dashboard(request)
    lang = ctx.catalogue.choose(request.cookies.get(LANG_COOKIE), ctx.settings.dashboard.language)
    return Words(ctx.catalogue, lang, ctx.clock().date())


def site_of(request: Request) -> str:
    """The site the request is about: the one in its URL (``/site/<id>/…``).

    Only handlers mounted under a site call this; ``guarded`` has checked that the site is
    known and that the user may see it."""
    info: SiteInfo = request.state.site
    return info.id


def site_prefix(site: str) -> str:
    """The root of one site's pages."""
    return f"/site/{site}"


def render(
    request: Request, name: str, context: dict[str, Any], status_code: int = 200
) -> Response:
    """Render a template with the login, its CSRF token and the words of the request's language."""
    ctx = dashboard(request)
    login: Login | None = getattr(request.state, "login", None)
    t = words(request)
    site: SiteInfo | None = getattr(request.state, "site", None)
    names = {SITE_SOURCE: t("live.building")}
    names.update(ctx.door_names(site.id if site else ctx.settings.site.id))
    role = None
    if login is not None:
        role = login.access.at(site.id) if site else Role(login.user.role)
    base = {
        "login": login,
        "role": role,
        "admin": login is not None and Role(login.user.role) is Role.ADMIN,
        "csrf": login.record.csrf if login else "",
        "site": site,
        "here": site_prefix(site.id) if site else "",
        "path": request.url.path,
        "t": t,
        "lang": t.lang,
        "door_names": names,
        "auto_ack": AUTO_ACK,
        "sentence": lambda e: t.sentence(names.get(e.source, e.source), e.type, e.reason),
    }
    return ctx.templates.TemplateResponse(request, name, {**base, **context}, status_code)


def refuse(request: Request, status_code: int, key: str, **values: object) -> Response:
    """An error (catalogue ``key``) as JSON for fetch() or as a page for a browser."""
    message = words(request)(key, **values)
    if wants_json(request):
        return JSONResponse({"error": message}, status_code=status_code)
    return render(request, "error.html", {"message": message}, status_code=status_code)


Handler = Callable[[Request, Login], Awaitable[Response]]


def guarded(role: Role) -> Callable[[Handler], Callable[[Request], Awaitable[Response]]]:
    """Require a valid session with at least ``role``; changes also need the CSRF token."""

    def decorate(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        @functools.wraps(handler)
        async def endpoint(request: Request) -> Response:
            ctx = dashboard(request)
            token = request.cookies.get(SESSION_COOKIE)
            login = await ctx.db(lambda s: ctx.logins.find(s, token, ctx.clock()))
            if login is None:
                if wants_json(request) or request.method in UNSAFE:
                    message = words(request)("error.not_logged_in")
                    return JSONResponse({"error": message}, status_code=401)
                return RedirectResponse("/login", status_code=303)
            request.state.login = login
            site = request.path_params.get("site")
            if site is not None:
                # The site of the URL: known to the store, and this user's to see (and to
                # operate, for a command). Checked here, on the server, for every request.
                info = await ctx.db(lambda s: _find_site(ctx.sites(s), site))
                if info is None or login.access.at(site) is None:
                    return refuse(request, 404, "error.no_site", site=site)
                request.state.site = info
                allowed = login.access.may(site, role)
            else:
                allowed = Role(login.user.role).allows(role)
            if not allowed:
                return refuse(request, 403, "error.needs_role", role=words(request)(f"role.{role}"))
            if request.method in UNSAFE and not await _csrf_ok(request, login):
                return refuse(request, 403, "error.stale_form")
            return await handler(request, login)

        return endpoint

    return decorate


def _find_site(sites: list[SiteInfo], site: str) -> SiteInfo | None:
    return next((s for s in sites if s.id == site), None)


async def _csrf_ok(request: Request, login: Login) -> bool:
    given = request.headers.get(CSRF_HEADER)
    if given is None:
        form = await request.form()
        value = form.get("csrf")
        given = value if isinstance(value, str) else None
    return same_token(given, login.record.csrf)
