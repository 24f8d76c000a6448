"""``aabent door`` runs the controller; ``aabent sim …`` plays the world around a simulated one."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from services.settings import Settings


def add_commands(sub: Any) -> None:
    """Register ``door`` and ``sim``."""
    door = sub.add_parser("door", help="run the door controller")
    door.add_argument(
        "--simulate",
        action="store_true",
        help="MockFactory pins and pty readers instead of real hardware",
    )
    door.add_argument(
        "--clock-offset",
        type=int,
        default=0,
        metavar="MINUTES",
        help="with --simulate: run the clock this many minutes ahead (a demo evening by day)",
    )
    door.set_defaults(handler=_door)

    sim = sub.add_parser("sim", help="drive a controller started with `aabent door --simulate`")
    sim.add_argument("--door", default=None, help="door id (default: the first door)")
    acts = sim.add_subparsers(dest="action", required=True, metavar="ACTION")
    swipe = acts.add_parser("swipe", help="present a card, then type its PIN")
    swipe.add_argument("card")
    swipe.add_argument("--pin", default=None)
    pad = acts.add_parser("pad", help="type digits and '#' on the PIN pad (a code, companions)")
    pad.add_argument("digits")
    acts.add_parser("open", help="open the door (contact)")
    acts.add_parser("close", help="close the door (contact)")
    acts.add_parser("exit", help="press the exit button")
    walk = acts.add_parser("walk", help="a person passes the counter beams")
    walk.add_argument("direction", choices=["in", "out"])
    fire = acts.add_parser("fire", help="the fire panel's alarm input")
    fire.add_argument("state", choices=["on", "off"])
    panel = acts.add_parser("panel", help="an output of the intruder alarm panel")
    panel.add_argument("line", choices=["armed", "alarm", "fault"])
    panel.add_argument("state", choices=["on", "off"])
    sim.set_defaults(handler=_sim)


def _door(args: argparse.Namespace, settings: Settings) -> int:
    from hardware.gpio import NoGpio, default_pin_factory
    from hardware.identity import IdentityTaken, data_folder_lock
    from hardware.service import run_door

    own = settings.for_controller()
    if settings.doors and not own.doors:
        named = ", ".join(settings.controllers)
        print(
            f"aabent door: site.controller {settings.site.controller!r} drives none of the doors "
            f"(their controllers: {named}); set it in the config or AABENT__SITE__CONTROLLER",
            file=sys.stderr,
        )
        return 2
    try:
        with data_folder_lock(own.site.data_dir):
            if not args.simulate:
                default_pin_factory()  # one line instead of BadPinFactory's traceback
            offset = args.clock_offset if args.simulate else 0
            return run_door(own, simulate=args.simulate, clock_offset_min=offset)
    except IdentityTaken as exc:
        print(f"aabent door: {exc}", file=sys.stderr)
        return 2
    except NoGpio as exc:
        print(f"aabent door: {exc}", file=sys.stderr)
        return 3


def sim_message(args: argparse.Namespace, settings: Settings) -> tuple[str, str, bytes]:
    """The (door, input, payload) of one ``aabent sim`` call."""
    door = args.door or next(iter(settings.doors), "main")
    if args.action == "swipe":
        return door, "swipe", json.dumps({"card": args.card, "pin": args.pin}).encode()
    if args.action == "pad":
        return door, "pad", args.digits.encode()
    if args.action in ("open", "close"):
        return door, "contact", b"open" if args.action == "open" else b"closed"
    if args.action == "exit":
        return door, "exit", b"press"
    if args.action == "walk":
        return door, "walk", args.direction.encode()
    if args.action == "panel":
        return "site", f"panel_{args.line}", args.state.encode()
    return "site", "fire", args.state.encode()


def _sim(args: argparse.Namespace, settings: Settings) -> int:
    from services.bus.client import MqttBus
    from services.bus.topics import Topics

    door, what, payload = sim_message(args, settings)
    if door != "site" and door not in settings.doors:
        doors = ", ".join(settings.doors) or "none"
        print(f"aabent sim: no door {door!r} on this site (doors: {doors})", file=sys.stderr)
        return 2
    topics = Topics(settings.mqtt.prefix, settings.site.id)
    bus = MqttBus(settings.mqtt, f"aabent-sim-{door}-{what}", "sim", topics)
    bus.start()
    try:
        if not bus.wait_connected(5):
            print(f"aabent sim: no broker at {settings.mqtt.host}:{settings.mqtt.port}")
            return 1
        if not bus.publish(topics.sim(door, what), payload).wait(5):
            print("aabent sim: the broker did not acknowledge")
            return 1
    finally:
        bus.stop()
    print(f"sent {what} to {door}")
    return 0
