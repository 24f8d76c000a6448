"""The recorder's store functions on SQLite and PostgreSQL: once per id, states, acknowledging."""

from __future__ import annotations

import uuid
from datetime import UTC, timedelta, timezone

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from services.core.events import EventType
from services.store.recorder import (
    AlarmRecord,
    ComponentState,
    EventRecord,
    acknowledge_alarm,
    delete_state,
    event_row,
    insert_events,
    open_alarms,
    put_state,
)
from tests.services.recorder.conftest import T0, event


def test_insert_skips_ids_already_stored_and_reports_only_new_ones(
    sessions: sessionmaker[Session],
) -> None:
    first = [event_row(event(EventType.DOOR_OPENED), "glo", T0) for _ in range(3)]
    with sessions.begin() as session:
        assert insert_events(session, first) == {r["id"] for r in first}
    again = [*first[1:], event_row(event(EventType.DOOR_CLOSED), "glo", T0)]
    with sessions.begin() as session:
        assert insert_events(session, again) == {again[-1]["id"]}
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(EventRecord)) == 4


def test_insert_keeps_details_texts_and_times_exactly_in_one_batch(
    sessions: sessionmaker[Session],
) -> None:
    # PostgreSQL takes a batch as one JSON document (services/store/recorder.py): nested
    # details, Danish letters, quotes, an offset other than UTC and an id twice in the batch
    # must come back as they went in, once.
    summer = timezone(timedelta(hours=2))
    odd = event(
        EventType.ACCESS_DENIED,
        ts=T0.astimezone(summer),
        reason='kort "spærret"',
        credential="p:æøå",
        message="Adgang nægtet\n",
        nested={"list": [1, 2.5, None, True], "tom": {}},
    )
    plain = event(EventType.DOOR_OPENED, inside=0)
    received = T0 + timedelta(microseconds=123456)
    rows = [event_row(e, "glo", received) for e in (odd, plain, odd)]
    with sessions.begin() as session:
        assert insert_events(session, rows) == {odd.id, plain.id}
    with sessions() as session:
        stored = {r.id: r for r in session.scalars(select(EventRecord))}
    assert len(stored) == 2
    got = stored[odd.id]
    assert got.ts == T0 and got.ts.tzinfo == UTC and got.received == received
    assert (got.reason, got.credential, got.source) == ('kort "spærret"', "p:æøå", "main")
    assert got.details == {
        "message": "Adgang nægtet\n",
        "nested": {"list": [1, 2.5, None, True], "tom": {}},
    }
    assert stored[plain.id].details == {"inside": 0} and stored[plain.id].reason is None


def test_event_row_keeps_the_fields_and_the_command_id_of_a_command_answer(
    sessions: sessionmaker[Session],
) -> None:
    command_id = str(uuid.uuid4())
    done = event(EventType.COMMAND_DONE, reason="delivery", command_id=command_id, by="staff:a")
    rejected = event(EventType.COMMAND_REJECTED, command_id="not-a-uuid-" + "x" * 40)
    granted = event(EventType.ACCESS_GRANTED, credential="p:1a2b", command_id=command_id)
    with sessions.begin() as session:
        insert_events(session, [event_row(e, "glo", T0) for e in (done, rejected, granted)])
    with sessions() as session:
        stored = {r.id: r for r in session.scalars(select(EventRecord))}
    assert stored[done.id].command_id == command_id
    assert stored[done.id].details == {"command_id": command_id, "by": "staff:a"}
    assert stored[done.id].ts == T0 and stored[done.id].reason == "delivery"
    assert stored[rejected.id].command_id is None  # would not fit, and means nothing
    assert stored[granted.id].command_id is None  # only command answers carry one
    assert stored[granted.id].credential == "p:1a2b"


def test_put_state_replaces_per_site_and_key_and_delete_forgets(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        put_state(session, "glo", "door/main", {"lock": "locked"}, T0)
        put_state(session, "alb", "door/main", {"lock": "unlocked"}, T0)
    with sessions.begin() as session:
        put_state(session, "glo", "door/main", {"lock": "unlocked"}, T0 + timedelta(seconds=1))
    with sessions() as session:
        glo = session.get(ComponentState, ("glo", "door/main"))
        alb = session.get(ComponentState, ("alb", "door/main"))
        assert glo is not None and alb is not None
        assert glo.payload == {"lock": "unlocked"} and glo.updated == T0 + timedelta(seconds=1)
        assert alb.payload == {"lock": "unlocked"}
    with sessions.begin() as session:
        delete_state(session, "glo", "door/main")
    with sessions() as session:
        assert session.get(ComponentState, ("glo", "door/main")) is None


def _alarm(kind: str) -> AlarmRecord:
    return AlarmRecord(
        site="glo",
        kind=kind,
        source="main",
        severity="warning",
        raised_at=T0,
        message="test",
    )


def test_acknowledging_clears_a_latched_alarm_but_not_one_with_an_end_condition(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        held, attack = _alarm("held_open"), _alarm("pin_attack")
        session.add_all([held, attack])
    later = T0 + timedelta(minutes=3)
    with sessions.begin() as session:
        acknowledge_alarm(session, held.id, "anne", later, "kigger på det")
        acknowledge_alarm(session, attack.id, "anne", later)
        assert acknowledge_alarm(session, 999999, "anne", later) is None
    with sessions() as session:
        still_open = open_alarms(session, "glo")
        assert [a.kind for a in still_open] == ["held_open"]
        assert still_open[0].acknowledged_by == "anne" and still_open[0].comment == "kigger på det"
        done = session.get(AlarmRecord, attack.id)
        assert done is not None and done.cleared_at == later and done.acknowledged_at == later


def test_acknowledgements_are_appended_never_overwritten(
    sessions: sessionmaker[Session],
) -> None:
    from services.store.recorder import acknowledgements

    with sessions.begin() as session:
        held = _alarm("held_open")
        session.add(held)
    first, second = T0 + timedelta(minutes=1), T0 + timedelta(minutes=4)
    with sessions.begin() as session:
        acknowledge_alarm(session, held.id, "anne", first, "ringer til vagten")
    with sessions.begin() as session:
        acknowledge_alarm(session, held.id, "bo", second, "døren er lukket igen")
    with sessions() as session:
        trail = [(a.username, a.ts, a.comment) for a in acknowledgements(session, held.id)]
        alarm = session.get(AlarmRecord, held.id)
        assert alarm is not None
        assert (alarm.acknowledged_by, alarm.acknowledged_at) == ("anne", first)
    assert trail == [("anne", first, "ringer til vagten"), ("bo", second, "døren er lukket igen")]
