"""PIN failures and card standings, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, inspect, select
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session, sessionmaker

from services.core.lockout import LockoutPolicy
from services.store.base import Base
from services.store.lockouts import (
    CardStanding,
    PinFailure,
    card_history,
    purge_before,
    reader_history,
    record_failure,
    record_success,
    reset,
    set_blocked,
)

T0 = datetime(2024, 11, 4, 20, 0, tzinfo=ZoneInfo("Europe/Copenhagen"))
CARD = "c" * 64
OTHER = "d" * 64


def at(minutes: float) -> datetime:
    """T0 plus ``minutes``."""
    return T0 + timedelta(minutes=minutes)


@pytest.fixture
def sessions(engine: Engine) -> Iterator[sessionmaker[Session]]:
    """Sessions on a database holding just the lockout tables."""
    tables = [Base.metadata.tables[name] for name in ("pin_failures", "card_standings")]
    Base.metadata.create_all(engine, tables=tables)
    yield sessionmaker(engine, expire_on_commit=False)


def fail(sessions: sessionmaker[Session], card: str, reader: str, *minutes: float) -> None:
    """Record failures of ``card`` at ``reader`` at these minutes after T0."""
    with sessions.begin() as session:
        for m in minutes:
            record_failure(session, card, reader, at(m))


# --- card history -------------------------------------------------------------------------


def test_an_unknown_card_has_no_history(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        assert card_history(session, CARD, T0) == ([], None, False)


def test_card_history_lists_the_failures_oldest_first(sessions: sessionmaker[Session]) -> None:
    fail(sessions, CARD, "front", 3, 1, 2)
    with sessions() as session:
        failures, last_success, blocked = card_history(session, CARD, at(5))
    assert failures == [at(1), at(2), at(3)]
    assert (last_success, blocked) == (None, False)


def test_timestamps_come_back_as_the_same_aware_instants(sessions: sessionmaker[Session]) -> None:
    fail(sessions, CARD, "front", 0)
    with sessions() as session:
        (ts,), _, _ = card_history(session, CARD, at(1))
    assert ts == T0
    assert ts.tzinfo is not None
    assert ts.utcoffset() == timedelta(0)


def test_card_history_covers_24_hours(sessions: sessionmaker[Session]) -> None:
    fail(sessions, CARD, "front", -24 * 60, -24 * 60 + 1, 0)
    with sessions() as session:
        failures, _, _ = card_history(session, CARD, T0)
    assert failures == [at(-24 * 60 + 1), T0]


def test_card_history_is_only_that_cards(sessions: sessionmaker[Session]) -> None:
    fail(sessions, CARD, "front", 1)
    fail(sessions, OTHER, "front", 2)
    with sessions() as session:
        assert card_history(session, CARD, at(5))[0] == [at(1)]


def test_a_failure_is_visible_in_the_same_transaction(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        record_failure(session, CARD, "front", T0)
        assert card_history(session, CARD, T0)[0] == [T0]


def test_record_success_keeps_the_latest(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        record_success(session, CARD, at(1))
    with sessions.begin() as session:
        record_success(session, CARD, at(2))
    with sessions() as session:
        assert card_history(session, CARD, at(3)) == ([], at(2), False)


def test_a_success_keeps_the_failures(sessions: sessionmaker[Session]) -> None:
    fail(sessions, CARD, "front", 1, 2)
    with sessions.begin() as session:
        record_success(session, CARD, at(3))
    with sessions() as session:
        assert card_history(session, CARD, at(4)) == ([at(1), at(2)], at(3), False)


# --- reader history -----------------------------------------------------------------------


def test_reader_history_since_inclusive_oldest_first(sessions: sessionmaker[Session]) -> None:
    fail(sessions, CARD, "front", 0, 5)
    fail(sessions, OTHER, "front", 2)
    fail(sessions, OTHER, "back", 3)
    with sessions() as session:
        assert reader_history(session, "front", at(2)) == [(at(2), OTHER), (at(5), CARD)]


def test_reader_history_of_a_quiet_reader_is_empty(sessions: sessionmaker[Session]) -> None:
    fail(sessions, CARD, "front", 0)
    with sessions() as session:
        assert reader_history(session, "back", at(-60)) == []


# --- block and staff reset ----------------------------------------------------------------


def test_set_blocked_blocks_and_records_when(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        set_blocked(session, CARD, at(1))
    with sessions() as session:
        assert card_history(session, CARD, at(2))[2] is True
        standing = session.get(CardStanding, CARD)
        assert standing is not None
        assert standing.blocked_at == at(1)


def test_blocking_again_keeps_the_first_time(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        record_success(session, CARD, at(0))
        set_blocked(session, CARD, at(1))
    with sessions.begin() as session:
        set_blocked(session, CARD, at(2))
    with sessions() as session:
        standing = session.get(CardStanding, CARD)
        assert standing is not None
        assert (standing.blocked_at, standing.last_success) == (at(1), at(0))


def test_staff_reset_lifts_the_block_and_forgets_the_failures(
    sessions: sessionmaker[Session],
) -> None:
    fail(sessions, CARD, "front", 1, 2)
    fail(sessions, OTHER, "front", 3)
    with sessions.begin() as session:
        set_blocked(session, CARD, at(2))
    with sessions.begin() as session:
        reset(session, CARD)
    with sessions() as session:
        assert card_history(session, CARD, at(4)) == ([], None, False)
        assert card_history(session, OTHER, at(4))[0] == [at(3)]


def test_reset_of_an_unknown_card_does_nothing(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        reset(session, CARD)
    with sessions() as session:
        assert card_history(session, CARD, T0) == ([], None, False)


# --- retention ----------------------------------------------------------------------------


def test_purge_drops_old_failures_and_old_unblocked_standings(
    sessions: sessionmaker[Session],
) -> None:
    day = 24 * 60
    fail(sessions, CARD, "front", -40 * day, -2)
    with sessions.begin() as session:
        record_success(session, CARD, at(-40 * day))  # old: goes
        record_success(session, OTHER, at(-1))  # recent: stays
        set_blocked(session, "e" * 64, at(-40 * day))  # blocked: stays until reset
    with sessions.begin() as session:
        assert purge_before(session, at(-30 * day)) == 2
    with sessions() as session:
        assert session.scalars(select(PinFailure.ts)).all() == [at(-2)]
        kept = set(session.scalars(select(CardStanding.credential_hash)))
    assert kept == {OTHER, "e" * 64}


def test_purge_of_nothing_removes_nothing(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        assert purge_before(session, T0) == 0


# --- the schema ---------------------------------------------------------------------------


def test_the_swipe_queries_are_indexed(engine: Engine, sessions: sessionmaker[Session]) -> None:
    indexes = {tuple(ix["column_names"]) for ix in inspect(engine).get_indexes("pin_failures")}
    assert {("credential_hash", "ts"), ("reader_id", "ts"), ("ts",)} <= indexes


def test_naive_timestamps_are_refused(sessions: sessionmaker[Session]) -> None:
    with sessions() as session, pytest.raises(StatementError, match="timezone-aware"):
        record_failure(session, CARD, "front", datetime(2024, 11, 4, 20, 0))


# --- with the policy ----------------------------------------------------------------------


def test_five_stored_failures_lock_the_card_and_a_reset_unlocks_it(
    sessions: sessionmaker[Session],
) -> None:
    policy = LockoutPolicy()
    fail(sessions, CARD, "front", 0, 1, 2, 3, 4)
    with sessions() as session:
        failures, last_success, _ = card_history(session, CARD, at(5))
    assert policy.card_state(failures, last_success, at(5)).locked_until == at(19)
    with sessions.begin() as session:
        reset(session, CARD)
        failures, last_success, _ = card_history(session, CARD, at(5))
    assert policy.card_state(failures, last_success, at(5)).locked_until is None


def test_stored_failures_on_five_cards_are_an_attack(sessions: sessionmaker[Session]) -> None:
    policy = LockoutPolicy()
    for i in range(5):
        fail(sessions, f"{i}" * 64, "front", i)
    now = at(4).astimezone(UTC)
    with sessions() as session:
        recent = reader_history(session, "front", now - policy.attack_window)
    assert policy.reader_state(recent, now).attack is True
