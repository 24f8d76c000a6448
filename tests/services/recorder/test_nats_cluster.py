"""The clustered engine: three NATS JetStream nodes speaking MQTT, two recorder processes.

Door outboxes publish on two different nodes; two ``aabent recorder`` processes (each with its
own persistent session, ``recorder.instance``) write into one PostgreSQL schema. Mid-run one
recorder is killed (SIGKILL) and one node too, and the node is started again: every event is
stored, none twice. NATS 2.9 has no shared subscription (MQTT 3.1.1; a ``$share/…`` filter is
granted but taken literally), so both recorders get every message and the database is the
arbiter: an event id is inserted once (``INSERT … ON CONFLICT DO NOTHING``).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text

from services.bus.client import MqttBus
from services.bus.outbox import Outbox, OutboxPublisher
from services.bus.topics import Topics
from services.core.events import Event, EventType
from services.settings import MqttSettings
from services.store.engine import make_engine
from services.store.recorder import EventRecord
from services.store.schema import create_schema
from tests.conftest import PG_URL, _postgres_reachable
from tests.nats_cluster import Cluster
from tests.services.recorder.conftest import wait_until

pytestmark = pytest.mark.postgres
ROOT = Path(__file__).resolve().parents[3]
TIMEOUT = 30.0


@pytest.fixture
def schema() -> Iterator[tuple[str, Engine]]:
    """A fresh PostgreSQL schema at the newest migration, and an engine on it."""
    problem = _postgres_reachable()
    if problem:
        if os.environ.get("AABENT_REQUIRE_POSTGRES") == "1":
            pytest.fail(problem)
        pytest.skip(problem)
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{name}"'))
    url = f"{PG_URL}?options=-csearch_path%3D{name}"
    engine = make_engine(url)
    create_schema(engine)  # once, before two recorders would both migrate it
    yield url, engine
    engine.dispose()
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
    admin.dispose()


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    nats = Cluster(tmp_path / "nats").start()
    yield nats
    nats.stop()


class RecorderProcess:
    """``aabent recorder`` against one node, as the municipality's server runs it."""

    def __init__(self, folder: Path, url: str, port: int, instance: str) -> None:
        folder.mkdir(parents=True)
        config = folder / "aabent.toml"
        config.write_text(
            f'[site]\nid = "kommune"\nname = "Kommunen"\ndata_dir = "{folder}"\n'
            f'[store]\nurl = "{url}"\n'
            f"[mqtt]\nport = {port}\nkeepalive = 5\nreconnect_max_s = 1\n"
            f'[recorder]\nall_sites = true\ninstance = "{instance}"\n'
            "homeassistant_discovery = false\n"
        )
        self.client_id = f"aabent-recorder-kommune-{instance}"
        self.log = folder / "log"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "services.cli.main", "-c", str(config), "recorder"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=(folder / "log").open("wb"),  # the process's log, kept for counters()
            text=True,
        )
        assert self.proc.stdout is not None
        assert "recorder ready" in self.proc.stdout.readline(), (folder / "log").read_text()

    def counters(self) -> dict[str, int]:
        """What the stopped recorder logged it had stored and skipped as already stored."""
        line = next(x for x in self.log.read_text().splitlines() if "recorder stopped" in x)
        found = re.search(r"'stored': (\d+), 'duplicates': (\d+)", line)
        assert found is not None, line
        return {"stored": int(found[1]), "duplicates": int(found[2])}

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(TIMEOUT)


class Door:
    """A door's outbox publishing to one node."""

    def __init__(self, site: str, door: str, port: int, folder: Path) -> None:
        self.topics = Topics("aabent", site)
        self.door = door
        self.outbox = Outbox(folder / f"outbox-{site}-{door}.sqlite")
        settings = MqttSettings(port=port, keepalive=5, reconnect_max_s=1)
        self.bus = MqttBus(settings, f"door-{site}-{door}", f"door-{door}", self.topics)
        self.publisher = OutboxPublisher(self.outbox, self.bus)
        self.sent: list[str] = []
        self.bus.start()
        self.publisher.start()

    def swipe(self) -> None:
        event = Event(EventType.ACCESS_GRANTED, self.door, datetime.now(UTC), details={})
        self.outbox.append(self.topics.door_event(self.door), event.to_json())
        self.sent.append(event.id)

    def close(self) -> None:
        assert self.publisher.wait_drained(TIMEOUT), "the cluster did not take the outbox"
        self.publisher.stop()
        self.bus.stop()
        self.outbox.close()


@pytest.mark.parametrize("down_s", [3.0])
def test_a_node_and_a_recorder_die_mid_run_and_nothing_is_lost_or_stored_twice(
    cluster: Cluster, schema: tuple[str, Engine], tmp_path: Path, down_s: float
) -> None:
    url, engine = schema
    n0, n1, n2 = cluster.nodes
    first = RecorderProcess(tmp_path / "rec-a", url, n0.mqtt_port, "a")
    second = RecorderProcess(tmp_path / "rec-b", url, n1.mqtt_port, "b")
    doors: list[Door] = []
    try:
        cluster.wait_subscribed(first.client_id, second.client_id)
        doors = [Door("albertslund", "main", n0.mqtt_port, tmp_path),
                 Door("ballerup", "main", n2.mqtt_port, tmp_path)]  # fmt: skip
        stop = threading.Event()

        def patrons() -> None:
            while not stop.is_set():
                for door in doors:
                    door.swipe()
                stop.wait(0.02)

        swiping = threading.Thread(target=patrons, daemon=True)
        swiping.start()
        time.sleep(1.0)
        second.kill()  # a recorder dies: the first one has every message too
        time.sleep(0.5)
        n0.kill()  # and a node: the first recorder's and Albertslund's door's node
        time.sleep(down_s)
        n0.start()
        time.sleep(1.0)
        stop.set()
        swiping.join()
        for door in doors:
            door.close()
        sent = {i for door in doors for i in door.sent}

        def stored() -> int:
            with engine.connect() as conn:
                return int(conn.scalar(select(func.count()).select_from(EventRecord)) or 0)

        assert wait_until(lambda: stored() >= len(sent), TIMEOUT), (stored(), len(sent))
        with engine.connect() as conn:
            ids = list(conn.scalars(select(EventRecord.id)))
        assert len(ids) == len(set(ids)) == len(sent) and set(ids) == sent
        # The survivor saw every event: what the other had stored came to it as a duplicate, and
        # what its dead node had sent it unacknowledged came again (at least once, not once).
        first.stop()
        counters = first.counters()
        assert counters["stored"] + counters["duplicates"] >= len(sent), counters
    finally:
        for recorder in (first, second):
            recorder.stop()
