"""Staff commands: payloads the door accepts, the audit trail and outcomes (commands.py)."""

from __future__ import annotations

import json
import queue
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from services.bus.client import MqttBus
from services.bus.topics import Topics
from services.core.commands import Command, SeenIds, parse_command
from services.core.events import Event, EventType
from services.dashboard.commands import (
    Commander,
    CommandError,
    StaffAction,
    command_payload,
    recent_commands,
)
from services.settings import MqttSettings
from services.store.dashboard import CommandAudit
from services.store.recorder import EventRecord
from tests.conftest import Broker

NOW = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
TOPICS = Topics("aabent", "test")


@pytest.mark.parametrize(
    ("action", "seconds", "expected"),
    [
        (StaffAction.UNLOCK, 60, {"action": "unlock", "seconds": 60}),
        (StaffAction.LOCK, None, {"action": "lock"}),
        (StaffAction.LOCKDOWN, None, {"action": "mode", "mode": "lockdown"}),
        (StaffAction.END_LOCKDOWN, None, {"action": "mode", "mode": "normal"}),
    ],
)
def test_every_action_is_a_command_the_door_accepts(
    action: StaffAction, seconds: int | None, expected: dict[str, object]
) -> None:
    payload = command_payload(
        action,
        command_id="0b7f5e2c-3c4b-4e8e-9d7a-2f1a6c3b9e10",
        now=NOW,
        by="staff:anne",
        reason="delivery",
        seconds=seconds,
    )
    assert expected.items() <= payload.items()
    parsed = parse_command(
        json.dumps(payload).encode(), door="main", now=NOW, max_age_s=10, seen=SeenIds()
    )
    assert isinstance(parsed, Command) and parsed.by == "staff:anne"


class _Wire:
    """A real bus on the test broker and a listener on the command topics."""

    def __init__(self, broker: Broker) -> None:
        settings = MqttSettings(port=broker.port)
        self.bus = MqttBus(settings, "test-dashboard", "dashboard", TOPICS)
        self.listener = MqttBus(settings, "test-door", "door", TOPICS)
        self.received: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self.listener.subscribe(TOPICS.all_door_commands, lambda t, p: self.received.put((t, p)))
        for bus in (self.bus, self.listener):
            bus.start()
            assert bus.wait_connected(5)

    def stop(self) -> None:
        self.bus.stop()
        self.listener.stop()


@pytest.fixture
def wire(mqtt_broker: Broker) -> Iterator[_Wire]:
    w = _Wire(mqtt_broker)
    yield w
    w.stop()


def _commander(
    db: sessionmaker[Session],
    wire: _Wire,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    connected: Callable[[], bool] | None = None,
) -> Commander:
    return Commander(
        lambda topic, raw: wire.bus.publish(topic, raw),
        TOPICS,
        db,
        lambda site: {"main"} if site == "test" else set(),
        clock,
        10.0,
        connected=connected or (lambda: wire.bus.connected),
    )


def test_command_is_audited_then_sent_and_its_outcome_recorded(
    db: sessionmaker[Session], wire: _Wire
) -> None:
    commander = _commander(db, wire)
    audit = commander.send("anne", "test", "main", StaffAction.UNLOCK, " parcel delivery ", 90)
    topic, raw = wire.received.get(timeout=5)
    sent = json.loads(raw)
    assert topic == TOPICS.door_command("main")
    assert sent["id"] == audit.command_id and sent["seconds"] == 90
    assert sent["by"] == "staff:anne" and sent["reason"] == "parcel delivery"
    with db() as s:
        row = s.get(CommandAudit, audit.command_id)
        assert row is not None and row.result == "pending" and row.username == "anne"
    done = Event(
        EventType.COMMAND_REJECTED,
        "main",
        datetime.now(UTC),
        reason="door is in lockdown",
        details={"command_id": audit.command_id},
    )
    commander.outcome(done)
    with db() as s:
        row = s.get(CommandAudit, audit.command_id)
        assert row is not None and row.result == "rejected"
        assert row.result_reason == "door is in lockdown"


def test_commands_without_reason_or_for_unknown_doors_are_not_sent(
    db: sessionmaker[Session], wire: _Wire
) -> None:
    commander = _commander(db, wire)
    with pytest.raises(CommandError, match="reason"):
        commander.send("anne", "test", "main", StaffAction.LOCK, "   ", None)
    with pytest.raises(CommandError, match="no door"):
        commander.send("anne", "test", "attic", StaffAction.LOCK, "test", None)
    with pytest.raises(CommandError, match="seconds"):
        commander.send("anne", "test", "main", StaffAction.UNLOCK, "test", 0)
    with pytest.raises(queue.Empty):
        wire.received.get(timeout=0.3)


def test_outcome_of_someone_elses_command_changes_nothing(
    db: sessionmaker[Session], wire: _Wire
) -> None:
    commander = _commander(db, wire)
    event = Event(
        EventType.COMMAND_DONE,
        "main",
        NOW + timedelta(seconds=1),
        details={"command_id": "5a0c3f0e-0000-4000-8000-000000000000"},
    )
    assert commander.outcome(event) is None
    assert commander.outcome(Event(EventType.DOOR_OPENED, "main", NOW)) is None


def test_outcome_missed_live_is_taken_from_the_recorded_events(
    db: sessionmaker[Session], wire: _Wire
) -> None:
    audit = _commander(db, wire).send("anne", "test", "main", StaffAction.LOCK, "closing", None)
    with db() as s, s.begin():
        s.add(
            EventRecord(
                id=str(uuid.uuid4()),
                site="test",
                ts=NOW,
                type="command.done",
                source="main",
                reason="closing",
                credential=None,
                command_id=audit.command_id,
                details={},
                received=NOW,
            )
        )
    with db() as s, s.begin():
        rows = recent_commands(s)
    assert [(r.command_id, r.result) for r in rows] == [(audit.command_id, "done")]
    with db() as s:
        stored = s.get(CommandAudit, audit.command_id)
        assert stored is not None and stored.result == "done"


def test_a_command_while_the_broker_is_away_is_not_delivered_and_not_sent_later(
    db: sessionmaker[Session], wire: _Wire
) -> None:
    commander = _commander(db, wire, connected=lambda: False)
    audit = commander.send("anne", "test", "main", StaffAction.UNLOCK, "parcel", 60)
    assert audit.result == "undelivered"
    with db() as s:
        row = s.get(CommandAudit, audit.command_id)
        assert row is not None and row.result == "undelivered" and row.result_reason
    with pytest.raises(queue.Empty):
        wire.received.get(timeout=0.3)


def test_a_command_the_door_never_answers_ends_as_not_delivered(
    db: sessionmaker[Session], wire: _Wire
) -> None:
    now = [datetime.now(UTC)]
    commander = _commander(db, wire, clock=lambda: now[0])
    settled: list[CommandAudit] = []
    commander.add_listener(settled.append)
    audit = commander.send("anne", "test", "main", StaffAction.LOCK, "closing", None)
    assert commander.expire() == 0  # still within the door's age limit
    now[0] += timedelta(seconds=commander.answer_timeout_s + 1)
    assert commander.expire() == 1
    assert [(a.command_id, a.result) for a in settled] == [(audit.command_id, "undelivered")]
    with db() as s, s.begin():
        rows = recent_commands(s)
        assert [(r.command_id, r.result) for r in rows] == [(audit.command_id, "undelivered")]


def test_a_pending_command_left_by_a_restart_is_read_as_not_delivered(
    db: sessionmaker[Session], wire: _Wire
) -> None:
    old = datetime.now(UTC) - timedelta(hours=1)
    audit = _commander(db, wire, clock=lambda: old).send(
        "anne", "test", "main", StaffAction.LOCK, "x", None
    )
    with db() as s, s.begin():
        rows = recent_commands(s, now=datetime.now(UTC), timeout_s=15.0)
    assert [(r.command_id, r.result) for r in rows] == [(audit.command_id, "undelivered")]
