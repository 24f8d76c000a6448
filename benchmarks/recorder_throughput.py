"""Recorder throughput into SQLite and PostgreSQL, and loss; prints one JSON object.

    .venv/bin/python benchmarks/recorder_throughput.py [--n 20000] [--pg URL]

A publisher sends N distinct events at QoS 1 (as fast as the broker acknowledges them) to a
Mosquitto of our own, configured with the queue limits of config/mosquitto/aabent.conf. A
:class:`Recorder` with a persistent session, acknowledging each message after its commit, stores
them, once into a SQLite file and once into a fresh schema of the PostgreSQL ``test`` database.
``events_per_s`` is N over the time from the first publish until the last event is committed;
``lost`` counts published ids missing from the table afterwards; ``recorder_cpu_ms_per_1000``
is the CPU time of the recorder's two threads (its MQTT thread and its writer) per 1000 events,
which the other load on a shared machine changes far less than the rate. ``restart`` then
sends N/4 more with the recorder stopped halfway (as on SIGTERM) and started again with the same
session: its ``lost`` counts what the restart cost. PostgreSQL is skipped (with the reason) when
it cannot be reached.
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
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # for tests.conftest: the same Broker the tests use

from sqlalchemy import Engine, select, text  # noqa: E402

from services.bus.client import MqttBus  # noqa: E402
from services.bus.topics import Topics  # noqa: E402
from services.core.events import Event, EventType  # noqa: E402
from services.recorder.recorder import COMPONENT, Recorder  # noqa: E402
from services.settings import Settings  # noqa: E402
from services.store.base import Base  # noqa: E402
from services.store.engine import make_engine, make_sessionmaker  # noqa: E402
from services.store.recorder import RECORDER_TABLES, EventRecord  # noqa: E402
from tests.conftest import PG_URL, Broker, free_port  # noqa: E402

TIMEOUT_S = 300.0
BROKER_LIMITS = ("max_queued_messages", "max_inflight_messages", "message_size_limit")


def start_broker(workdir: Path) -> Broker:
    """Mosquitto on a free loopback port with the production config's queue limits."""
    production = (ROOT / "config" / "mosquitto" / "aabent.conf").read_text().splitlines()
    limits = [line for line in production if line.split(" ", 1)[0] in BROKER_LIMITS]
    port = free_port()
    config = workdir / "mosquitto.conf"
    config.write_text(
        "\n".join(
            [
                f"listener {port} 127.0.0.1",
                "allow_anonymous true",
                *limits,
                # As root Mosquitto would switch to a user that cannot read the temp directory.
                f"user {pwd.getpwuid(os.geteuid()).pw_name}",
                "",
            ]
        )
    )
    broker = Broker(port=port, config=config)
    broker.start()
    return broker


def recorder_cpu_s() -> float:
    """CPU seconds (user + system) so far of the recorder's threads in this process."""
    total = 0.0
    for thread in threading.enumerate():
        ours = thread.name == "recorder-writer" or thread.name.startswith("paho-mqtt-client-rec-")
        if ours and thread.native_id is not None:
            try:
                stat = Path(f"/proc/self/task/{thread.native_id}/stat").read_text()
            except OSError:
                continue  # ended meanwhile
            fields = stat.rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _events(n: int, now: datetime) -> list[Event]:
    # A mix like a door's: entries with a pseudonym and reader, counter passes, door moves.
    kinds = [EventType.ACCESS_GRANTED, EventType.OCCUPANCY_IN, EventType.DOOR_OPENED]
    out = []
    for i in range(n):
        kind = kinds[i % len(kinds)]
        details: dict[str, Any] = {"inside": i % 150}
        if kind is EventType.ACCESS_GRANTED:
            details = {"reader": "main.0.em4100", "kind": "card", "message": "Velkommen"}
        credential = f"p:{i % 5000:06x}" if kind is EventType.ACCESS_GRANTED else None
        ts = now + timedelta(milliseconds=i)
        out.append(Event(kind, "main", ts, credential=credential, details=details))
    return out


class Bench:
    """A publisher (the door) and a restartable recorder on one site of one database."""

    def __init__(self, engine: Engine, broker: Broker) -> None:
        Base.metadata.create_all(engine, tables=list(RECORDER_TABLES))
        site = f"bench{uuid.uuid4().hex[:8]}"
        self.settings = Settings.model_validate(
            {"site": {"id": site}, "mqtt": {"port": broker.port, "keepalive": 30}}
        )
        self.topics = Topics(self.settings.mqtt.prefix, site)
        self.sessions = make_sessionmaker(engine)
        self.publisher = MqttBus(
            self.settings.mqtt, f"pub-{site}", "door", self.topics, max_inflight=1000
        )
        self.publisher.start()
        self.recorder, self.bus = self.start_recorder()

    def start_recorder(self) -> tuple[Recorder, MqttBus]:
        """A recorder with the same persistent session as any before it."""
        site = self.settings.site.id
        bus = MqttBus(
            self.settings.mqtt,
            f"rec-{site}",
            COMPONENT,
            self.topics,
            persistent_session=True,
            manual_ack=True,
        )
        recorder = Recorder(self.settings, self.sessions, bus, clock=lambda: datetime.now(UTC))
        recorder.start()
        bus.start()
        if not (bus.wait_connected(10) and self.publisher.wait_connected(10)):
            raise RuntimeError("no broker")
        return recorder, bus

    def stop_recorder(self) -> None:
        """Stop as on SIGTERM: the bus first, then what was received is written."""
        self.recorder.stop()
        self.bus.stop()

    def publish(self, events: list[Event]) -> bool:
        """Publish at QoS 1; True when the broker acknowledged every one."""
        topic = self.topics.door_event("main")
        deliveries = [self.publisher.publish(topic, e.to_json()) for e in events]
        return all(d.wait(TIMEOUT_S) for d in deliveries)

    def wait_stored(self, ids: set[str]) -> set[str]:
        """Wait until every id is in the table (or the timeout); the ids missing."""
        deadline = time.monotonic() + TIMEOUT_S
        while time.monotonic() < deadline:
            missing = ids - self.stored_ids()
            if not missing:
                return missing
            time.sleep(0.05)
        return ids - self.stored_ids()

    def stored_ids(self) -> set[str]:
        """Every event id in the table."""
        with self.sessions() as session:
            return set(session.scalars(select(EventRecord.id)))

    def close(self) -> None:
        """The recorder first: the publisher's goodbye would raise an offline alarm."""
        self.stop_recorder()
        self.publisher.stop()


def measure(engine: Engine, broker: Broker, n: int) -> dict[str, Any]:
    """Throughput of ``n`` events into ``engine``, then loss across a recorder restart."""
    bench = Bench(engine, broker)
    try:
        events = _events(n, datetime.now(UTC))
        cpu = recorder_cpu_s()
        started = time.perf_counter()
        acked = bench.publish(events)
        published_s = time.perf_counter() - started
        deadline = time.monotonic() + TIMEOUT_S
        while bench.recorder.stored < n and time.monotonic() < deadline:
            time.sleep(0.005)
        bench.recorder.wait_idle(TIMEOUT_S)
        elapsed = time.perf_counter() - started
        cpu = recorder_cpu_s() - cpu
        figures = {
            "events_per_s": round(n / elapsed, 1),
            "lost": len({e.id for e in events} - bench.stored_ids()),
            "n": n,
            "seconds": round(elapsed, 3),
            "publish_seconds": round(published_s, 3),
            "recorder_cpu_ms_per_1000": round(1e6 * cpu / n, 1),
            "load": os.getloadavg(),
            "all_acknowledged": acked,
            "duplicates": bench.recorder.duplicates,
            "rejected": bench.recorder.rejected,
        }
        # Half the events while the recorder is down: the broker holds them for its session.
        more = _events(n // 4, datetime.now(UTC))
        half = len(more) // 2
        acked = bench.publish(more[:half])
        bench.stop_recorder()
        acked = bench.publish(more[half:]) and acked
        bench.recorder, bench.bus = bench.start_recorder()
        missing = bench.wait_stored({e.id for e in more})
        figures["restart"] = {"n": len(more), "lost": len(missing), "all_acknowledged": acked}
        return figures
    finally:
        bench.close()


def _postgres(n: int, broker: Broker, url: str) -> dict[str, Any]:
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = make_engine(url)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # no server: say so instead of a figure
        admin.dispose()
        return {"skipped": f"PostgreSQL not reachable: {str(exc).splitlines()[0]}"}
    engine = make_engine(url, connect_args={"options": f"-csearch_path={schema}"})
    try:
        return measure(engine, broker, n)
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, run both backends in a temporary directory, print the figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000, help="events to publish per backend")
    parser.add_argument("--pg", default=PG_URL, help="PostgreSQL URL (a schema is made in it)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="aabent-bench-") as tmp:
        broker = start_broker(Path(tmp))
        try:
            sqlite = make_engine(f"sqlite:///{Path(tmp) / 'recorder.sqlite'}")
            figures = {"sqlite": measure(sqlite, broker, args.n)}
            sqlite.dispose()
            figures["postgresql"] = _postgres(args.n, broker, args.pg)
        finally:
            broker.stop()
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
