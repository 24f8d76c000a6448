"""The recorder against a real Mosquitto, into SQLite and PostgreSQL."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import cast

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from services.bus.client import MqttBus
from services.bus.topics import Topics
from services.core.events import Event, EventType
from services.recorder.notify import Notifier, channels
from services.recorder.recorder import COMPONENT, Recorder
from services.settings import AlarmSettings, Settings, WebhookSettings
from services.store.engine import make_engine, make_sessionmaker
from services.store.recorder import AlarmRecord, ComponentState, EventRecord
from tests.conftest import Broker
from tests.services.recorder.conftest import T0, WebhookServer, event, make_settings, wait_until

NOW = T0 + timedelta(minutes=1)
TIMEOUT = 10.0


class Harness:
    """A door-like publisher and a recorder (restartable) on one site."""

    def __init__(self, broker: Broker, sessions: sessionmaker[Session], site: str) -> None:
        self.settings: Settings = make_settings(site, broker.port)
        self.topics = Topics("aabent", site)
        self.sessions = sessions
        self.client_id = f"recorder-{site}"
        self.door = MqttBus(self.settings.mqtt, f"door-{site}", "door", self.topics)
        self.door.start()
        assert self.door.wait_connected(TIMEOUT)
        self.bus: MqttBus | None = None
        self.recorder: Recorder | None = None

    def start(
        self, notifier: Notifier | None = None, sessions: sessionmaker[Session] | None = None
    ) -> Recorder:
        self.bus = MqttBus(
            self.settings.mqtt,
            self.client_id,
            COMPONENT,
            self.topics,
            persistent_session=True,
            manual_ack=True,
            reconnect_max_s=1,
        )
        self.recorder = Recorder(
            self.settings, sessions or self.sessions, self.bus, clock=lambda: NOW, notifier=notifier
        )
        self.recorder.start()
        self.bus.start()
        assert self.bus.wait_connected(TIMEOUT)
        return self.recorder

    def stop(self, timeout: float = 10.0) -> None:
        if self.recorder is not None:
            self.recorder.stop(timeout)
        if self.bus is not None:
            self.bus.stop()

    def send(self, *events: Event, topic: str | None = None) -> None:
        """Publish events as the door does (QoS 1) and wait for the broker's PUBACKs."""
        deliveries = [
            self.door.publish(topic or self.topics.door_event(e.source), e.to_json())
            for e in events
        ]
        assert all(d.wait(TIMEOUT) for d in deliveries)

    def count(self, model: type[EventRecord] | type[AlarmRecord]) -> int:
        with self.sessions() as session:
            return int(session.scalar(select(func.count()).select_from(model)) or 0)

    def alarms(self) -> list[AlarmRecord]:
        with self.sessions() as session:
            return list(session.scalars(select(AlarmRecord).order_by(AlarmRecord.id)))


@pytest.fixture
def harness(mqtt_broker: Broker, sessions: sessionmaker[Session], site: str) -> Iterator[Harness]:
    h = Harness(mqtt_broker, sessions, site)
    yield h
    h.stop()
    h.door.stop()


def test_every_event_is_stored_once_even_when_delivered_twice(harness: Harness) -> None:
    recorder = harness.start()
    events = [event(EventType.ACCESS_GRANTED, credential="p:01", reader="main.0.em4100")]
    events += [event(EventType.DOOR_OPENED), event(EventType.FIRE_ALARM, "site")]
    harness.send(events[0], events[1])
    harness.send(events[2], topic=harness.topics.site_event)
    harness.send(events[0], events[1])  # a redelivery after a door restart
    harness.send(events[2], topic=harness.topics.site_event)
    assert wait_until(lambda: recorder.stored + recorder.duplicates == 6)
    assert recorder.wait_idle(TIMEOUT)
    assert (recorder.stored, recorder.duplicates) == (3, 3)
    with harness.sessions() as session:
        rows = {r.id: r for r in session.scalars(select(EventRecord))}
    assert set(rows) == {e.id for e in events}
    granted = rows[events[0].id]
    assert (granted.type, granted.source, granted.credential) == ("access.granted", "main", "p:01")
    assert granted.site == harness.settings.site.id and granted.received == NOW
    assert granted.details == {"reader": "main.0.em4100"}
    # The fire alarm was delivered twice but raised once.
    assert [a.kind for a in harness.alarms()] == ["fire"]


def test_retained_states_are_kept_current_per_key(harness: Harness) -> None:
    t = harness.topics
    harness.door.publish_state(t.door_state("main"), b'{"lock":"locked","contact":"closed"}')
    harness.door.publish_state(t.opening, b'{"state":"self-service","until":null}')
    assert harness.door.publish_state(t.occupancy, b'{"inside":4,"capacity":150}').wait(TIMEOUT)
    recorder = harness.start()  # after the states: the broker hands over the retained ones
    harness.door.publish_state(t.door_state("main"), b'{"lock":"unlocked","contact":"closed"}')

    def states() -> dict[str, dict[str, object]]:
        with harness.sessions() as session:
            return {s.key: s.payload for s in session.scalars(select(ComponentState))}

    assert wait_until(lambda: states().get("door/main", {}).get("lock") == "unlocked")
    assert recorder.wait_idle(TIMEOUT)
    assert states() == {
        "door/main": {"lock": "unlocked", "contact": "closed"},
        "opening": {"state": "self-service", "until": None},
        "occupancy": {"inside": 4, "capacity": 150},
        "status/door": {"status": "online"},
        f"status/{COMPONENT}": {"status": "online"},
    }
    assert recorder.stored == 0 and recorder.rejected == {}


def test_door_alarms_are_raised_and_cleared_as_the_door_reports(harness: Harness) -> None:
    recorder = harness.start()
    held = event(EventType.DOOR_HELD_OPEN, seconds=30.0)
    harness.send(event(EventType.DOOR_OPENED), held)
    assert wait_until(lambda: harness.count(AlarmRecord) == 1)
    [alarm] = harness.alarms()
    assert (alarm.kind, alarm.source, alarm.severity, alarm.event_id) == (
        "held_open",
        "main",
        "warning",
        held.id,
    )
    assert alarm.raised_at == T0 and alarm.cleared_at is None
    closed = event(EventType.DOOR_CLOSED, ts=T0 + timedelta(seconds=40))
    harness.send(closed)
    assert wait_until(lambda: harness.alarms()[0].cleared_at is not None)
    assert harness.alarms()[0].cleared_at == closed.ts
    assert recorder.wait_idle(TIMEOUT)


def test_a_door_controller_going_offline_is_a_critical_alarm_sent_out(
    harness: Harness, webhook: WebhookServer
) -> None:
    alarms = AlarmSettings(webhook=WebhookSettings(url=webhook.url))
    notifier = Notifier(channels(alarms), attempts=2, retry_seconds=0.05)
    notifier.start()
    try:
        harness.start(notifier)
        harness.door.stop()  # says "offline" on status/door, as its last will would
        assert wait_until(lambda: [a.kind for a in harness.alarms()] == ["offline"])
        assert webhook.wait_for(1)
        [body] = webhook.bodies
        assert (body["kind"], body["source"], body["severity"]) == ("offline", "door", "critical")
        assert body["site"] == harness.settings.site.id and body["site_name"] == "Testbibliotek"
        harness.door.start()  # back: "online" clears it
        assert wait_until(lambda: harness.alarms()[0].cleared_at is not None)
    finally:
        notifier.stop()
    assert notifier.sent == {"webhook": 1}  # warnings and clearing send nothing


def test_malformed_and_oversized_messages_are_counted_logged_and_not_stored(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    recorder = harness.start()
    t = harness.topics
    caplog.set_level(logging.WARNING, logger="services.recorder.recorder")
    good = event(EventType.DOOR_OPENED)
    big = json.dumps({**good.to_payload(), "details": {"x": "a" * 70000}}).encode()
    bad_id = json.dumps({**good.to_payload(), "id": "1234"}).encode()
    for topic, payload in [
        (t.door_event("main"), b"{oops"),
        (t.door_event("main"), big),
        (t.door_event("main"), bad_id),
        (t.status("kiosk"), b"sleeping"),
        (f"{t.base}/door/main/unknown", b"{}"),
    ]:
        assert harness.door.publish(topic, payload).wait(TIMEOUT)
    harness.send(good)  # after the bad ones, on the same connection: in order
    assert wait_until(lambda: recorder.stored == 1)
    assert recorder.rejected == {"json": 1, "oversized": 1, "event": 1, "status": 1, "topic": 1}
    assert harness.count(EventRecord) == 1
    logged = [r.getMessage() for r in caplog.records]
    assert any(t.door_event("main") in m and "oversized" in m for m in logged)
    assert any(t.status("kiosk") in m and "'sleeping'" in m for m in logged)
    assert all("aaaaaaaa" not in m for m in logged)


def test_nothing_is_lost_while_the_recorder_restarts(harness: Harness) -> None:
    harness.start()
    first = [event(EventType.OCCUPANCY_IN, inside=i) for i in range(20)]
    harness.send(*first)
    assert wait_until(lambda: harness.count(EventRecord) == 20)
    harness.stop()
    while_away = [event(EventType.OCCUPANCY_IN, inside=i) for i in range(20, 220)]
    harness.send(*while_away)  # the broker keeps them for the recorder's persistent session
    recorder = harness.start()
    assert wait_until(lambda: harness.count(EventRecord) == 220, timeout=20)
    assert recorder.wait_idle(TIMEOUT)
    assert recorder.stored == 200
    assert recorder.duplicates == 0  # a clean stop acknowledged all it had stored
    with harness.sessions() as session:
        ids = set(session.scalars(select(EventRecord.id)))
    assert ids == {e.id for e in first + while_away}


def test_nothing_received_is_acknowledged_before_it_is_stored(
    harness: Harness, tmp_path: Path
) -> None:
    # A recorder that cannot commit (its database cannot even be opened) and then goes away
    # must leave every message with the broker, as after a kill -9 between receipt and commit.
    nowhere = make_engine(f"sqlite:///{tmp_path / 'no such folder' / 'recorder.sqlite'}")
    doomed = harness.start(sessions=make_sessionmaker(nowhere))
    sent = [event(EventType.OCCUPANCY_IN, inside=i) for i in range(10)]
    harness.send(*sent)
    assert wait_until(lambda: cast(int, doomed.counters()["queued"]) >= 10)
    harness.stop(timeout=0.5)
    assert doomed.stored == 0
    recorder = harness.start()  # the same session: the broker sends them all again
    assert wait_until(lambda: harness.count(EventRecord) == 10, timeout=20)
    assert recorder.wait_idle(TIMEOUT) and recorder.stored == 10
    nowhere.dispose()


def test_an_event_already_past_retention_is_stored_without_identifying_detail(
    harness: Harness,
) -> None:
    recorder = harness.start()
    old = event(
        EventType.ACCESS_GRANTED,
        ts=NOW - timedelta(days=45),
        credential="p:77",
        reader="main.0.em4100",
        kind="card",
    )
    harness.send(old)
    assert wait_until(lambda: recorder.stored == 1)
    with harness.sessions() as session:
        row = session.get(EventRecord, old.id)
    assert row is not None and row.credential is None and row.details == {"kind": "card"}


def test_events_forged_on_a_kiosk_topic_are_refused_counted_and_not_counted_as_visits(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    recorder = harness.start()
    kiosk = harness.topics.kiosk_event("foyer")
    forged = [event(EventType.DOOR_FORCED_OPEN, "main")]
    forged += [event(EventType.OCCUPANCY_IN, "main", door="main") for _ in range(20)]
    checkin = event(EventType.ACTIVITY_CHECKIN, "foyer", activity_uid="a1")
    with caplog.at_level(logging.WARNING):
        harness.send(*forged, checkin, topic=kiosk)
        assert wait_until(lambda: recorder.stored == 1)
        assert recorder.wait_idle(TIMEOUT)
    assert recorder.rejected == {"forbidden": 21}
    assert harness.alarms() == []  # no forced door
    with harness.sessions() as session:
        # The statistics count visits from the stored occupancy.in events: none were stored.
        assert list(session.scalars(select(EventRecord.id))) == [checkin.id]
    assert "forbidden" in caplog.text and "door.forced_open" in caplog.text
