"""config/mosquitto/ against a real Mosquitto: who may publish and read what, per component user.

The broker runs our aabent.conf and aabent.acl unchanged but for the test's paths and port, with
passwords made by make-passwords.sh. One extra user, ``observer``, may read everything, so a
test can tell a refused message (it never arrives) from one that is merely late.
"""

from __future__ import annotations

import getpass
import queue
import subprocess
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from services.bus.client import MqttBus
from services.bus.topics import Topics
from services.core.events import EventType
from services.recorder.recorder import COMPONENT, Recorder
from services.settings import MqttSettings
from services.store.recorder import EventRecord
from tests.conftest import Broker, free_port
from tests.services.recorder.conftest import event, make_settings, wait_until

ROOT = Path(__file__).parents[3]
CONFIG = ROOT / "config" / "mosquitto"
SITE = "glostrup"  # the site the ACL names, as in config/aabent.toml
TOPICS = Topics("aabent", SITE)
USERS = ("door-1", "kiosk", "server", "sim", "homeassistant", "observer")
QUIET = 0.5  # how long "never arrives" is watched for, after a later message did arrive


def _broker_config(tmp: Path, port: int) -> Path:
    """aabent.conf with this test's port and paths, run as the current user (as root, too)."""
    replace = {
        "listener": f"listener {port} 127.0.0.1",
        "password_file": f"password_file {tmp / 'aabent.passwd'}",
        "acl_file": f"acl_file {tmp / 'aabent.acl'}",
        "persistence_location": f"persistence_location {tmp / 'data'}/",
        "pid_file": f"pid_file {tmp / 'mosquitto.pid'}",
        "include_dir": f"include_dir {tmp / 'conf.d'}",
    }
    lines = []
    for line in (CONFIG / "aabent.conf").read_text().splitlines():
        key = line.split(" ", 1)[0]
        lines.append(replace.pop(key, line))
    assert not replace, f"aabent.conf lost {sorted(replace)}"
    (tmp / "data").mkdir()
    (tmp / "conf.d").mkdir()
    conf = tmp / "mosquitto.conf"
    conf.write_text("\n".join([*lines, f"user {getpass.getuser()}", ""]))
    return conf


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Broker, Path]]:
    tmp = tmp_path_factory.mktemp("acl")
    acl = (CONFIG / "aabent.acl").read_text() + "\nuser observer\ntopic read #\n"
    (tmp / "aabent.acl").write_text(acl)
    secrets = tmp / "secrets"
    subprocess.run(
        ["sh", str(CONFIG / "make-passwords.sh"), str(tmp / "aabent.passwd"), str(secrets), *USERS],
        check=True,
        capture_output=True,
    )
    port = free_port()
    server = Broker(port=port, config=_broker_config(tmp, port))
    server.start()
    yield server, secrets
    server.stop()


class Client:
    """One component's connection, logged in as ``user``, collecting what it may read."""

    def __init__(self, broker: tuple[Broker, Path], user: str, component: str | None = None):
        server, secrets = broker
        settings = MqttSettings(
            port=server.port,
            username=user,
            password_file=secrets / f"mqtt-{user}.password",
            keepalive=5,
        )
        self.received: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self.bus = MqttBus(settings, f"{user}-{uuid.uuid4().hex[:6]}", component or user, TOPICS)

    def start(self, *filters: str) -> Client:
        for topic_filter in filters:
            self.bus.subscribe(topic_filter, lambda t, p: self.received.put((t, p)))
        self.bus.start()
        assert self.bus.wait_connected(10), "the broker refused the login"
        return self

    def send(self, topic: str, payload: bytes) -> None:
        # Mosquitto acknowledges a denied publish too (MQTT 3.1.1 has no way to say no).
        assert self.bus.publish(topic, payload).wait(10)

    def next(self, timeout: float = 10.0) -> tuple[str, bytes]:
        return self.received.get(timeout=timeout)

    def drain(self) -> set[tuple[str, bytes]]:
        """What arrives until it is quiet: the retained messages handed over on subscribing."""
        seen: set[tuple[str, bytes]] = set()
        while True:
            try:
                seen.add(self.received.get(timeout=QUIET))
            except queue.Empty:
                return seen

    def nothing_more(self) -> bool:
        try:
            self.received.get(timeout=QUIET)
        except queue.Empty:
            return True
        return False


@pytest.fixture
def clients() -> Iterator[list[Client]]:
    made: list[Client] = []
    yield made
    for client in made:
        client.bus.stop()


def _connect(
    clients: list[Client], broker: tuple[Broker, Path], user: str, *filters: str
) -> Client:
    client = Client(broker, user).start(*filters)
    clients.append(client)
    return client


def _command() -> bytes:
    now = datetime.now(UTC).isoformat()
    return f'{{"id":"{uuid.uuid4()}","ts":"{now}","action":"pulse","by":"x","reason":""}}'.encode()


def test_a_kiosk_cannot_command_a_door_but_the_server_can(
    broker: tuple[Broker, Path], clients: list[Client]
) -> None:
    door = _connect(clients, broker, "door-1", TOPICS.all_door_commands)
    kiosk = _connect(clients, broker, "kiosk")
    server = _connect(clients, broker, "server")
    home_assistant = _connect(clients, broker, "homeassistant")
    sim = _connect(clients, broker, "sim")
    kiosk.send(TOPICS.door_command("main"), b'{"from": "kiosk"}')
    sim.send(TOPICS.door_command("main"), b'{"from": "sim"}')
    server.send(TOPICS.door_command("main"), _command())
    topic, payload = door.next()
    assert topic == TOPICS.door_command("main") and b'"action":"pulse"' in payload
    home_assistant.send(TOPICS.door_command("main"), b'{"from": "homeassistant"}')
    assert door.next()[1] == b'{"from": "homeassistant"}'
    assert door.nothing_more()


def test_a_door_controller_publishes_only_its_own_site_and_its_own_status(
    broker: tuple[Broker, Path], clients: list[Client]
) -> None:
    door = _connect(clients, broker, "door-1")
    observer = _connect(clients, broker, "observer", "aabent/#")
    assert (TOPICS.status("door-1"), b"online") in observer.drain()  # its own: allowed
    other_site = Topics("aabent", "albertslund")
    door.send(other_site.door_event("main"), b"{}")
    door.send(other_site.status("door-1"), b"online")
    door.send(TOPICS.status("recorder"), b"online")  # another component's availability
    door.send(TOPICS.door_command("main"), _command())  # doors do not command doors
    door.send(TOPICS.door_event("main"), b'{"ok": 1}')
    assert observer.next() == (TOPICS.door_event("main"), b'{"ok": 1}')
    assert observer.nothing_more()


def test_a_kiosk_reads_opening_and_occupancy_but_no_door_events(
    broker: tuple[Broker, Path], clients: list[Client]
) -> None:
    kiosk = _connect(clients, broker, "kiosk", "aabent/glostrup/#")
    door = _connect(clients, broker, "door-1")
    assert {topic for topic, _ in kiosk.drain()} <= {TOPICS.opening, TOPICS.occupancy}
    door.send(TOPICS.door_event("main"), b'{"credential": "p:1234"}')
    door.send(TOPICS.door_state("main"), b'{"lock": "locked"}')
    door.send(TOPICS.occupancy, b'{"inside": 3}')
    door.send(TOPICS.opening, b'{"state": "staffed"}')
    assert kiosk.next() == (TOPICS.occupancy, b'{"inside": 3}')
    assert kiosk.next() == (TOPICS.opening, b'{"state": "staffed"}')
    assert kiosk.nothing_more()
    kiosk.send(TOPICS.kiosk_event("k1"), b"{}")
    kiosk.send(TOPICS.opening, b'{"state": "closed"}')  # no faking the opening state
    assert kiosk.nothing_more()  # it reads opening: its own message would have come back


def test_logins_without_a_user_or_with_a_wrong_password_are_refused(
    broker: tuple[Broker, Path], tmp_path: Path
) -> None:
    server, _ = broker
    wrong = tmp_path / "wrong"
    wrong.write_text("guess")
    for settings in (
        MqttSettings(port=server.port),
        MqttSettings(port=server.port, username="door-1", password_file=wrong),
    ):
        bus = MqttBus(settings, f"intruder-{uuid.uuid4().hex[:6]}", "door-1", TOPICS)
        bus.start()
        try:
            assert not bus.wait_connected(1.0)
        finally:
            bus.stop()


def test_the_recorder_records_the_branch_as_the_server_user(
    broker: tuple[Broker, Path], clients: list[Client], sessions: sessionmaker[Session]
) -> None:
    server, secrets = broker
    settings = make_settings(SITE, server.port)
    mqtt = settings.mqtt.model_copy(
        update={"username": "server", "password_file": secrets / "mqtt-server.password"}
    )
    bus = MqttBus(
        mqtt, f"recorder-{uuid.uuid4().hex[:6]}", COMPONENT, TOPICS, persistent_session=True
    )
    recorder = Recorder(settings, sessions, bus, clock=lambda: datetime.now(UTC))
    recorder.start()
    bus.start()
    try:
        assert bus.wait_connected(10)
        door = _connect(clients, broker, "door-1")
        kiosk = _connect(clients, broker, "kiosk")
        opened = event(EventType.DOOR_OPENED, ts=datetime.now(UTC))
        checkin = event(EventType.ACTIVITY_CHECKIN, "foyer", ts=datetime.now(UTC), event_id="e1")
        door.send(TOPICS.door_event("main"), opened.to_json())
        kiosk.send(TOPICS.kiosk_event("foyer"), checkin.to_json())
        assert wait_until(lambda: recorder.stored == 2)
    finally:
        recorder.stop()
        bus.stop()
    with sessions() as session:
        assert set(session.scalars(select(EventRecord.id))) == {opened.id, checkin.id}
