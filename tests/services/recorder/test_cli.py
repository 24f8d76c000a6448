"""``aabent recorder`` as a process until SIGTERM; ``aabent retention run``; ``aabent stats``."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from services.bus.client import MqttBus
from services.bus.topics import Topics
from services.cli.main import main
from services.core.events import EventType
from services.store.base import Base
from services.store.engine import make_engine, make_sessionmaker
from services.store.recorder import EventRecord, event_row, insert_events
from services.store.schema import create_schema
from tests.conftest import Broker
from tests.services.recorder.conftest import TABLES, event, make_settings, wait_until

ROOT = Path(__file__).parents[3]


@pytest.fixture
def config(tmp_path: Path, mqtt_broker: Broker, site: str) -> Iterator[Path]:
    """Settings for ``site``, with a migrated SQLite database holding the recorder's tables."""
    database = tmp_path / "aabent.sqlite"
    file = tmp_path / "aabent.toml"
    file.write_text(
        f'[site]\nid = "{site}"\nname = "CLI-bibliotek"\ndata_dir = "{tmp_path}"\n'
        f"[mqtt]\nport = {mqtt_broker.port}\nkeepalive = 5\n"
        f'[store]\nurl = "sqlite:///{database}"\n'
        "[retention]\ndays = 30\n"
        "[doors.main]\nlock_pin = 17\n"
    )
    engine = make_engine(f"sqlite:///{database}")
    create_schema(engine)  # first: once the recorder's migration exists it makes the tables
    Base.metadata.create_all(engine, tables=list(TABLES), checkfirst=True)
    engine.dispose()
    yield file


def _sessions(config: Path) -> sessionmaker[Session]:
    url = next(line for line in config.read_text().splitlines() if line.startswith("url"))
    return make_sessionmaker(make_engine(url.split('"')[1]))


def test_the_recorder_process_records_until_sigterm_and_publishes_discovery(
    config: Path, mqtt_broker: Broker, site: str
) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "services.cli.main", "-c", str(config), "recorder"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    topics = Topics("aabent", site)
    door = MqttBus(make_settings(site, mqtt_broker.port).mqtt, f"door-{site}", "door", topics)
    discovered = threading.Event()
    door.subscribe(
        f"homeassistant/lock/aabent_{site}/main_lock/config", lambda *_: discovered.set()
    )
    door.start()
    try:
        assert proc.stdout is not None and "recorder ready" in proc.stdout.readline()
        assert door.wait_connected(10) and discovered.wait(10)
        events = [event(EventType.OCCUPANCY_IN, ts=datetime.now(UTC), inside=i) for i in range(5)]
        for e in events:
            assert door.publish(topics.door_event("main"), e.to_json()).wait(10)
        sessions = _sessions(config)

        def stored() -> set[str]:
            with sessions() as session:
                return set(session.scalars(select(EventRecord.id)))

        assert wait_until(lambda: stored() == {e.id for e in events})
    finally:
        door.stop()
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "recorder stopped" in err and "'stored': 5" in err


def test_retention_run_purges_once(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = event(
        EventType.ACCESS_GRANTED,
        ts=datetime.now(UTC) - timedelta(days=31),
        credential="p:1",
        reader="main.0.em4100",
    )
    sessions = _sessions(config)
    with sessions.begin() as session:
        insert_events(session, [event_row(old, "x", old.ts)])
    assert main(["-c", str(config), "retention", "run"]) == 0
    assert "retention: 1 events stripped, 0 PIN rows deleted" in capsys.readouterr().out
    with sessions() as session:
        row = session.get(EventRecord, old.id)
        assert row is not None and row.credential is None and row.details == {}


def test_stats_yearly_prints_csv(
    config: Path, site: str, capsys: pytest.CaptureFixture[str]
) -> None:
    visit = event(EventType.OCCUPANCY_IN, ts=datetime(2026, 5, 4, 10, tzinfo=UTC), inside=1)
    sessions = _sessions(config)
    with sessions.begin() as session:
        insert_events(session, [event_row(visit, site, visit.ts)])
    assert main(["-c", str(config), "stats", "yearly", "2026"]) == 0
    header, row = capsys.readouterr().out.splitlines()
    assert header.split(",")[:3] == ["year", "visits", "card_entries"]
    assert row.split(",")[:3] == ["2026", "1", "0"]
