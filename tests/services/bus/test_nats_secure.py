"""The shipped NATS configuration on three real nodes: TLS on routes and MQTT, one user per party.

The nodes run exactly what ``aabent broker nats-node`` and ``nats-users`` write (services/bus/
nats.py), with certificates of a throwaway CA; a machine with another CA's certificate cannot
join. The municipality's recorder (in the test, and as ``aabent recorder`` configured as
config/nats/README.md says) logs in over TLS as ``server`` and stores what a branch's user
publishes, also through a branch's Mosquitto bridged with ``--nats``. A branch's user cannot
publish into another branch's topics (nothing arrives at the recorder) nor read another branch's
commands; a client that does not trust the municipality's CA, or speaks plain MQTT, or has a
wrong secret, is not let in, and says why. One cluster for the module: three nodes take seconds
to start.
"""

from __future__ import annotations

import getpass
import json
import queue
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import bcrypt
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from services.bus import nats
from services.bus.bridge import BridgeTls, bridge_text, bridge_user, notification_topic
from services.bus.client import MqttBus
from services.bus.topics import Topics
from services.core.events import Event, EventType
from services.recorder.recorder import COMPONENT, Recorder
from services.settings import MqttSettings
from services.store.base import Base
from services.store.engine import make_engine, make_sessionmaker
from services.store.recorder import EventRecord
from tests.conftest import Broker, free_port
from tests.municipality import make_ca
from tests.nats_cluster import Cluster, Node, Secure
from tests.services.recorder.conftest import TABLES, make_settings, wait_until

PREFIX, CENTRE = "aabent", "kommune"
SITES = ("albertslund", "ballerup")
TIMEOUT = 30.0
ROOT = Path(__file__).resolve().parents[3]
QUIET = 1.0  # how long "never arrives" is watched for, after a later message did arrive


class Town:
    """The secure cluster and what a client needs to log in to it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.ca = make_ca(folder / "ca")
        grants = nats.grants(PREFIX, CENTRE, SITES, "homeassistant")
        self.secrets = {g.user: f"s3cret-{g.user}" for g in grants}
        # Cost 4 keeps a test's logins fast; the CLI hashes at cost 11.
        hashes = {u: bcrypt.hashpw(s.encode(), bcrypt.gensalt(4)).decode() for u, s in
                  self.secrets.items()}  # fmt: skip
        users = folder / "users.conf"
        users.write_text(nats.users_text(grants, hashes))
        tls = nats.NodeTls(self.ca["ca.crt"], self.ca["central.crt"], self.ca["central.key"])
        self.cluster = Cluster(folder / "nats", secure=Secure(tls, users))

    def login(self, user: str, node: int = 0, **tls: Path | None) -> MqttSettings:
        """Settings of ``user`` on a node over TLS (the municipality's CA unless overridden)."""
        secret = self.folder / f"{user}-{uuid.uuid4().hex[:6]}.password"
        secret.write_text(self.secrets.get(user, "wrong"))
        files: dict[str, Path | None] = {"tls_ca_file": self.ca["ca.crt"]} | tls
        port = self.cluster.nodes[node].mqtt_port
        return MqttSettings(port=port, username=user, password_file=secret, keepalive=5,
                            reconnect_max_s=1, **files)  # fmt: skip


@pytest.fixture(scope="module")
def town(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Town]:
    built = Town(tmp_path_factory.mktemp("nats-secure"))
    built.cluster.start()
    yield built
    built.cluster.stop()


def _now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture
def recorder(town: Town, engine: Engine) -> Iterator[Recorder]:
    """The municipality's recorder (SQLite and PostgreSQL) on node 0, as user ``server``."""
    Base.metadata.create_all(engine, tables=list(TABLES))
    login = town.login(nats.SERVER_USER)
    settings = make_settings(CENTRE, login.port, recorder={"all_sites": True})
    client_id = f"aabent-recorder-{uuid.uuid4().hex[:6]}"
    bus = MqttBus(login, client_id, COMPONENT,
                  Topics(PREFIX, CENTRE), persistent_session=True, manual_ack=True,
                  reconnect_max_s=1)  # fmt: skip
    sessions = make_sessionmaker(engine)
    recorder = Recorder(settings.model_copy(update={"mqtt": login}), sessions, bus, clock=_now)
    recorder.start()
    bus.start()
    assert bus.wait_connected(TIMEOUT), bus.connect_error
    town.cluster.wait_subscribed(client_id)
    yield recorder
    recorder.stop()
    bus.stop()


def _branch(town: Town, site: str, node: int) -> MqttBus:
    bus = MqttBus(town.login(bridge_user(site), node), f"door-{uuid.uuid4().hex[:6]}", "door-1",
                  Topics(PREFIX, site))  # fmt: skip
    bus.start()
    assert bus.wait_connected(TIMEOUT), bus.connect_error
    return bus


def _swipe() -> Event:
    return Event(EventType.ACCESS_GRANTED, "main", datetime.now(UTC), details={})


def _stored(sessions: sessionmaker[Session]) -> dict[str, str]:
    with sessions() as session:
        return {r.id: r.site for r in session.scalars(select(EventRecord))}


def test_the_recorder_over_tls_stores_a_branch_s_events_and_no_forged_ones(
    town: Town, recorder: Recorder, engine: Engine
) -> None:
    sessions = make_sessionmaker(engine)
    albertslund = _branch(town, "albertslund", node=1)  # another node than the recorder's
    try:
        forged, own = _swipe(), _swipe()
        ballerup = Topics(PREFIX, "ballerup")
        # NATS acknowledges a refused publish all the same (and logs a Publish Violation).
        assert albertslund.publish(ballerup.door_event("main"), forged.to_json()).wait(TIMEOUT)
        topic = albertslund.topics.door_event("main")
        assert albertslund.publish(topic, own.to_json()).wait(TIMEOUT)
        assert wait_until(lambda: own.id in _stored(sessions), TIMEOUT)
        assert recorder.wait_idle(TIMEOUT)
        stored = _stored(sessions)
        assert stored[own.id] == "albertslund"
        assert forged.id not in stored  # NATS dropped it: bridge-albertslund may not write there
    finally:
        albertslund.stop()


class Listener:
    """A bus collecting what arrives on its filters, and what the broker refused."""

    def __init__(self, bus: MqttBus, *filters: str) -> None:
        self.bus = bus
        self.received: queue.Queue[tuple[str, bytes]] = queue.Queue()
        for f in filters:
            bus.subscribe(f, lambda t, p: self.received.put((t, p)))
        bus.start()
        assert bus.wait_connected(TIMEOUT), bus.connect_error

    def wait_for(self, topic: str) -> set[str]:
        """Every topic that arrived until ``topic`` did (within ``TIMEOUT``)."""
        seen: set[str] = set()
        while topic not in seen:
            seen.add(self.received.get(timeout=TIMEOUT)[0])
        return seen

    def topics(self) -> set[str]:
        """The topics of what arrived within ``QUIET`` of the last one."""
        out = set()
        try:
            while True:
                out.add(self.received.get(timeout=QUIET)[0])
        except queue.Empty:
            return out


def test_a_branch_reads_its_own_commands_only(town: Town, caplog: pytest.LogCaptureFixture) -> None:
    mine, theirs = Topics(PREFIX, "albertslund"), Topics(PREFIX, "ballerup")
    snoop = Listener(
        MqttBus(town.login(bridge_user("albertslund"), 2), "snoop", "door-1", mine),
        mine.door_command("main"),
        theirs.door_command("main"),
        f"{PREFIX}/+/door/+/command",
        "$MQTT/sub/#",  # where the nodes deliver QoS 1 messages to every client
    )
    server = MqttBus(town.login(nats.SERVER_USER, 1), "commander", "server", Topics(PREFIX, CENTRE))
    server.start()
    try:
        assert server.wait_connected(TIMEOUT), server.connect_error
        town.cluster.wait_subscribed("snoop")
        assert server.publish(theirs.door_command("main"), b'{"unlock":1}').wait(TIMEOUT)
        assert server.publish(mine.door_command("main"), b'{"unlock":1}').wait(TIMEOUT)
        assert snoop.topics() == {mine.door_command("main")}
        refused = {r.getMessage() for r in caplog.records if "refused the subscription" in r.msg}
        assert refused == {
            f"broker refused the subscription to {f}: Unspecified error"
            for f in (theirs.door_command("main"), f"{PREFIX}/+/door/+/command", "$MQTT/sub/#")
        }
    finally:
        server.stop()
        snoop.bus.stop()


def test_a_client_without_the_municipality_s_ca_is_not_let_in_and_says_why(
    town: Town, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    foreign = make_ca(tmp_path / "foreign")
    bus = MqttBus(town.login(nats.SERVER_USER, tls_ca_file=foreign["ca.crt"]), "stranger", "x",
                  Topics(PREFIX, CENTRE))  # fmt: skip
    bus.start()
    try:
        assert not bus.wait_connected(3.0)
        assert bus.connect_error is not None
        assert "does not verify against mqtt.tls_ca_file" in bus.connect_error
        assert str(foreign["ca.crt"]) in bus.connect_error
        logged = [r for r in caplog.records if r.getMessage() == bus.connect_error]
        assert len(logged) == 1 and logged[0].levelname == "ERROR"  # once, not every retry
    finally:
        bus.stop()


def test_plain_mqtt_and_a_wrong_secret_are_not_let_in(town: Town) -> None:
    plain = MqttBus(town.login(nats.SERVER_USER, tls_ca_file=None), "plain", "x",
                    Topics(PREFIX, CENTRE))  # fmt: skip
    wrong = MqttBus(town.login("nobody"), "wrong", "x", Topics(PREFIX, CENTRE))
    for bus in (plain, wrong):
        bus.start()
    try:
        assert not plain.wait_connected(3.0) and not wrong.wait_connected(0.1)
        assert plain.connect_error is not None and wrong.connect_error is not None
        assert "mqtt.tls_ca_file is not set" in plain.connect_error
        assert wrong.connect_error == "the broker refused the connection: Not authorized"
    finally:
        for bus in (plain, wrong):
            bus.stop()


class BranchBroker:
    """A branch's Mosquitto bridged to the cluster as ``aabent broker bridge --nats`` writes it:
    TLS with the branch's client certificate, its user ``bridge-<site>``, two nodes to try."""

    def __init__(self, town: Town, site: str, folder: Path) -> None:
        self.topics = Topics(PREFIX, site)
        folder.mkdir(parents=True)
        n0, _, n2 = town.cluster.nodes
        ca = town.ca
        tls = BridgeTls(ca["ca.crt"], ca["bridge.crt"], ca["bridge.key"])
        central = f"127.0.0.1:{n2.mqtt_port},127.0.0.1:{n0.mqtt_port}"
        secret = town.secrets[bridge_user(site)]
        bridge = bridge_text(self.topics, central, 0, secret, tls, restart_s=(1, 1), nats=True)
        conf = folder / "branch.conf"
        self.port = free_port()
        self.log = folder / "mosquitto.log"
        conf.write_text(f"listener {self.port} 127.0.0.1\nallow_anonymous true\n"
                        f"log_dest file {self.log}\nlog_type all\n"
                        f"user {getpass.getuser()}\n{bridge}")  # fmt: skip
        self.broker = Broker(port=self.port, config=conf)
        self.broker.start()

    def bus(self, name: str) -> MqttBus:
        settings = MqttSettings(port=self.port, keepalive=5, reconnect_max_s=1)
        return MqttBus(settings, name, name, self.topics)


def test_a_branch_s_mosquitto_bridges_to_the_cluster_both_ways(town: Town, tmp_path: Path) -> None:
    branch = BranchBroker(town, "ballerup", tmp_path / "ballerup")
    centre = Listener(
        MqttBus(town.login(nats.SERVER_USER, 1), "centre", "server", Topics(PREFIX, CENTRE)),
        f"{PREFIX}/+/door/+/event",
        "$SYS/broker/connection/+/state",
    )
    door = Listener(branch.bus("door-main"), branch.topics.door_command("main"))
    try:
        assert wait_until(lambda: "aabent-bridge-ballerup" in town.cluster.mqtt_clients(), 20)
        swipe = _swipe()
        assert door.bus.publish(branch.topics.door_event("main"), swipe.to_json()).wait(TIMEOUT)
        arrived = centre.wait_for(branch.topics.door_event("main"))
        assert notification_topic("ballerup") in arrived | centre.topics()  # the bridge is up
        assert centre.bus.publish(branch.topics.door_command("main"), b"{}").wait(TIMEOUT)
        assert door.topics() == {branch.topics.door_command("main")}
    finally:
        door.bus.stop()
        centre.bus.stop()
        branch.broker.stop()


def _log(node: Node) -> str:
    return (node.folder / "log").read_text()


def _routes(node: Node) -> int:
    url = f"http://127.0.0.1:{node.http_port}/routez"
    with urllib.request.urlopen(url, timeout=2) as answer:
        return int(json.load(answer)["num_routes"])


def test_a_machine_without_a_certificate_of_the_ca_cannot_join_the_cluster(
    town: Town, tmp_path: Path
) -> None:
    foreign = make_ca(tmp_path / "foreign")
    rogue = Node("rogue", tmp_path / "rogue")
    members = [*town.cluster.nodes, rogue]
    tls = nats.NodeTls(foreign["ca.crt"], foreign["central.crt"], foreign["central.key"])
    rogue.configure_secure(members, Secure(tls, town.folder / "users.conf"))
    rogue.start()
    try:
        assert wait_until(lambda: "TLS route handshake error" in _log(rogue), TIMEOUT), rogue.tail()
        assert _routes(rogue) == 0
        assert all(_routes(n) == 2 for n in town.cluster.nodes)  # each with the other two only
    finally:
        rogue.stop()


def test_aabent_recorder_set_up_as_the_readme_says_stores_a_branch_s_event(
    town: Town, tmp_path: Path
) -> None:
    """``aabent recorder`` with the settings of config/nats/README.md, step 8 (SQLite here)."""
    login = town.login(nats.SERVER_USER, node=2)
    config = tmp_path / "aabent.toml"
    config.write_text(
        f'[site]\nid = "{CENTRE}"\nname = "Kommunen"\ndata_dir = "{tmp_path}"\n'
        f'[store]\nurl = "sqlite:///{tmp_path / "events.sqlite"}"\n'
        f'[mqtt]\nhost = "localhost"\nport = {login.port}\nusername = "server"\n'
        f'password_file = "{login.password_file}"\ntls_ca_file = "{town.ca["ca.crt"]}"\n'
        f"keepalive = 5\nreconnect_max_s = 1\n"
        f'[recorder]\nall_sites = true\ninstance = "t"\nhomeassistant_discovery = false\n'
    )
    log = tmp_path / "recorder.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "services.cli.main", "-c", str(config), "recorder"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=log.open("wb"), text=True,
    )  # fmt: skip
    ballerup = None
    try:
        assert proc.stdout is not None
        assert "recorder ready" in proc.stdout.readline(), log.read_text()
        town.cluster.wait_subscribed(f"aabent-recorder-{CENTRE}-t")
        ballerup = _branch(town, "ballerup", node=0)
        swipe = _swipe()
        assert ballerup.publish(ballerup.topics.door_event("main"), swipe.to_json()).wait(TIMEOUT)
        engine = make_engine(f"sqlite:///{tmp_path / 'events.sqlite'}")
        sessions = make_sessionmaker(engine)
        assert wait_until(lambda: _stored(sessions).get(swipe.id) == "ballerup", TIMEOUT)
        engine.dispose()
    finally:
        if ballerup is not None:
            ballerup.stop()
        proc.terminate()
        proc.wait(TIMEOUT)
