"""Staff management in the browser: admins add, change the role of (also per branch), reset and
remove users; everyone changes their own password. ``aabent users`` does the same on the server.

Every change that takes rights away (role, password, removal) ends the user's sessions, and
with them their open live streams (services/dashboard/users.py). An admin cannot remove or
demote themselves here, so a site never locks out its last admin by a slip of the mouse.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from services.dashboard.auth import Login, LoginThrottle
from services.dashboard.passwords import MIN_LENGTH, password_problem, verify_password
from services.dashboard.sites import SITE_ROLES
from services.dashboard.users import (
    UserError,
    add_user,
    find_user,
    list_users,
    remove_user,
    set_password,
    set_role,
    set_site_role,
    site_roles,
    username_problem,
)
from services.dashboard.web import dashboard, guarded, refuse, render, wants_json
from services.store.dashboard import Role

Change = Callable[[Session], object]


@guarded(Role.ADMIN)
async def page(request: Request, login: Login) -> Response:
    """The staff list with the forms that change it."""
    ctx = dashboard(request)

    def read(session: Session) -> dict[str, object]:
        return {
            "rows": list(list_users(session)),
            "per_site": site_roles(session),
            "sites": ctx.sites(session),
        }

    return render(
        request,
        "users.html",
        {
            **await ctx.db(read),
            "roles": list(Role),
            "site_roles": SITE_ROLES,
            "done": request.query_params.get("done"),
        },
    )


def _field(form: FormData, name: str) -> str:
    value = form.get(name, "")
    return value if isinstance(value, str) else ""


def _new_password(form: FormData) -> tuple[str, str | None]:
    """The new password typed twice, and the catalogue key of what is wrong with it."""
    password = _field(form, "password")
    if password != _field(form, "password_again"):
        return password, "users.passwords_differ"
    if password_problem(password):
        return password, "users.weak_password"
    return password, None


async def _apply(request: Request, change: Change, done: str) -> Response:
    ctx = dashboard(request)
    try:
        await ctx.db(change)
    except UserError:
        return refuse(request, 400, "users.not_possible")
    if wants_json(request):
        return JSONResponse({"done": done})
    return RedirectResponse(f"/users?done={done}", status_code=303)


@guarded(Role.ADMIN)
async def add(request: Request, login: Login) -> Response:
    """Add a staff member with a role and a first password."""
    form = await request.form()
    name = _field(form, "username").strip().lower()
    password, problem = _new_password(form)
    if username_problem(name):
        return refuse(request, 400, "users.bad_username")
    if problem:
        return refuse(request, 400, problem, n=MIN_LENGTH)
    try:
        role = Role(_field(form, "role"))
    except ValueError:
        return refuse(request, 400, "users.not_possible")

    def change(session: Session) -> object:
        if find_user(session, name) is not None:
            raise UserError("exists")
        return add_user(session, name, password, role)

    return await _apply(request, change, "added")


def _target(request: Request, login: Login) -> tuple[str, bool]:
    name = request.path_params["username"]
    return name, name == login.user.username


@guarded(Role.ADMIN)
async def role(request: Request, login: Login) -> Response:
    """Change a staff member's role (their sessions end)."""
    name, own = _target(request, login)
    form = await request.form()
    try:
        new = Role(_field(form, "role"))
    except ValueError:
        return refuse(request, 400, "users.not_possible")
    if own:
        return refuse(request, 400, "users.not_yourself")
    return await _apply(request, lambda s: set_role(s, name, new), "role")


@guarded(Role.ADMIN)
async def site_role(request: Request, login: Login) -> Response:
    """Give a staff member a role at one branch, or take it away (their sessions end)."""
    name, own = _target(request, login)
    form = await request.form()
    site, chosen = _field(form, "site"), _field(form, "role")
    if own:
        return refuse(request, 400, "users.not_yourself")
    try:
        new = None if chosen == "none" else Role(chosen)
    except ValueError:
        return refuse(request, 400, "users.not_possible")
    return await _apply(request, lambda s: set_site_role(s, name, site, new), "site")


@guarded(Role.ADMIN)
async def reset(request: Request, login: Login) -> Response:
    """Give a staff member a new password (their sessions end)."""
    name, _own = _target(request, login)
    password, problem = _new_password(await request.form())
    if problem:
        return refuse(request, 400, problem, n=MIN_LENGTH)
    return await _apply(request, lambda s: set_password(s, name, password), "password")


@guarded(Role.ADMIN)
async def remove(request: Request, login: Login) -> Response:
    """Remove a staff member (their sessions end)."""
    name, own = _target(request, login)
    if own:
        return refuse(request, 400, "users.not_yourself")
    return await _apply(request, lambda s: remove_user(s, name), "removed")


@guarded(Role.ADMIN)
async def unthrottle(request: Request, login: Login) -> Response:
    """Forget a staff member's failed logins, from every address."""
    name, _own = _target(request, login)
    return await _apply(request, lambda s: LoginThrottle.clear(s, username=name), "unthrottled")


@guarded(Role.VIEWER)
async def account(request: Request, login: Login) -> Response:
    """The form to change one's own password."""
    return render(request, "account.html", {})


@guarded(Role.VIEWER)
async def change_password(request: Request, login: Login) -> Response:
    """Change one's own password: the current one first. Every session ends, this one too."""
    ctx = dashboard(request)
    form = await request.form()
    if not verify_password(_field(form, "current"), login.user.password_hash):
        return refuse(request, 400, "users.wrong_current")
    password, problem = _new_password(form)
    if problem:
        return refuse(request, 400, problem, n=MIN_LENGTH)
    await ctx.db(lambda s: set_password(s, login.user.username, password))
    return RedirectResponse("/login", status_code=303)
