"""``aabent broker acl|users|bridge|central-acl|nats-node|nats-users``: the broker's users, ACL
and bridge, from the site's settings, and the configuration of a clustered central broker."""

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
    bridge.add_argument(
        "--central",
        required=True,
        help="the central broker's host name; a NATS cluster's nodes comma-separated",
    )
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
    bridge.add_argument(
        "--nats", action="store_true", help="the central broker is the NATS cluster (config/nats)"
    )
    bridge.set_defaults(handler=_bridge)
    central = actions.add_parser(
        "central-acl", help="print the central broker's ACL: one bridge user per branch, server"
    )
    central.add_argument("sites", nargs="+", metavar="SITE", help="the branches' site ids")
    central.set_defaults(handler=_central_acl)
    _add_nats_commands(actions)


def _add_nats_commands(actions: Any) -> None:
    from services.bus import nats

    node = actions.add_parser(
        "nats-node", help="print one node's configuration of the central NATS cluster"
    )
    node.add_argument("name", help="this node's name, one of --node")
    node.add_argument(
        "--node",
        action="append",
        required=True,
        metavar="NAME=HOST",
        help="every node of the cluster (this one too) and the address it is reached at",
    )
    node.add_argument("--cafile", type=Path, required=True, help="the municipality's CA")
    node.add_argument("--certfile", type=Path, required=True, help="this node's certificate")
    node.add_argument("--keyfile", type=Path, required=True, help="this node's key")
    node.add_argument("--store-dir", type=Path, default=Path("/var/lib/nats/aabent"))
    node.add_argument("--mqtt-port", type=int, default=nats.MQTT_PORT)
    node.add_argument("--route-port", type=int, default=nats.ROUTE_PORT)
    node.add_argument(
        "--client-certificates",
        action="store_true",
        help="MQTT clients must show a certificate of the CA too (mqtt.tls_cert_file)",
    )
    node.set_defaults(handler=_nats_node)
    users = actions.add_parser(
        "nats-users", help="print the central NATS cluster's users: server, one per branch"
    )
    users.add_argument("sites", nargs="+", metavar="SITE", help="the branches' site ids")
    users.add_argument(
        "--secrets",
        type=Path,
        required=True,
        metavar="DIR",
        help="folder with each user's secret, USER.password (server, bridge-SITE)",
    )
    users.set_defaults(handler=_nats_users)


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
    text = bridge_text(topics, args.central, args.port, password, tls, nats=args.nats)
    print(text, end="")
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


def _nats_node(args: argparse.Namespace, _settings: Settings) -> int:
    from services.bus import nats

    nodes = []
    try:
        for item in args.node:
            name, sep, host = item.partition("=")
            if not sep:
                raise ValueError(f"--node {item!r} is not NAME=HOST")
            port, route = args.mqtt_port, args.route_port
            nodes.append(nats.Node(name, host, mqtt_port=port, route_port=route))
        this = next((n for n in nodes if n.name == args.name), None)
        if this is None:
            raise ValueError(f"{args.name} is not one of the --node names")
        tls = nats.NodeTls(args.cafile, args.certfile, args.keyfile)
        text = nats.node_text(
            this, nodes, tls, args.store_dir, client_certificates=args.client_certificates
        )
    except ValueError as exc:
        raise SystemExit(f"aabent broker nats-node: {exc}") from None
    print(text, end="")
    return 0


def _nats_users(args: argparse.Namespace, settings: Settings) -> int:
    import bcrypt

    from services.bus import nats
    from services.settings.paths import read_secret

    try:
        grants = nats.grants(
            settings.mqtt.prefix, settings.site.id, args.sites, settings.recorder.discovery_prefix
        )
    except ValueError as exc:
        raise SystemExit(f"aabent broker nats-users: {exc}") from None
    hashes = {}
    for grant in grants:
        secret = read_secret(args.secrets / f"{grant.user}.password", f"--secrets {grant.user}")
        if not secret:
            raise SystemExit(f"aabent broker nats-users: the secret of {grant.user} is empty")
        hashes[grant.user] = bcrypt.hashpw(secret.encode(), bcrypt.gensalt(11)).decode()
    print(nats.users_text(grants, hashes), end="")
    return 0
