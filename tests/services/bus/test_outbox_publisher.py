"""The outbox publisher against a real Mosquitto: in order, only deleted after PUBACK, nothing
lost while the broker is away or when the door process is killed."""

from __future__ import annotations

import os
import pwd
import signal
import subprocess
import sys
import textwrap
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.bus.client import MqttBus
from services.bus.outbox import Outbox, OutboxPublisher
from services.bus.topics import Topics
from services.core.events import Event, EventType
from services.settings import MqttSettings
from tests.conftest import Broker, free_port

TIMEOUT = 15.0
ROOT = Path(__file__).parents[3]


class EventInbox:
    """Collects event ids in arrival order and lets a test wait until enough arrived."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self._cond = threading.Condition()

    def __call__(self, _topic: str, payload: bytes) -> None:
        event = Event.from_json(payload)
        with self._cond:
            self.ids.append(event.id)
            self._cond.notify_all()

    def wait_for_ids(self, wanted: list[str]) -> bool:
        need = set(wanted)
        with self._cond:
            return self._cond.wait_for(lambda: need <= set(self.ids), TIMEOUT)

    def distinct(self) -> list[str]:
        """Ids in first-arrival order, duplicates (allowed: at-least-once) dropped."""
        with self._cond:
            return list(dict.fromkeys(self.ids))


@pytest.fixture
def topics() -> Topics:
    return Topics("aabent", f"t{uuid.uuid4().hex[:10]}")


@pytest.fixture
def durable_broker(tmp_path: Path) -> Iterator[Broker]:
    """A Mosquitto that keeps sessions across a restart, so an observer misses nothing."""
    port = free_port()
    data = tmp_path / "mosquitto"
    data.mkdir()
    config = tmp_path / "mosquitto.conf"
    config.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\n"
        f"persistence true\npersistence_location {data}/\n"
        f"user {pwd.getpwuid(os.geteuid()).pw_name}\n"
    )
    broker = Broker(port=port, config=config)
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
def make_bus() -> Iterator[Callable[..., MqttBus]]:
    buses: list[MqttBus] = []

    def make(broker: Broker, topics: Topics, client_id: str, **kwargs: object) -> MqttBus:
        settings = MqttSettings(host=broker.host, port=broker.port, keepalive=5)
        bus = MqttBus(settings, client_id, client_id, topics, reconnect_max_s=1, **kwargs)  # type: ignore[arg-type]
        buses.append(bus)
        return bus

    yield make
    for bus in buses:
        bus.stop()


def event(door: str, n: int) -> Event:
    return Event(EventType.DOOR_OPENED, door, datetime.now(UTC), details={"n": n})


def append(outbox: Outbox, topics: Topics, door: str, count: int) -> list[str]:
    ids = []
    for n in range(count):
        e = event(door, n)
        outbox.append(topics.door_event(door), e.to_json())
        ids.append(e.id)
    return ids


def observe(
    broker: Broker, topics: Topics, make_bus: Callable[..., MqttBus], **kw: object
) -> EventInbox:
    """An observer of all door events whose subscription is proven live by a probe event."""
    inbox = EventInbox()
    observer = make_bus(broker, topics, f"observer-{topics.site}", **kw)
    observer.subscribe(topics.all_door_events, inbox)
    observer.start()
    assert observer.wait_connected(TIMEOUT)
    probe = event("probe", 0)
    observer.publish(topics.door_event("probe"), probe.to_json())
    assert inbox.wait_for_ids([probe.id])
    inbox.ids.clear()
    return inbox


def _wait(predicate: Callable[[], bool], timeout: float = TIMEOUT) -> bool:
    """Wait for a state the bus offers no event for (a test-only convenience)."""
    tick = threading.Event()
    for _ in range(int(timeout / 0.02)):
        if predicate():
            return True
        tick.wait(0.02)
    return predicate()


def test_delivers_in_append_order_and_empties_the_outbox(
    mqtt_broker: Broker, topics: Topics, make_bus: Callable[..., MqttBus], tmp_path: Path
) -> None:
    inbox = observe(mqtt_broker, topics, make_bus)
    outbox = Outbox(tmp_path / "outbox.sqlite")
    bus = make_bus(mqtt_broker, topics, "door")
    publisher = OutboxPublisher(outbox, bus, max_inflight=20)
    bus.start()
    publisher.start()
    try:
        ids = []
        for n in range(150):  # two doors interleaved: one global order
            ids += append(outbox, topics, "main" if n % 2 else "back", 1)
        assert publisher.wait_drained(TIMEOUT)
        assert inbox.wait_for_ids(ids)
        assert inbox.distinct() == ids
        assert outbox.count() == 0
        assert publisher.acknowledged == 150
    finally:
        publisher.stop()


def test_rows_left_from_a_previous_run_are_delivered_on_start(
    mqtt_broker: Broker, topics: Topics, make_bus: Callable[..., MqttBus], tmp_path: Path
) -> None:
    path = tmp_path / "outbox.sqlite"
    with Outbox(path) as first_run:
        ids = append(first_run, topics, "main", 30)

    inbox = observe(mqtt_broker, topics, make_bus)
    outbox = Outbox(path)
    bus = make_bus(mqtt_broker, topics, "door")
    publisher = OutboxPublisher(outbox, bus)
    bus.start()
    publisher.start()
    try:
        assert publisher.wait_drained(TIMEOUT)
        assert inbox.wait_for_ids(ids)
        assert inbox.distinct() == ids
    finally:
        publisher.stop()


def test_accumulates_while_the_broker_is_down_and_delivers_the_backlog_in_order(
    durable_broker: Broker, topics: Topics, make_bus: Callable[..., MqttBus], tmp_path: Path
) -> None:
    # A persistent session on a persistent broker: the observer misses nothing across the restart.
    inbox = observe(durable_broker, topics, make_bus, persistent_session=True)
    outbox = Outbox(tmp_path / "outbox.sqlite")
    bus = make_bus(durable_broker, topics, "door")
    publisher = OutboxPublisher(outbox, bus, max_inflight=10)
    bus.start()
    publisher.start()
    try:
        before = append(outbox, topics, "main", 10)
        assert publisher.wait_drained(TIMEOUT)

        durable_broker.stop()
        assert _wait(lambda: not bus.connected)
        during = append(outbox, topics, "main", 50)  # the door goes on; nothing blocks
        assert not publisher.wait_drained(0.3)
        assert outbox.count() == 50  # nothing is deleted without a PUBACK
        assert publisher.acknowledged == 10

        durable_broker.start()
        assert publisher.wait_drained(TIMEOUT)
        assert inbox.wait_for_ids(before + during)
        assert inbox.distinct() == before + during
        assert publisher.acknowledged == 60
    finally:
        publisher.stop()


def test_stop_keeps_unacknowledged_rows_for_the_next_start(
    own_broker: Broker, topics: Topics, make_bus: Callable[..., MqttBus], tmp_path: Path
) -> None:
    outbox = Outbox(tmp_path / "outbox.sqlite")
    bus = make_bus(own_broker, topics, "door")
    publisher = OutboxPublisher(outbox, bus)
    bus.start()
    publisher.start()
    assert bus.wait_connected(TIMEOUT)
    own_broker.stop()
    append(outbox, topics, "main", 5)
    publisher.stop()
    bus.stop()
    assert outbox.count() == 5


CHILD = textwrap.dedent(
    """
    import sys
    from datetime import UTC, datetime
    from pathlib import Path
    from services.bus.client import MqttBus
    from services.bus.outbox import Outbox, OutboxPublisher
    from services.bus.topics import Topics
    from services.core.events import Event, EventType
    from services.settings import MqttSettings

    port, site, path = int(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
    topics = Topics("aabent", site)
    outbox = Outbox(path)
    bus = MqttBus(MqttSettings(port=port, keepalive=5), "door-child", "door", topics)
    publisher = OutboxPublisher(outbox, bus)
    bus.start()
    publisher.start()
    assert bus.wait_connected(10)
    for n in range(1_000_000):
        event = Event(EventType.DOOR_OPENED, "main", datetime.now(UTC), details={"n": n})
        outbox.append(topics.door_event("main"), event.to_json())
        print(event.id, flush=True)  # printed only once append() has returned: durable
    """
)


def test_a_door_process_killed_mid_run_loses_nothing(
    mqtt_broker: Broker, topics: Topics, make_bus: Callable[..., MqttBus], tmp_path: Path
) -> None:
    inbox = observe(mqtt_broker, topics, make_bus)
    path = tmp_path / "outbox.sqlite"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(mqtt_broker.port), topics.site, str(path)],
        stdout=subprocess.PIPE,
        cwd=ROOT,
    )
    assert child.stdout is not None
    appended = [child.stdout.readline().decode().strip() for _ in range(1000)]
    child.send_signal(signal.SIGKILL)
    assert child.wait(TIMEOUT) == -signal.SIGKILL
    appended += child.stdout.read().decode().split()  # what it appended before dying
    child.stdout.close()

    outbox = Outbox(path)
    left_over = outbox.count()
    bus = make_bus(mqtt_broker, topics, "door-restarted")
    publisher = OutboxPublisher(outbox, bus)
    bus.start()
    publisher.start()
    try:
        assert publisher.wait_drained(TIMEOUT)
        assert inbox.wait_for_ids(appended), (
            f"{len(set(appended) - set(inbox.ids))} of {len(appended)} lost "
            f"({left_over} were left in the outbox)"
        )
    finally:
        publisher.stop()
