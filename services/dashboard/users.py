"""Staff users: add, change password or role, remove, list, check a login. Caller commits."""

from __future__ import annotations

import re
from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from services.dashboard.passwords import (
    dummy_hash,
    hash_password,
    password_problem,
    verify_password,
)
from services.store.base import utcnow
from services.store.dashboard import Role, StaffSession, StaffSiteRole, StaffUser

_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
_SITE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,40}$")  # as services/settings/site.py


class UserError(ValueError):
    """A user cannot be added or changed; the message says why."""


def username_problem(username: str) -> str | None:
    """Why ``username`` cannot be used, or None."""
    if not _USERNAME.match(username):
        return "a user name is 2-64 of a-z, 0-9, '.', '_', '-', starting with a letter or digit"
    return None


def find_user(session: Session, username: str) -> StaffUser | None:
    """The user called ``username``, or None."""
    return session.scalars(select(StaffUser).where(StaffUser.username == username)).first()


def list_users(session: Session) -> Sequence[StaffUser]:
    """Every staff user, by name."""
    return session.scalars(select(StaffUser).order_by(StaffUser.username)).all()


def add_user(session: Session, username: str, password: str, role: Role) -> StaffUser:
    """Register a staff member; refuses a taken name or a weak password."""
    problem = username_problem(username) or password_problem(password)
    if problem:
        raise UserError(problem)
    if find_user(session, username) is not None:
        raise UserError(f"user {username!r} exists already")
    user = StaffUser(username=username, password_hash=hash_password(password), role=role.value)
    session.add(user)
    session.flush()
    return user


def set_password(session: Session, username: str, password: str) -> StaffUser:
    """Give ``username`` a new password and end every session it has."""
    problem = password_problem(password)
    if problem:
        raise UserError(problem)
    user = _existing(session, username)
    user.password_hash = hash_password(password)
    user.password_changed = utcnow()
    # A password changed because it leaked must also throw out whoever used it.
    session.execute(delete(StaffSession).where(StaffSession.user_id == user.id))
    return user


def set_role(session: Session, username: str, role: Role) -> StaffUser:
    """Change what ``username`` may do and end their sessions: they log in again in the new role.

    Ending the sessions also ends their open live streams, so a viewer demoted from operator
    stops seeing what the old role showed at once, not at the next page load.
    """
    user = _existing(session, username)
    if user.role != role.value:
        session.execute(delete(StaffSession).where(StaffSession.user_id == user.id))
    user.role = role.value
    return user


def _site_problem(site: str) -> str | None:
    if not _SITE.match(site):
        return f"{site!r} is not a site id (a-z, 0-9, '_', '-', as in the site's settings)"
    return None


def set_site_role(session: Session, username: str, site: str, role: Role | None) -> StaffUser:
    """Give ``username`` ``role`` at ``site`` (viewer or operator), or take it away (None).

    Their sessions end, so an open page of a branch they no longer watch goes dark at once.
    A user with roles at some sites sees only those; an admin sees every site regardless."""
    problem = _site_problem(site)
    if problem:
        raise UserError(problem)
    if role is not None and role not in (Role.VIEWER, Role.OPERATOR):
        raise UserError("a role at one site is viewer or operator; an admin has every site")
    user = _existing(session, username)
    row = session.scalars(
        select(StaffSiteRole).where(StaffSiteRole.user_id == user.id, StaffSiteRole.site == site)
    ).first()
    if (row.role if row else None) == (role.value if role else None):
        return user
    if role is None:
        if row is not None:
            session.delete(row)
    elif row is None:
        session.add(StaffSiteRole(user_id=user.id, site=site, role=role.value))
    else:
        row.role = role.value
    session.execute(delete(StaffSession).where(StaffSession.user_id == user.id))
    return user


def site_roles(session: Session) -> dict[int, dict[str, str]]:
    """Every user's roles per site, by user id."""
    found: dict[int, dict[str, str]] = {}
    for row in session.scalars(select(StaffSiteRole).order_by(StaffSiteRole.site)):
        found.setdefault(row.user_id, {})[row.site] = row.role
    return found


def remove_user(session: Session, username: str) -> None:
    """Delete ``username`` and its sessions (cascade)."""
    user = _existing(session, username)
    session.execute(delete(StaffSession).where(StaffSession.user_id == user.id))
    session.delete(user)


def check_login(session: Session, username: str, password: str) -> StaffUser | None:
    """The user if name and password match; takes as long for an unknown name."""
    user = find_user(session, username)
    if user is None:
        verify_password(password, dummy_hash())
        return None
    return user if verify_password(password, user.password_hash) else None


def _existing(session: Session, username: str) -> StaffUser:
    user = find_user(session, username)
    if user is None:
        raise UserError(f"no user {username!r}")
    return user
