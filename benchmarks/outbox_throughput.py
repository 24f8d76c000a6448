"""Outbox throughput and loss across a broker restart; prints one JSON object.

    .venv/bin/python benchmarks/outbox_throughput.py [--n 20000] [--max-inflight 100]

A door controller appends N events to a durable outbox (SQLite, WAL, synchronous=FULL) while an
:class:`OutboxPublisher` sends them to a Mosquitto of our own; halfway through, the broker is
restarted. Loss is measured by an independent subscriber with a persistent session at QoS 1 on a
broker with persistence, so a message the broker acknowledged but had not yet passed on survives
the restart; ``lost`` counts appended event ids that never arrived, ``duplicates`` the extra
copies at-least-once delivery produced.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import pwd
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # for tests.conftest: the same Broker the tests use

from services.bus.client import MqttBus  # noqa: E402
from services.bus.outbox import Outbox, OutboxPublisher  # noqa: E402
from services.bus.topics import Topics  # noqa: E402
from services.core.events import Event, EventType  # noqa: E402
from services.settings import MqttSettings  # noqa: E402
from tests.conftest import Broker, free_port  # noqa: E402

DELIVERY_TIMEOUT_S = 120.0


class Counter:
    """Counts received event ids, total and distinct."""

    def __init__(self) -> None:
        self.total = 0
        self.ids: set[str] = set()
        self._cond = threading.Condition()

    def __call__(self, _topic: str, payload: bytes) -> None:
        event_id = Event.from_json(payload).id
        with self._cond:
            self.total += 1
            self.ids.add(event_id)
            self._cond.notify_all()

    def reset(self) -> None:
        """Forget what arrived so far."""
        with self._cond:
            self.total = 0
            self.ids.clear()

    def wait_for(self, wanted: set[str], timeout: float) -> bool:
        """Block until every id in ``wanted`` has arrived."""
        with self._cond:
            return self._cond.wait_for(lambda: wanted <= self.ids, timeout)


def start_broker(workdir: Path) -> Broker:
    """A Mosquitto with persistence, unlimited per-client queues, on a free loopback port."""
    port = free_port()
    data = workdir / "mosquitto"
    data.mkdir()
    config = workdir / "mosquitto.conf"
    config.write_text(
        f"listener {port} 127.0.0.1\n"
        "allow_anonymous true\n"
        f"persistence true\npersistence_location {data}/\n"
        "max_queued_messages 0\nmax_inflight_messages 100\n"
        # As root Mosquitto would switch to a user that cannot write the temporary directory.
        f"user {pwd.getpwuid(os.geteuid()).pw_name}\n"
    )
    broker = Broker(port=port, config=config)
    broker.start()
    return broker


def make_bus(broker: Broker, topics: Topics, name: str, **kwargs: Any) -> MqttBus:
    """A bus to the benchmark broker that reconnects within a second."""
    settings = MqttSettings(host=broker.host, port=broker.port, keepalive=10)
    return MqttBus(settings, name, name, topics, reconnect_max_s=1, **kwargs)


def prove_subscribed(door: MqttBus, counter: Counter, topics: Topics) -> None:
    """Send a probe until the subscriber has it, so no benchmark event precedes the SUBSCRIBE."""
    if not door.wait_connected(10):
        raise SystemExit("benchmark: cannot connect to the broker")
    probe = Event(EventType.CONTROLLER_STARTED, "probe", datetime.now(UTC))
    door.publish(topics.door_event("probe"), probe.to_json())
    if not counter.wait_for({probe.id}, 10):
        raise SystemExit("benchmark: the subscriber receives nothing")
    counter.reset()


def restart_when(half: threading.Event, broker: Broker) -> threading.Thread:
    """Restart the broker once ``half`` is set, without pausing the appends."""

    def restart() -> None:
        half.wait()
        broker.restart()

    thread = threading.Thread(target=restart, name="broker-restart")
    thread.start()
    return thread


def append_all(outbox: Outbox, topics: Topics, n: int, half: threading.Event) -> set[str]:
    """Append ``n`` door events as a controller would, one durable append each."""
    ids: set[str] = set()
    topic = topics.door_event("main")
    for i in range(n):
        event = Event(EventType.DOOR_OPENED, "main", datetime.now(UTC), details={"n": i})
        outbox.append(topic, event.to_json())
        ids.add(event.id)
        if i == n // 2:
            half.set()
    return ids


def run(n: int, max_inflight: int, workdir: Path) -> dict[str, Any]:
    """Run the benchmark in ``workdir`` and return its figures."""
    broker = start_broker(workdir)
    topics = Topics("aabent", "bench")
    counter = Counter()
    subscriber = make_bus(broker, topics, "bench-subscriber", persistent_session=True)
    subscriber.subscribe(topics.all_door_events, counter)
    subscriber.start()
    door = make_bus(broker, topics, "bench-door")
    outbox = Outbox(workdir / "outbox.sqlite")
    publisher = OutboxPublisher(outbox, door, max_inflight=max_inflight)
    door.start()
    try:
        prove_subscribed(door, counter, topics)
        publisher.start()
        half = threading.Event()
        restarter = restart_when(half, broker)
        started = time.perf_counter()
        ids = append_all(outbox, topics, n, half)
        appended_s = time.perf_counter() - started
        drained = publisher.wait_drained(DELIVERY_TIMEOUT_S)
        acked_s = time.perf_counter() - started
        restarter.join()
        counter.wait_for(ids, DELIVERY_TIMEOUT_S)
        return {  # events_per_s: acknowledged by the broker per second of wall time
            "events_per_s": round(publisher.acknowledged / acked_s, 1),
            "lost": len(ids - counter.ids),
            "duplicates": counter.total - len(counter.ids),
            "n": n,
            "broker_restarts": 1,
            "appends_per_s": round(n / appended_s, 1),
            "wall_s": round(acked_s, 3),
            "drained": drained,
        }
    finally:
        publisher.stop()
        door.stop()
        subscriber.stop()
        outbox.close()
        broker.stop()


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, run once in a temporary directory, print the figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000, help="events to append")
    parser.add_argument("--max-inflight", type=int, default=100, help="publisher window")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="aabent-bench-") as tmp:
        figures = run(args.n, args.max_inflight, Path(tmp))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
