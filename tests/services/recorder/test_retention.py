"""Retention on SQLite and PostgreSQL: identifiable detail goes, counts stay; the daily schedule."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from services.core.events import EventType
from services.recorder.retention import next_run, purge, run_daily
from services.store.lockouts import CardStanding, PinFailure, record_failure
from services.store.recorder import EventRecord, event_row, insert_events
from tests.services.recorder.conftest import T0, event

NOW = T0 + timedelta(days=40)
CPH = ZoneInfo("Europe/Copenhagen")


def _store(sessions: sessionmaker[Session], *events: object) -> None:
    with sessions.begin() as session:
        insert_events(session, [event_row(e, "glo", T0) for e in events])  # type: ignore[arg-type]


def _get(sessions: sessionmaker[Session], event_id: str) -> EventRecord:
    with sessions() as session:
        row = session.get(EventRecord, event_id)
        assert row is not None
        return row


def test_old_events_lose_credential_and_identifying_details_but_stay_counted(
    sessions: sessionmaker[Session],
) -> None:
    granted = event(
        EventType.ACCESS_GRANTED,
        ts=NOW - timedelta(days=31),
        reason="granted",
        credential="p:9f3a",
        reader="main.0.em4100",
        kind="card",
        message="Velkommen",
    )
    command = event(
        EventType.COMMAND_DONE, ts=NOW - timedelta(days=35), by="staff:anne", action="unlock"
    )
    counted = event(EventType.OCCUPANCY_IN, ts=NOW - timedelta(days=50), inside=17)
    recent = event(
        EventType.ACCESS_GRANTED, ts=NOW - timedelta(days=29), credential="p:1111", reader="r"
    )
    _store(sessions, granted, command, counted, recent)
    with sessions.begin() as session:
        result = purge(session, NOW, 30)
    assert result.events == 2 and result.cutoff == NOW - timedelta(days=30)
    old = _get(sessions, granted.id)
    assert (old.type, old.ts, old.source, old.reason) == (
        "access.granted",
        granted.ts,
        "main",
        "granted",
    )
    assert old.credential is None and old.details == {"kind": "card"}
    assert _get(sessions, command.id).details == {"action": "unlock"}
    assert _get(sessions, counted.id).details == {"inside": 17}  # nothing to strip: untouched
    fresh = _get(sessions, recent.id)
    assert fresh.credential == "p:1111" and fresh.details == {"reader": "r"}
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(EventRecord)) == 4


def test_a_second_run_starts_where_the_first_stopped(sessions: sessionmaker[Session]) -> None:
    day_old = [
        event(EventType.ACCESS_DENIED, ts=NOW - timedelta(days=31), credential=f"p:{i}")
        for i in range(1500)  # more than one chunk
    ]
    _store(sessions, *day_old)
    with sessions.begin() as session:
        assert purge(session, NOW, 30).events == 1500
    next_day = event(
        EventType.ACCESS_DENIED, ts=NOW - timedelta(days=30, hours=-12), credential="p:x"
    )
    _store(sessions, next_day)
    with sessions.begin() as session:
        assert purge(session, NOW + timedelta(days=1), 30).events == 1
    assert _get(sessions, next_day.id).credential is None


def test_old_pin_failures_are_deleted_recent_ones_kept(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        record_failure(session, "a" * 64, "main.2.pinpad", NOW - timedelta(days=31))
        record_failure(session, "b" * 64, "main.2.pinpad", NOW - timedelta(days=2))
        session.add(
            CardStanding(
                credential_hash="a" * 64, blocked=False, last_success=NOW - timedelta(days=60)
            )
        )
    with sessions.begin() as session:
        assert purge(session, NOW, 30).pin_rows == 2
    with sessions() as session:
        assert list(session.scalars(select(PinFailure.credential_hash))) == ["b" * 64]


def test_the_daily_run_is_at_the_local_time_next_after_now() -> None:
    at = time(3, 30)
    before = datetime(2026, 3, 28, 1, 0, tzinfo=UTC)  # 02:00 in Copenhagen
    assert next_run(before, at, CPH) == datetime(2026, 3, 28, 3, 30, tzinfo=CPH)
    after = datetime(2026, 3, 28, 3, 0, tzinfo=UTC)  # 04:00
    # The night summer time begins: 03:30 local is 01:30 UTC, one hour less than in winter.
    assert next_run(after, at, CPH) == datetime(2026, 3, 29, 3, 30, tzinfo=CPH)
    assert next_run(after, at, CPH).astimezone(UTC).hour == 1
    exactly = datetime(2026, 3, 28, 3, 30, tzinfo=CPH)
    assert next_run(exactly, at, CPH) == datetime(2026, 3, 29, 3, 30, tzinfo=CPH)


def test_run_daily_purges_when_the_time_comes_and_stops_at_once(
    sessions: sessionmaker[Session],
) -> None:
    old = event(EventType.ACCESS_GRANTED, ts=NOW - timedelta(days=31), credential="p:1")
    _store(sessions, old)
    start = datetime.now(UTC)
    target = start + timedelta(seconds=0.3)
    shift = NOW - start  # a clock 40 days on, moving in real time
    stop = threading.Event()
    worker = threading.Thread(
        target=run_daily,
        args=(sessions, 30),
        kwargs={
            "at": (target + shift).astimezone(CPH).time(),
            "tz": CPH,
            "clock": lambda: datetime.now(UTC) + shift,
            "stop": stop,
        },
    )
    worker.start()
    try:
        deadline = datetime.now(UTC) + timedelta(seconds=10)
        while _get(sessions, old.id).credential is not None and datetime.now(UTC) < deadline:
            stop.wait(0.05)
        assert _get(sessions, old.id).credential is None
    finally:
        stop.set()
        worker.join(2)
    assert not worker.is_alive()


def test_a_branch_with_its_own_retention_keeps_its_detail_longer(
    sessions: sessionmaker[Session],
) -> None:
    old = event(EventType.ACCESS_DENIED, ts=NOW - timedelta(days=40), credential="p:glo")
    _store(sessions, old)
    theirs = event(EventType.ACCESS_DENIED, ts=NOW - timedelta(days=40), credential="p:val")
    older = event(EventType.ACCESS_DENIED, ts=NOW - timedelta(days=100), credential="p:val2")
    with sessions.begin() as session:
        insert_events(session, [event_row(e, "val", T0) for e in (theirs, older)])
    with sessions.begin() as session:
        assert purge(session, NOW, 30, {"val": 90}).events == 2
    assert _get(sessions, old.id).credential is None  # the default 30 days
    assert _get(sessions, theirs.id).credential == "p:val"  # within Vallensbæk's 90 days
    assert _get(sessions, older.id).credential is None
    with sessions.begin() as session:  # and the next run keeps its own place per branch
        assert purge(session, NOW + timedelta(days=51), 30, {"val": 90}).events == 1
    assert _get(sessions, theirs.id).credential is None
