"""One batch into SQLite and PostgreSQL: once per id, in arrival order, last state wins."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from services.core.events import EventType
from services.recorder.batch import BatchContext, Received, write_batch
from services.recorder.inbox import EventItem, StateItem
from services.store.recorder import AlarmRecord, ComponentState
from tests.services.recorder.conftest import T0, event

CTX = BatchContext(
    site="glo",
    site_name="Glostrup",
    retention_days=30,
    own_status="status/rec",
    self_resolved=timedelta(minutes=5),
)


def test_an_event_twice_in_one_batch_is_stored_and_alarmed_once(
    sessions: sessionmaker[Session],
) -> None:
    fire = event(EventType.FIRE_ALARM, "site")
    batch = [Received(EventItem(fire), T0), Received(EventItem(fire), T0)]
    with sessions.begin() as session:
        outcome = write_batch(session, batch, CTX)
    assert (outcome.stored, outcome.duplicates) == (1, 1)
    [notice] = outcome.raised
    assert (notice.kind, notice.severity, notice.site_name) == ("fire", "critical", "Glostrup")
    with sessions() as session:
        [alarm] = session.scalars(select(AlarmRecord))
    assert notice.alarm_id == alarm.id and alarm.event_id == fire.id


def test_a_raise_and_its_clear_in_one_batch_leave_a_cleared_alarm(
    sessions: sessionmaker[Session],
) -> None:
    held = event(EventType.DOOR_HELD_OPEN)
    closed = event(EventType.DOOR_CLOSED, ts=T0 + timedelta(seconds=9))
    batch = [Received(EventItem(held), T0), Received(EventItem(closed), T0)]
    with sessions.begin() as session:
        write_batch(session, batch, CTX)
    with sessions() as session:
        [alarm] = session.scalars(select(AlarmRecord))
    assert alarm.kind == "held_open" and alarm.cleared_at == closed.ts


def test_the_last_state_per_key_is_written_with_its_own_arrival_time(
    sessions: sessionmaker[Session],
) -> None:
    t1, t2 = T0 + timedelta(seconds=1), T0 + timedelta(seconds=2)
    batch = [
        Received(StateItem("door/main", {"lock": "locked"}), T0),
        Received(StateItem("occupancy", {"inside": 1}), t1),
        Received(StateItem("door/main", {"lock": "unlocked"}), t2),
        Received(StateItem("status/rec", {"status": "offline"}), t2),  # our own will: no alarm
    ]
    with sessions.begin() as session:
        outcome = write_batch(session, batch, CTX)
    assert outcome.raised == []
    with sessions() as session:
        states = {s.key: (s.payload, s.updated) for s in session.scalars(select(ComponentState))}
    assert states == {
        "door/main": ({"lock": "unlocked"}, t2),
        "occupancy": ({"inside": 1}, t1),
        "status/rec": ({"status": "offline"}, t2),
    }


def test_a_component_back_online_within_minutes_leaves_a_notice_not_an_alarm_to_acknowledge(
    sessions: sessionmaker[Session],
) -> None:
    from services.store.recorder import AUTO_ACK, acknowledgements

    def outage(component: str, minutes: float) -> None:
        back = T0 + timedelta(minutes=minutes)
        batch = [
            Received(StateItem(f"status/{component}", {"status": "offline"}), T0),
            Received(StateItem(f"status/{component}", {"status": "online"}), back),
        ]
        with sessions.begin() as session:
            write_batch(session, batch, CTX)

    outage("kiosk-foyer", 2)  # a restart
    outage("door-1", 20)  # a real outage
    with sessions() as session:
        alarms = {a.source: a for a in session.scalars(select(AlarmRecord))}
        restart, outage_alarm = alarms["kiosk-foyer"], alarms["door-1"]
        assert restart.cleared_at is not None and restart.acknowledged_by == AUTO_ACK
        assert [a.username for a in acknowledgements(session, restart.id)] == [AUTO_ACK]
        assert outage_alarm.cleared_at is not None and outage_alarm.acknowledged_at is None
