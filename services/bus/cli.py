"""``aabent broker acl|users``: the site's broker ACL and user list, from its settings."""

from __future__ import annotations

import argparse
from typing import Any

from services.settings import Settings


def add_commands(sub: Any) -> None:
    """Register ``broker acl`` and ``broker users``."""
    broker = sub.add_parser("broker", help="the site's Mosquitto users and ACL")
    actions = broker.add_subparsers(dest="broker_action", required=True, metavar="ACTION")
    actions.add_parser("acl", help="print the ACL file (acl_file) of the site").set_defaults(
        handler=_acl
    )
    actions.add_parser("users", help="print the broker users of the site, one a line").set_defaults(
        handler=_users
    )


def _acl(_args: argparse.Namespace, settings: Settings) -> int:
    from services.bus.acl import acl_text

    print(acl_text(settings), end="")
    return 0


def _users(_args: argparse.Namespace, settings: Settings) -> int:
    from services.bus.acl import users

    print("\n".join(users(settings)))
    return 0
