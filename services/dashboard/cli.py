"""``aabent server`` and ``aabent users add|passwd|role|site|remove|unthrottle|list`` (dashboard
staff).

Passwords are asked twice without echo (``getpass``), or read from standard input with
``--password-stdin`` for provisioning scripts; they are never taken from the command line,
where ``ps`` and the shell history would show them.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from services.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

ROLES = ("viewer", "operator", "admin")
SITE_ROLES = ("viewer", "operator", "none")  # at one branch; an admin has every branch
AskPassword = Callable[[], str]


def add_commands(sub: Any) -> None:
    """Register ``server`` and ``users``."""
    server = sub.add_parser("server", help="run the recorder and the staff dashboard")
    server.add_argument(
        "--clock-offset",
        type=int,
        default=0,
        metavar="MINUTES",
        help="run the clock this many minutes ahead, as a simulated door's (the demo's evening)",
    )
    server.set_defaults(handler=_server)

    users = sub.add_parser("users", help="staff logins of the dashboard")
    actions = users.add_subparsers(dest="users_action", required=True, metavar="ACTION")
    p = actions.add_parser("add", help="add a staff member (password asked without echo)")
    p.add_argument("username")
    p.add_argument("--role", choices=ROLES, default="viewer")
    p.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    p = actions.add_parser("passwd", help="set a new password; ends the user's sessions")
    p.add_argument("username")
    p.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    p = actions.add_parser("unthrottle", help="forget failed logins of a user and/or an address")
    p.add_argument("username", nargs="?", default="")
    p.add_argument("--address", default="", help="also the failures counted for this address")
    p = actions.add_parser("role", help="change what a staff member may do; ends their sessions")
    p.add_argument("username")
    p.add_argument("role", choices=ROLES)
    p = actions.add_parser(
        "site",
        help="a staff member's role at one branch (none: take it away); ends their sessions",
    )
    p.add_argument("username")
    p.add_argument("site", help="the branch's site id")
    p.add_argument("role", choices=SITE_ROLES)
    p = actions.add_parser("remove", help="delete a staff member and their sessions")
    p.add_argument("username")
    actions.add_parser("list", help="list staff members and roles")
    users.set_defaults(handler=_users)


def _server(args: argparse.Namespace, settings: Settings) -> int:
    from services.dashboard.server import run_server

    return run_server(settings, clock_offset_min=args.clock_offset)


def _users(args: argparse.Namespace, settings: Settings) -> int:
    from services.store.engine import make_sessionmaker
    from services.store.schema import open_database

    engine = open_database(settings.database_url, settings.site.id)
    try:
        return run_users(args, make_sessionmaker(engine), _asker(args))
    finally:
        engine.dispose()


def _asker(args: argparse.Namespace) -> AskPassword:
    if getattr(args, "password_stdin", False):
        return lambda: sys.stdin.readline().rstrip("\n")

    def ask() -> str:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Password again: ") != password:
            raise ValueError("the two passwords differ; nothing changed")
        return password

    return ask


def run_users(args: argparse.Namespace, sessions: sessionmaker[Session], ask: AskPassword) -> int:
    """Carry out one ``aabent users`` action; messages name the user, never the password."""
    from services.dashboard.users import (
        UserError,
        add_user,
        list_users,
        remove_user,
        set_password,
        set_role,
        set_site_role,
        site_roles,
    )
    from services.store.dashboard import Role

    action, name = args.users_action, getattr(args, "username", "")
    try:
        with sessions() as session, session.begin():
            if action == "add":
                add_user(session, name, ask(), Role(args.role))
                print(f"added {name} ({args.role})")
            elif action == "passwd":
                set_password(session, name, ask())
                print(f"new password for {name}; their sessions ended")
            elif action == "role":
                set_role(session, name, Role(args.role))
                print(f"{name} is now {args.role}; their sessions ended")
            elif action == "unthrottle":
                from services.dashboard.auth import LoginThrottle

                if not (name or args.address):
                    raise UserError("name a user, an --address, or both")
                cleared = LoginThrottle.clear(session, name or None, args.address or None)
                print(f"{cleared} failed logins forgotten")
            elif action == "site":
                role = None if args.role == "none" else Role(args.role)
                set_site_role(session, name, args.site, role)
                print(f"{name} at {args.site}: {args.role}; their sessions ended")
            elif action == "remove":
                remove_user(session, name)
                print(f"removed {name}")
            else:
                per_site = site_roles(session)
                for user in list_users(session):
                    sites = per_site.get(user.id, {})
                    where = " ".join(f"{s}={r}" for s, r in sites.items()) or "every site"
                    print(f"{user.username}\t{user.role}\t{where}")
    except (UserError, ValueError) as exc:
        print(f"aabent users: {exc}", file=sys.stderr)
        return 1
    return 0
