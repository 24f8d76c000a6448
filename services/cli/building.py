"""``aabent building …``: the operator's actions on tonight's evening, as door-controller commands.

``extend N``, ``swept`` and ``announce MESSAGE`` publish a command on ``building/command`` and wait
for the controller's ``command.done`` or ``command.rejected`` (the audited answer), which they
print. The dashboard's "Tonight" view sends the very same commands.
"""

from __future__ import annotations

import argparse
import json
import os
import pwd
import sys
import threading
import uuid
from datetime import UTC, datetime
from typing import Any

from services.settings import Settings

ANSWER_TIMEOUT_S = 10.0


def add_commands(sub: Any) -> None:
    """Register ``building``."""
    building = sub.add_parser("building", help="tonight's evening: extend, swept, announce")
    who = argparse.ArgumentParser(add_help=False)
    who.add_argument("--reason", default="", help="why (kept with the command's event)")
    who.add_argument("--by", default=None, help="who (default: staff:<login name>)")
    acts = building.add_subparsers(dest="action", required=True, metavar="ACTION")
    extend = acts.add_parser(
        "extend", parents=[who], help="postpone the rest of tonight's closing sequence"
    )
    extend.add_argument("minutes", type=int)
    acts.add_parser("swept", parents=[who], help="the building was checked: arm now")
    announce = acts.add_parser("announce", parents=[who], help="play a message now")
    announce.add_argument("message")
    building.set_defaults(handler=_building)


def command_body(args: argparse.Namespace, now: datetime) -> dict[str, Any]:
    """The JSON of one ``aabent building`` call."""
    body: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "ts": now.isoformat(),
        "action": args.action,
        "by": args.by or f"staff:{pwd.getpwuid(os.getuid()).pw_name}",
        "reason": args.reason,
    }
    if args.action == "extend":
        body["minutes"] = args.minutes
    if args.action == "announce":
        body["message"] = args.message
    return body


def _building(args: argparse.Namespace, settings: Settings) -> int:
    from services.bus.client import MqttBus
    from services.bus.topics import Topics

    body = command_body(args, datetime.now(UTC))
    topics = Topics(settings.mqtt.prefix, settings.site.id)
    answer: dict[str, Any] = {}
    got = threading.Event()

    def on_event(_topic: str, payload: bytes) -> None:
        try:
            event = json.loads(payload)
        except ValueError:
            return
        details = event.get("details") if isinstance(event, dict) else None
        if isinstance(details, dict) and details.get("command_id") == body["id"]:
            answer.update(event)
            got.set()

    bus = MqttBus(settings.mqtt, f"aabent-building-{body['id'][:8]}", "cli", topics)
    bus.subscribe(topics.site_event, on_event)
    bus.start()
    try:
        if not bus.wait_connected(5):
            print(f"aabent building: no broker at {settings.mqtt.host}:{settings.mqtt.port}")
            return 1
        bus.publish(topics.building_command, json.dumps(body).encode()).wait(5)
        if not got.wait(ANSWER_TIMEOUT_S):
            print("aabent building: no answer from the door controller", file=sys.stderr)
            return 1
    finally:
        bus.stop()
    if answer.get("type") == "command.done":
        print(f"done: {args.action}")
        return 0
    print(f"refused: {answer.get('reason')}", file=sys.stderr)
    return 2
