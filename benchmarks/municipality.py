"""A municipality through bridges into one recorder on PostgreSQL; prints one JSON object.

    .venv/bin/python benchmarks/municipality.py [--branches 50] [--rate 2500] [--cut-s 60]
        [--before-s 15] [--after-s 30] [--pg URL]

Every branch is a real Mosquitto of its own (no multiplexing: ``branch_brokers`` equals
``branches``) bridged to one central Mosquitto by the bridge section ``aabent broker bridge``
writes (QoS 1, persistent session; plain TCP on loopback). Each branch has two doors; a
publisher process sends their events at QoS 1 to the branch brokers, ``--rate`` events a second
in all, spread evenly. The municipality's :class:`Recorder` (``all_sites``) reads the central
broker into a fresh schema of the PostgreSQL ``test`` database.

One branch's line to the centre goes through a TCP relay that is cut for ``--cut-s`` seconds
after ``--before-s`` and restored; the run goes on ``--after-s`` more. Figures:

- ``events_per_s``: events stored over the time from the first publish to the last commit.
- ``lag_p95_ms``: a door's publish (the event's ts) to its batch committed, p95 over the events
  published while no bridge was cut (before the cut, and after the cut branch's backlog had
  crossed); ``lag_p95_ms_during_cut`` over the other branches' events during the cut. Of the
  same events, ``lag_p95_ms_to_recorder`` is the way to the recorder (publish to received) and
  ``lag_p95_ms_in_recorder`` the recorder's part (received to committed); ``batch_p50``/``_p95``
  and ``commit_ms_p50``/``_p95`` are the messages per commit and how long one took.
- ``lost`` (published ids missing from the table), ``duplicates_stored`` (rows minus distinct
  ids), ``out_of_order`` (events of a door committed before an earlier one of the same door).
- ``recorder_stalls``: how often the broker held messages back on a healthy connection and the
  recorder's bus reconnected to get them (``MqttBus._watch``, ``mqtt.stall_s``).
- ``backlog_events`` and ``backlog_drain_s``: what the cut branch had queued, and how long it
  took to arrive once the line was back.
- ``cpu_s``: CPU seconds (user + system) of each part over the run, so the recorder's share of
  a shared machine shows: the recorder (this process; its writer and MQTT threads apart), the
  publisher process, the branch brokers, the central broker and the recorder's PostgreSQL
  backends. ``recorder_cpu_ms_per_1000`` is the recorder's over the events stored.
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import os
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # for tests.municipality: the same brokers the tests use

from sqlalchemy import Engine, select, text  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

from services.bus.client import MqttBus  # noqa: E402
from services.bus.topics import Topics  # noqa: E402
from services.core.events import Event, EventType  # noqa: E402
from services.recorder.batch import Outcome, Received  # noqa: E402
from services.recorder.inbox import EventItem  # noqa: E402
from services.recorder.recorder import COMPONENT, Recorder  # noqa: E402
from services.settings import MqttSettings, Settings  # noqa: E402
from services.store.base import Base  # noqa: E402
from services.store.engine import make_engine, make_sessionmaker  # noqa: E402
from services.store.recorder import RECORDER_TABLES, EventRecord  # noqa: E402
from tests.conftest import PG_URL  # noqa: E402
from tests.municipality import CENTRAL_SITE, PREFIX, Branch, Central, make_ca  # noqa: E402

DOORS = ("main", "side")
NAMESPACE = uuid.UUID("8f6b1f9e-5a63-4a53-9a38-6c1f0e2b7d10")


def event_id(site: str, door: str, n: int) -> str:
    """The id of a door's n-th event: the publisher and the count agree without a list."""
    return str(uuid.uuid5(NAMESPACE, f"{site}/{door}/{n}"))


def site_name(i: int) -> str:
    return f"b{i:02d}"


class TimedRecorder(Recorder):
    """The recorder, noting when each event's batch was committed (for the lag)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # site, id, published, committed, received by the recorder
        self.committed: list[tuple[str, str, float, float, float]] = []
        self.commits: list[tuple[int, float]] = []  # messages in the batch, seconds it took

    def _commit(self, batch: Sequence[Received]) -> Outcome:
        started = time.perf_counter()
        outcome = super()._commit(batch)
        self.commits.append((len(batch), time.perf_counter() - started))
        now = time.time()
        for r in batch:
            if isinstance(r.item, EventItem):
                e = r.item.event
                self.committed.append(
                    (r.site or "", e.id, e.ts.timestamp(), now, r.received.timestamp())
                )
        return outcome


def cpu_of(pid: int | str, thread: int | None = None) -> float:
    """CPU seconds (user + system) a process, or one of its threads, has used; 0 once gone."""
    path = f"/proc/{pid}/stat" if thread is None else f"/proc/{pid}/task/{thread}/stat"
    try:
        fields = Path(path).read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def recorder_threads() -> dict[str, float]:
    """CPU seconds so far of this process's threads that belong to the recorder."""
    found: dict[str, float] = {}
    for t in threading.enumerate():
        name = (
            "writer"
            if t.name == "recorder-writer"
            else "mqtt"
            if "recorder-bench" in t.name
            else None
        )
        if name is not None and t.native_id is not None:
            found[name] = found.get(name, 0.0) + cpu_of("self", t.native_id)
    return found


def publish(
    ports: list[int], rate: float, seconds: float, counts: Any, ready: Any, cpu: Any
) -> None:
    """The publisher process: every branch's two doors, ``rate`` events a second in all."""
    logging.disable(logging.WARNING)
    buses = []
    for i, port in enumerate(ports):
        topics = Topics(PREFIX, site_name(i))
        bus = MqttBus(
            MqttSettings(port=port, keepalive=30), f"doors-{i}", "door-1", topics, max_inflight=200
        )
        bus.start()
        buses.append((topics, bus))
    for _, bus in buses:
        bus.wait_connected(30)
    ready.set()
    n = [[0, 0] for _ in buses]
    tick = 0.01
    per_tick = rate * tick / (2 * len(buses))
    due = 0.0
    start = time.monotonic()
    ticks = 0
    while time.monotonic() - start < seconds:
        ticks += 1
        due += per_tick
        while due >= 1:
            due -= 1
            for i, (topics, bus) in enumerate(buses):
                for d, door in enumerate(DOORS):
                    e = Event(
                        EventType.ACCESS_GRANTED,
                        door,
                        datetime.now(UTC),
                        credential=f"p:{n[i][d]:06x}",
                        details={"n": n[i][d]},
                        id=event_id(topics.site, door, n[i][d]),
                    )
                    bus.publish(topics.door_event(door), e.to_json())
                    n[i][d] += 1
        time.sleep(max(0.0, start + ticks * tick - time.monotonic()))
    time.sleep(2)  # the last PUBACKs
    for i, _ in enumerate(buses):
        counts[2 * i], counts[2 * i + 1] = n[i]
    times = os.times()
    cpu.value = times.user + times.system
    for _, bus in buses:
        bus.stop()


def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


def run(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="aabent-muni-"))
    sites = [site_name(i) for i in range(args.branches)]
    central = Central(work / "central", sites, make_ca(work / "ca")).start()
    cut_site = sites[0]
    branches = [
        Branch(work / s, s, central, tls=False, via_link=s == cut_site).start() for s in sites
    ]
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = make_engine(args.pg)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(
        args.pg, connect_args={"options": f"-csearch_path={schema}", "application_name": schema}
    )
    Base.metadata.create_all(engine, tables=list(RECORDER_TABLES))
    sessions: sessionmaker[Session] = make_sessionmaker(engine)
    secret = work / "server.password"
    secret.write_text(central.password("server"))
    login = MqttSettings(port=central.port, username="server", password_file=secret, keepalive=30)
    settings = Settings.model_validate(
        {
            "site": {"id": CENTRAL_SITE, "name": "Kommunen"},
            "recorder": {"all_sites": True}
            | ({} if args.batch_size is None else {"batch_size": args.batch_size}),
        }
    ).model_copy(update={"mqtt": login})
    bus = MqttBus(login, "aabent-recorder-bench", COMPONENT, Topics(PREFIX, CENTRAL_SITE),
                  persistent_session=True, manual_ack=True, reconnect_max_s=1)  # fmt: skip
    recorder = TimedRecorder(settings, sessions, bus, clock=lambda: datetime.now(UTC))
    recorder.start()
    bus.start()
    bus.wait_connected(30)
    total_s = args.before_s + args.cut_s + args.after_s
    counts = multiprocessing.Array("l", 2 * len(sites))
    publisher_cpu = multiprocessing.Value("d", 0.0)
    ready = multiprocessing.Event()
    ports = [b.port for b in branches]
    proc = multiprocessing.Process(
        target=publish, args=(ports, args.rate, total_s, counts, ready, publisher_cpu)
    )
    proc.start()
    ready.wait(60)
    brokers = [b.broker for b in branches if b.broker is not None]
    assert central.broker is not None and central.broker.proc is not None
    cpu_before = {
        "recorder": _own_cpu(),
        "branch_brokers": sum(cpu_of(b.proc.pid) for b in brokers if b.proc is not None),
        "central_broker": cpu_of(central.broker.proc.pid),
        "postgresql": _backends_cpu(admin, schema),
        **recorder_threads(),
    }
    t0 = time.time()
    time.sleep(args.before_s)
    link = branches[0].link
    assert link is not None
    cut_at = time.time()
    link.cut()
    time.sleep(args.cut_s)
    restored_at = time.time()
    link.restore()
    proc.join()
    expected = {
        event_id(s, door, n)
        for i, s in enumerate(sites)
        for d, door in enumerate(DOORS)
        for n in range(counts[2 * i + d])
    }
    # Wait while the recorder makes progress: what the central broker still holds for it is
    # late, not lost. Lost is what is missing once nothing has arrived for 30 s.
    seen, quiet_since = -1, time.monotonic()
    while recorder.stored < len(expected) and time.monotonic() - quiet_since < 30:
        if recorder.stored != seen:
            seen, quiet_since = recorder.stored, time.monotonic()
        time.sleep(0.5)
    recorder.wait_idle(30)
    cpu_after = {
        "recorder": _own_cpu(),
        "branch_brokers": sum(cpu_of(b.proc.pid) for b in brokers if b.proc is not None),
        "central_broker": cpu_of(central.broker.proc.pid),
        "postgresql": _backends_cpu(admin, schema),
        **recorder_threads(),
    }
    cpu = {k: round(cpu_after[k] - cpu_before.get(k, 0.0), 2) for k in cpu_after}
    cpu["publisher"] = round(publisher_cpu.value, 2)  # its whole life: connecting is small
    with sessions() as session:
        rows = session.execute(
            select(EventRecord.id, EventRecord.site, EventRecord.source, EventRecord.details)
            .order_by(EventRecord.received)
        ).all()  # fmt: skip
    distinct = len({r[0] for r in rows})  # the primary key makes it len(rows); checked anyway
    last_n: dict[tuple[str, str], int] = {}
    out_of_order = 0
    for _, site, source, details in rows:
        n = int(details["n"])
        if n < last_n.get((site, source), -1):
            out_of_order += 1
            if os.environ.get("BENCH_DEBUG"):
                print("out of order", site, source, n, last_n[(site, source)], file=sys.stderr)
        last_n[(site, source)] = max(n, last_n.get((site, source), -1))
    committed = recorder.committed
    cut_rows = [c for c in committed if c[0] == cut_site and c[2] < restored_at]
    drained_at = max((c[3] for c in cut_rows), default=restored_at)
    calm = [c for c in committed if c[2] < cut_at or c[2] > drained_at]
    quiet = [c[3] - c[2] for c in calm]
    during = [c[3] - c[2] for c in committed if cut_at <= c[2] <= restored_at and c[0] != cut_site]
    backlog = [c for c in cut_rows if c[2] >= cut_at]
    stored_ids = {r[0] for r in rows}
    last_commit = max((c[3] for c in committed), default=t0)
    result = {
        "branches": len(sites),
        "doors_per_branch": len(DOORS),
        "branch_brokers": len(branches),
        "bridge": "mosquitto 2.0 bridges, plain TCP on loopback, QoS 1, cleansession false",
        "database": "postgresql",
        "offered_per_s": args.rate,
        "published": len(expected),
        "stored": len(stored_ids),
        "events_per_s": round(len(stored_ids) / max(last_commit - t0, 1e-9), 1),
        "lag_p50_ms": _ms(percentile(quiet, 0.50)),
        "lag_p95_ms": _ms(percentile(quiet, 0.95)),
        "lag_p95_ms_during_cut": _ms(percentile(during, 0.95)),
        # The same events' way to the recorder (publisher, branch broker, bridge, centre) and
        # the recorder's own part (received to committed): where the lag comes from.
        "lag_p95_ms_to_recorder": _ms(percentile([c[4] - c[2] for c in calm], 0.95)),
        "lag_p95_ms_in_recorder": _ms(percentile([c[3] - c[4] for c in calm], 0.95)),
        "batch_p50": percentile([float(n) for n, _ in recorder.commits], 0.50),
        "batch_p95": percentile([float(n) for n, _ in recorder.commits], 0.95),
        "commit_ms_p50": _ms(percentile([t for _, t in recorder.commits], 0.50)),
        "commit_ms_p95": _ms(percentile([t for _, t in recorder.commits], 0.95)),
        "lost": len(expected - stored_ids),
        "duplicates_stored": len(rows) - distinct,
        "redelivered_skipped": recorder.duplicates,
        "recorder_stalls": bus.stalls,  # stuck in-flight windows the bus reconnected out of
        "out_of_order": out_of_order,
        "cut_s": args.cut_s,
        "backlog_events": len(backlog),
        "backlog_drain_s": round(drained_at - restored_at, 2),
        "recorder_cpu_ms_per_1000": round(1e6 * cpu["recorder"] / max(len(stored_ids), 1), 1),
        "cpu_s": cpu,
        "seconds": round(last_commit - t0, 1),
        "load": os.getloadavg(),
    }
    recorder.stop()
    bus.stop()
    for branch in branches:
        branch.stop()
    central.stop()
    engine.dispose()
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()
    return result


def _own_cpu() -> float:
    times = os.times()
    return times.user + times.system


def _backends_cpu(admin: Engine, schema: str) -> float:
    """CPU seconds of the PostgreSQL backends serving the recorder (named after its schema)."""
    with admin.connect() as conn:
        pids = conn.execute(
            text("SELECT pid FROM pg_stat_activity WHERE application_name = :name"),
            {"name": schema},
        ).scalars()
        return sum(cpu_of(pid) for pid in pids)


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--branches", type=int, default=50)
    parser.add_argument("--rate", type=float, default=2500.0, help="events a second, in all")
    parser.add_argument("--cut-s", type=float, default=60.0, help="how long one bridge is cut")
    parser.add_argument("--before-s", type=float, default=15.0)
    parser.add_argument("--after-s", type=float, default=30.0)
    parser.add_argument("--pg", default=PG_URL)
    parser.add_argument("--batch-size", type=int, help="recorder.batch_size (default: settings)")
    logging.basicConfig(level=getattr(logging, os.environ.get("BENCH_LOG", "ERROR")))
    print(json.dumps(run(parser.parse_args()), indent=2))


if __name__ == "__main__":
    main()
