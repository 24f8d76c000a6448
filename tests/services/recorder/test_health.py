"""The recorder's health row (services/recorder/health.py): the counters the dashboard shows,
written by the running service at start, every ``recorder.health_every_s`` and at stop, against
a real Mosquitto into SQLite and PostgreSQL; a failed write is logged once and tried again."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime
from typing import Any, cast

import pytest
from pydantic import ValidationError
from sqlalchemy import Engine, Table, text
from sqlalchemy.orm import Session, sessionmaker

from services.bus.client import MqttBus
from services.bus.topics import Topics
from services.core.events import EventType
from services.recorder.service import RecorderService
from services.settings import Settings
from services.store.base import Base
from services.store.recorder import ComponentState
from tests.conftest import Broker
from tests.services.recorder.conftest import event, make_settings, wait_until

EVERY_S = 0.2
TIMEOUT = 10.0


def _settings(site: str, broker: Broker, instance: str = "a") -> Settings:
    return make_settings(
        site,
        broker.port,
        recorder={
            "health_every_s": EVERY_S,
            "homeassistant_discovery": False,
            "instance": instance,
        },
    )


def _row(sessions: sessionmaker[Session], site: str, key: str) -> tuple[dict[str, Any], datetime]:
    with sessions() as session:
        state = session.get(ComponentState, (site, key))
        return ({}, datetime.min) if state is None else (dict(state.payload), state.updated)


@pytest.fixture
def service(
    mqtt_broker: Broker, engine: Engine, sessions: sessionmaker[Session], site: str
) -> Iterator[RecorderService]:
    Base.metadata.create_all(engine)  # the lists and rooms the service also keeps
    svc = RecorderService(_settings(site, mqtt_broker), sessions)
    svc.start()
    assert svc.bus.wait_connected(TIMEOUT)
    yield svc
    svc.stop()


def test_the_counters_are_written_at_start_every_period_and_at_stop(
    service: RecorderService, sessions: sessionmaker[Session], site: str
) -> None:
    key = "health/recorder/a"
    assert service.health.key == key
    assert wait_until(lambda: bool(_row(sessions, site, key)[0]), TIMEOUT)
    first, first_at = _row(sessions, site, key)
    assert first["stored"] == 0 and first["queued"] == 0 and first["stalls"] == 0
    assert first["instance"] == "a" and first["stopped"] is False

    door = MqttBus(service.settings.mqtt, f"door-{site}", "door", Topics("aabent", site))
    door.start()
    assert door.wait_connected(TIMEOUT)
    e = event(EventType.DOOR_OPENED)
    assert door.publish(Topics("aabent", site).door_event("main"), e.to_json()).wait(TIMEOUT)
    door.stop()
    assert wait_until(lambda: _row(sessions, site, key)[0].get("stored") == 1, TIMEOUT)
    assert _row(sessions, site, key)[1] > first_at  # rewritten, not only once
    written = service.health.written
    assert wait_until(lambda: service.health.written >= written + 2, TIMEOUT)

    service.stop()
    last, _ = _row(sessions, site, key)
    assert last["stopped"] is True and last["stored"] == 1 and last["rejected"] == {}


def test_two_recorders_on_one_database_have_a_row_each(
    mqtt_broker: Broker, engine: Engine, sessions: sessionmaker[Session], site: str
) -> None:
    Base.metadata.create_all(engine)
    a = RecorderService(_settings(site, mqtt_broker, "a"), sessions)
    b = RecorderService(_settings(site, mqtt_broker, "b"), sessions)
    for svc in (a, b):
        svc.start()
    try:
        assert wait_until(lambda: bool(_row(sessions, site, "health/recorder/b")[0]), TIMEOUT)
        assert _row(sessions, site, "health/recorder/a")[0]["instance"] == "a"
        assert _row(sessions, site, "health/recorder/b")[0]["instance"] == "b"
    finally:
        for svc in (a, b):
            svc.stop()


def test_a_failed_write_is_logged_once_and_the_thread_keeps_going(
    service: RecorderService,
    engine: Engine,
    sessions: sessionmaker[Session],
    site: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    key = service.health.key
    assert wait_until(lambda: bool(_row(sessions, site, key)[0]), TIMEOUT)
    table = cast(Table, ComponentState.__table__)
    caplog.set_level(logging.WARNING, logger="services.recorder.health")
    table.drop(engine)  # every write fails now, period after period
    assert wait_until(lambda: caplog.text.count("not written") >= 1, TIMEOUT)
    start = service.health.written
    # Several periods pass; nothing written, one line in the log.
    wait_until(lambda: False, 5 * EVERY_S)
    assert service.health.written == start
    assert caplog.text.count("not written") == 1

    table.create(engine)
    assert wait_until(lambda: bool(_row(sessions, site, key)[0]), TIMEOUT)
    assert "written again" in caplog.text
    assert service.health._thread.is_alive()


def test_a_stuck_writer_still_shows_its_queue_growing_older(
    service: RecorderService, engine: Engine, sessions: sessionmaker[Session], site: str
) -> None:
    """PostgreSQL: the events table locked by another transaction holds the writer's insert;
    the health row, another table in another transaction, still says what waits and how long."""
    if engine.dialect.name != "postgresql":
        pytest.skip("a lock on one table is PostgreSQL's; SQLite locks the whole file")
    key = service.health.key
    with engine.connect() as locker:
        locker.execute(text("LOCK TABLE events IN ACCESS EXCLUSIVE MODE"))
        door = MqttBus(service.settings.mqtt, f"door-{site}", "door", Topics("aabent", site))
        door.start()
        assert door.wait_connected(TIMEOUT)
        topic = Topics("aabent", site).door_event("main")
        assert door.publish(topic, event(EventType.DOOR_OPENED).to_json()).wait(TIMEOUT)
        door.stop()
        # The event and the door bus's retained status messages, all waiting for the writer.
        assert wait_until(lambda: _row(sessions, site, key)[0].get("queued", 0) >= 1, TIMEOUT)
        first = _row(sessions, site, key)[0]["waiting_s"]
        assert wait_until(lambda: _row(sessions, site, key)[0]["waiting_s"] > first + 0.3)
        assert _row(sessions, site, key)[0]["stored"] == 0
        locker.rollback()
    assert wait_until(lambda: _row(sessions, site, key)[0].get("stored") == 1, TIMEOUT)
    assert _row(sessions, site, key)[0]["queued"] == 0


def test_the_period_is_thirty_seconds_by_default_and_must_be_positive(site: str) -> None:
    settings = make_settings(site)
    assert settings.recorder.health_every_s == 30 and settings.recorder.health_stale_s == 90
    for wrong in (0, -1, 3601):
        with pytest.raises(ValidationError, match="health_every_s"):
            make_settings(site, recorder={"health_every_s": wrong})
