"""Three branch Mosquittos bridged to a central one (TLS, per-bridge users), on loopback.

Door controllers' outboxes on two branches publish patrons' swipes to their branch broker; the
municipality's recorder reads the central broker into SQLite and PostgreSQL. One branch's line
is cut (its TCP relay drops every connection and refuses new ones) for a few seconds while the
patrons keep swiping: the branch broker queues for the bridge's persistent session, and when the
line returns the backlog arrives, in order per door, none lost and none stored twice. Commands
from the centre reach their own branch only, and a branch's bridge user cannot write another
branch's command topic (the central ACL refuses it).
"""

from __future__ import annotations

import queue
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from services.bus.bridge import bridge_user
from services.bus.client import MqttBus
from services.bus.outbox import Outbox, OutboxPublisher
from services.bus.topics import Topics
from services.core.events import Event, EventType
from services.recorder.recorder import COMPONENT, Recorder
from services.settings import MqttSettings
from services.store.base import Base
from services.store.engine import make_sessionmaker
from services.store.recorder import EventRecord
from tests.municipality import CENTRAL_SITE, OBSERVER, PREFIX, Branch, Central, make_ca
from tests.services.recorder.conftest import TABLES, make_settings, wait_until

SITES = ("albertslund", "ballerup", "glostrup")
DOORS = ("main", "side")
TIMEOUT = 20.0
QUIET = 0.7  # how long "never arrives" is watched for, after a later message did arrive


@pytest.fixture(scope="module")
def town(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Central, dict[str, Branch]]]:
    tmp = tmp_path_factory.mktemp("town")
    central = Central(tmp / "central", SITES, make_ca(tmp / "ca")).start()
    # Glostrup's bridge speaks TLS (a throwaway CA, client certificate, password); the other two
    # plain TCP. With TLS on the line cut under load, Mosquitto 2.0.11's branch broker stopped
    # answering its clients in 2 of 4 runs (strace: looping TLS handshakes; not understood yet,
    # see config/mosquitto/README.md), so the backlog test cuts a plain line, and the TLS line
    # is cut with no load on it.
    branches = {s: Branch(tmp / s, s, central, tls=s == "glostrup").start() for s in SITES}
    yield central, branches
    for branch in branches.values():
        branch.stop()
    central.stop()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    """The recorder's tables on SQLite and PostgreSQL (tests/conftest.py ``engine``)."""
    Base.metadata.create_all(engine, tables=list(TABLES))
    return make_sessionmaker(engine)


def _central_login(central: Central, user: str, folder: Path) -> MqttSettings:
    secret = folder / f"{user}.password"
    secret.write_text(central.password(user))
    return MqttSettings(port=central.port, username=user, password_file=secret, keepalive=5)


class Door:
    """One door controller's delivery path: its durable outbox and the publisher to its branch."""

    def __init__(self, branch: Branch, door: str, folder: Path) -> None:
        self.door, self.topic = door, branch.topics.door_event(door)
        self.outbox = Outbox(folder / f"outbox-{branch.site}-{door}.sqlite")
        settings = MqttSettings(port=branch.port, keepalive=5, reconnect_max_s=1)
        self.bus = MqttBus(settings, f"door-{uuid.uuid4().hex[:8]}", f"door-{door}", branch.topics)
        self.publisher = OutboxPublisher(self.outbox, self.bus)
        self.sent: list[str] = []  # event ids in swipe order
        self.bus.start()
        self.publisher.start()

    def swipe(self) -> None:
        n = len(self.sent)
        event = Event(
            EventType.ACCESS_GRANTED,
            self.door,
            datetime.now(UTC),
            credential=f"p:{n:04x}",
            details={"n": n},
        )
        self.outbox.append(self.topic, event.to_json())
        self.sent.append(event.id)

    def close(self) -> None:
        assert self.publisher.wait_drained(TIMEOUT), "the branch broker did not take the outbox"
        self.publisher.stop()
        self.bus.stop()
        self.outbox.close()


@pytest.fixture
def central_recorder(
    town: tuple[Central, dict[str, Branch]], sessions: sessionmaker[Session], tmp_path: Path
) -> Iterator[Recorder]:
    central, _ = town
    settings = make_settings(CENTRAL_SITE, central.port, recorder={"all_sites": True})
    login = _central_login(central, "server", tmp_path)
    # A fresh session per test: this test's database must not inherit another test's queue.
    client_id = f"aabent-recorder-{uuid.uuid4().hex[:6]}"
    bus = MqttBus(
        login,
        client_id,
        COMPONENT,
        Topics(PREFIX, CENTRAL_SITE),
        persistent_session=True,
        manual_ack=True,
        reconnect_max_s=1,
    )
    recorder = Recorder(settings.model_copy(update={"mqtt": login}), sessions, bus, clock=_now)
    recorder.start()
    bus.start()
    assert bus.wait_connected(TIMEOUT)
    yield recorder
    recorder.stop()
    bus.stop()


def _now() -> datetime:
    return datetime.now(UTC)


@pytest.mark.parametrize("cut_s", [3.0])
def test_a_cut_line_s_backlog_arrives_in_order_once(
    town: tuple[Central, dict[str, Branch]],
    central_recorder: Recorder,
    sessions: sessionmaker[Session],
    tmp_path: Path,
    cut_s: float,
) -> None:
    _, branches = town
    cut = branches["albertslund"]
    doors = [Door(branches[s], d, tmp_path) for s in ("albertslund", "ballerup") for d in DOORS]
    stop = threading.Event()

    def patrons() -> None:
        while not stop.is_set():
            for door in doors:
                door.swipe()
            stop.wait(0.02)  # some 50 swipes a second per door

    swiping = threading.Thread(target=patrons, daemon=True)
    swiping.start()
    try:
        time.sleep(0.5)
        assert cut.link is not None
        cut.link.cut()
        time.sleep(cut_s)
        during = _stored(sessions, "albertslund")
        cut.link.restore()
        time.sleep(2.5)  # swiping on while the bridge reconnects: new ones must not overtake
    finally:
        stop.set()
        swiping.join()
        for door in doors:
            door.close()  # every swipe is on its branch broker
    sent = {(branch, door.door): door.sent for branch, door in zip(
        ("albertslund",) * 2 + ("ballerup",) * 2, doors, strict=True)}  # fmt: skip
    total = sum(len(ids) for ids in sent.values())
    assert wait_until(lambda: central_recorder.stored >= total, TIMEOUT), (
        central_recorder.stored,
        total,
    )
    assert central_recorder.wait_idle(TIMEOUT)
    with sessions() as session:
        # Each door's order is its own clock's, which every view reads by (the event log, the
        # feed, statistics): a bridge that reconnects may hand over two neighbours swapped.
        rows = session.scalars(select(EventRecord).order_by(EventRecord.ts)).all()
    by_door: dict[tuple[str, str], list[str]] = {}
    for row in rows:
        by_door.setdefault((row.site, row.source), []).append(row.id)
    assert {k: len(v) for k, v in by_door.items()} == {k: len(v) for k, v in sent.items()}
    assert by_door == sent  # nothing lost, nothing twice, and in each door's order
    # The cut was real: the cut branch's swipes stopped arriving meanwhile, the other's did not.
    cut_swipes = len(sent[("albertslund", "main")]) + len(sent[("albertslund", "side")])
    assert during < cut_swipes * 0.8


def _stored(sessions: sessionmaker[Session], site: str) -> int:
    with sessions() as session:
        return len(session.scalars(select(EventRecord.id).where(EventRecord.site == site)).all())


class Listener:
    """A client on one broker collecting what arrives on its filters."""

    def __init__(self, settings: MqttSettings, topics: Topics, *filters: str) -> None:
        self.received: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self.bus = MqttBus(settings, f"listen-{uuid.uuid4().hex[:8]}", "listener", topics)
        for f in filters:
            self.bus.subscribe(f, lambda t, p: self.received.put((t, p)))
        self.bus.start()
        assert self.bus.wait_connected(TIMEOUT)

    def next(self) -> tuple[str, bytes]:
        return self.received.get(timeout=TIMEOUT)

    def nothing(self) -> bool:
        try:
            self.received.get(timeout=QUIET)
        except queue.Empty:
            return True
        return False


def test_a_command_from_the_centre_reaches_its_branch_only_and_bridges_cannot_forge(
    town: tuple[Central, dict[str, Branch]], tmp_path: Path
) -> None:
    central, branches = town
    heard = {
        site: Listener(
            MqttSettings(port=b.port, keepalive=5), b.topics, f"{PREFIX}/+/door/+/command"
        )
        for site, b in branches.items()
    }
    server = MqttBus(
        _central_login(central, "server", tmp_path), "server-cmd", "server", Topics(PREFIX, "x")
    )
    forger = MqttBus(
        _central_login(central, bridge_user("ballerup"), tmp_path),
        "forger",
        "forger",
        Topics(PREFIX, "ballerup"),
    )
    everything = Listener(
        _central_login(central, OBSERVER, tmp_path), Topics(PREFIX, "x"), f"{PREFIX}/#"
    )
    try:
        for bus in (server, forger):
            bus.start()
            assert bus.wait_connected(TIMEOUT)
        to_albertslund = branches["albertslund"].topics.door_command("main")
        assert server.publish(to_albertslund, b'{"action":"pulse"}').wait(TIMEOUT)
        assert heard["albertslund"].next() == (to_albertslund, b'{"action":"pulse"}')
        assert heard["ballerup"].nothing() and heard["glostrup"].nothing()
        # Ballerup's bridge user writes Albertslund's command topic: acknowledged (MQTT 3.1.1
        # cannot say no) but dropped by the central ACL, then writes its own, which arrives.
        assert forger.publish(to_albertslund, b'{"action":"unlock"}').wait(TIMEOUT)
        own = branches["ballerup"].topics.door_command("main")
        assert forger.publish(own, b'{"action":"lock"}').wait(TIMEOUT)
        while (seen := everything.next())[0] != own:
            assert seen[1] != b'{"action":"unlock"}', "the centre accepted a forged command"
        assert heard["albertslund"].nothing(), "a forged command reached another branch"
        # A client on a branch's broker cannot reach another branch through the bridge either:
        # only the branch's own topics go out.
        local = Listener(
            MqttSettings(port=branches["glostrup"].port, keepalive=5),
            branches["glostrup"].topics,
            "nothing/#",
        )
        assert local.bus.publish(to_albertslund, b'{"action":"unlock"}').wait(TIMEOUT)
        assert heard["albertslund"].nothing()
        local.bus.stop()
    finally:
        for bus in (server, forger, everything.bus, *(h.bus for h in heard.values())):
            bus.stop()


def test_a_command_sent_while_the_line_is_cut_arrives_when_it_returns(
    town: tuple[Central, dict[str, Branch]], tmp_path: Path
) -> None:
    central, branches = town
    glostrup = branches["glostrup"]
    assert glostrup.link is not None
    door = Listener(MqttSettings(port=glostrup.port, keepalive=5), glostrup.topics,
                    glostrup.topics.all_door_commands)  # fmt: skip
    server = MqttBus(
        _central_login(central, "server", tmp_path), "server-late", "server", Topics(PREFIX, "x")
    )
    server.start()
    try:
        assert server.wait_connected(TIMEOUT)
        glostrup.link.cut()
        time.sleep(0.5)
        command = glostrup.topics.door_command("side")
        assert server.publish(command, b'{"action":"lock"}').wait(TIMEOUT)
        assert door.nothing()
        glostrup.link.restore()
        assert door.next() == (command, b'{"action":"lock"}')
    finally:
        glostrup.link.restore()
        server.stop()
        door.bus.stop()
