"""A one-time code "for N uses" counts for the site: two controllers, as processes, on one real
Mosquitto. The code used at the entrance is used up at the basement door too, also after the
basement controller restarts; a controller that heard nothing (offline) admits at most N itself."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from services.bus.client import MqttBus
from services.core.credentials import Credential, CredentialKind
from services.settings import MqttSettings, load_settings
from tests.conftest import Broker
from tests.hardware.test_controllers_on_one_site import (
    TIMEOUT,
    TOPICS,
    Controller,
    Launch,
    launch,  # noqa: F401  (the fixture)
    site_config,
)

CODE = "482913"


class Site:
    """A staff tool on the site's bus: publishes the lists, types at pads, collects events."""

    def __init__(self, broker: Broker) -> None:
        self.events: list[dict[str, object]] = []
        self.retained: dict[str, bytes] = {}
        self._changed = threading.Condition()
        settings = MqttSettings(host=broker.host, port=broker.port, keepalive=5)
        self.bus = MqttBus(settings, f"staff-{uuid.uuid4().hex[:6]}", "staff", TOPICS)
        self.bus.subscribe(TOPICS.all_door_events, self._event)
        self.bus.subscribe(TOPICS.all_code_uses, self._uses)
        self.bus.subscribe(TOPICS.all_status, self._uses)
        self.bus.start()
        assert self.bus.wait_connected(TIMEOUT)

    def _event(self, _topic: str, payload: bytes) -> None:
        with self._changed:
            self.events.append(json.loads(payload))
            self._changed.notify_all()

    def _uses(self, topic: str, payload: bytes) -> None:
        with self._changed:
            self.retained[topic] = payload
            self._changed.notify_all()

    def decision(self, door: str, after: int) -> dict[str, object]:
        """The first access decision at ``door`` among the events after the first ``after``."""

        def found() -> dict[str, object] | None:
            return next(
                (
                    e
                    for e in self.events[after:]
                    if e.get("source") == door
                    and e.get("type") in ("access.granted", "access.denied")
                ),
                None,
            )

        with self._changed:
            assert self._changed.wait_for(lambda: found() is not None, TIMEOUT), self.events
            decision = found()
        assert decision is not None
        return decision

    def uses_published(self, controller: str, uses: int) -> None:
        topic = TOPICS.code_uses(f"door-{controller}")

        def counted() -> bool:
            raw = self.retained.get(topic)
            return raw is not None and uses in json.loads(raw)["uses"].values()

        with self._changed:
            assert self._changed.wait_for(counted, TIMEOUT), self.retained

    def online(self, controller: str) -> None:
        topic = TOPICS.status(f"door-{controller}")
        with self._changed:
            ok = self._changed.wait_for(lambda: self.retained.get(topic) == b"online", TIMEOUT)
        assert ok, self.retained

    def type_code(self, door: str) -> int:
        """Type the code at ``door``'s pad; how many events were seen before."""
        with self._changed:
            seen = len(self.events)
        self.bus.publish(TOPICS.sim(door, "pad"), CODE.encode())
        return seen


@pytest.fixture
def staff(own_broker: Broker) -> Iterator[Site]:
    site = Site(own_broker)
    yield site
    site.bus.stop()


def logged(controller: Controller, words: str) -> None:
    """Wait until the controller's log says ``words``."""
    deadline = time.monotonic() + TIMEOUT
    while not any(words in line for line in controller.output):
        assert time.monotonic() < deadline, "".join(controller.output)
        time.sleep(0.05)


def with_pads(tmp_path: Path, port: int) -> Path:
    """The two-controller site of the other test, each door with a PIN pad."""
    config = site_config(tmp_path, port)
    pads = "".join(
        f'[[doors.{door}.readers]]\nkind = "pinpad"\nurl = "loop://"\n'
        for door in ("main", "basement")
    )
    config.write_text(config.read_text(encoding="utf-8") + pads, encoding="utf-8")
    return config


def lists_with_one_code(config: Path, max_uses: int) -> bytes:
    key = load_settings(config, environ={}).site.site_key()  # made here, read by both
    now = datetime.now(UTC)
    code = [
        key.credential_hash(Credential(CredentialKind.CODE, CODE)),
        "carpenter",
        (now - timedelta(hours=1)).isoformat(),
        (now + timedelta(hours=2)).isoformat(),
        max_uses,
        0,
        "",
    ]
    snapshot = {"version": 1, "groups": [], "bans": [], "codes": [code], "signups": []}
    return json.dumps(snapshot).encode()


def test_a_code_for_one_use_opens_one_door_of_the_site_once(
    tmp_path: Path,
    own_broker: Broker,
    staff: Site,
    launch: Launch,  # noqa: F811
) -> None:
    config = with_pads(tmp_path, own_broker.port)
    staff.bus.publish_state(TOPICS.lists, lists_with_one_code(config, max_uses=1))
    entrance = launch(config, "entrance", "entrance")
    basement = launch(config, "basement", "basement")
    for controller, name in ((entrance, "entrance"), (basement, "basement")):
        controller.ready()
        staff.online(name)
        logged(controller, "lists version 1 applied")  # the retained snapshot
    # Each controller applies the retained snapshot on its own worker: wait until the code opens.
    granted = staff.decision("main", staff.type_code("main"))
    assert (granted["type"], granted["reason"]) == ("access.granted", "code")
    staff.uses_published("entrance", 1)
    refused = staff.decision("basement", staff.type_code("basement"))
    assert (refused["type"], refused["reason"]) == ("access.denied", "code_used_up")
    # A restarted basement controller hears the entrance's retained count again.
    basement.stop()
    again = launch(config, "basement", "basement")
    again.ready()
    staff.online("basement")
    logged(again, "code uses: 1 more heard from door-entrance")  # retained, not stored
    refused = staff.decision("basement", staff.type_code("basement"))
    assert (refused["type"], refused["reason"]) == ("access.denied", "code_used_up")
