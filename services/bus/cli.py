"""``aabent broker acl|users|bridge|central-acl``: the broker's users, ACL and bridge, from
the site's settings."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from services.settings import Settings

CENTRAL_PORT = 8883  # the central broker's TLS listener (config/mosquitto/central.conf)


def add_commands(sub: Any) -> None:
    """Register the ``broker`` actions."""
    broker = sub.add_parser("broker", help="the site's Mosquitto users, ACL and bridge")
    actions = broker.add_subparsers(dest="broker_action", required=True, metavar="ACTION")
    actions.add_parser("acl", help="print the ACL file (acl_file) of the site").set_defaults(
        handler=_acl
    )
    actions.add_parser("users", help="print the broker users of the site, one a line").set_defaults(
        handler=_users
    )
    bridge = actions.add_parser(
        "bridge", help="print this branch's bridge section to the municipality's central broker"
    )
    bridge.add_argument("--central", required=True, help="the central broker's host name")
    bridge.add_argument("--port", type=int, default=CENTRAL_PORT, help="its TLS port")
    bridge.add_argument(
        "--password-file", type=Path, help="the secret of the user bridge-<site> on the centre"
    )
    bridge.add_argument("--cafile", type=Path, help="CA of the central broker's certificate")
    bridge.add_argument("--certfile", type=Path, help="the bridge's client certificate")
    bridge.add_argument("--keyfile", type=Path, help="the bridge's client key")
    bridge.add_argument(
        "--no-tls",
        action="store_true",
        help="plain TCP (a test on loopback, or a VPN already encrypting the link)",
    )
    bridge.set_defaults(handler=_bridge)
    central = actions.add_parser(
        "central-acl", help="print the central broker's ACL: one bridge user per branch, server"
    )
    central.add_argument("sites", nargs="+", metavar="SITE", help="the branches' site ids")
    central.set_defaults(handler=_central_acl)


def _acl(_args: argparse.Namespace, settings: Settings) -> int:
    from services.bus.acl import acl_text

    print(acl_text(settings), end="")
    return 0


def _users(_args: argparse.Namespace, settings: Settings) -> int:
    from services.bus.acl import users

    print("\n".join(users(settings)))
    return 0


def _bridge(args: argparse.Namespace, settings: Settings) -> int:
    from services.bus.bridge import BridgeTls, bridge_text
    from services.bus.topics import Topics
    from services.settings.paths import read_secret

    if args.no_tls == (args.cafile is not None):
        raise SystemExit("aabent broker bridge: give --cafile (TLS), or --no-tls, not both")
    tls = None if args.no_tls else BridgeTls(args.cafile, args.certfile, args.keyfile)
    password = read_secret(args.password_file, "--password-file")
    topics = Topics(settings.mqtt.prefix, settings.site.id)
    print(bridge_text(topics, args.central, args.port, password, tls), end="")
    return 0


def _central_acl(args: argparse.Namespace, settings: Settings) -> int:
    from services.bus.bridge import central_acl_text

    text = central_acl_text(
        settings.mqtt.prefix,
        settings.site.id,
        args.sites,
        settings.recorder.discovery_prefix,
    )
    print(text, end="")
    return 0
