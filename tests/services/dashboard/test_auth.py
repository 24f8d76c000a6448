"""Sessions and login throttling (services/dashboard/auth.py)."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from services.dashboard.auth import (
    LoginThrottle,
    SessionStore,
    load_or_create_secret,
    same_token,
)
from services.dashboard.users import find_user
from services.store.dashboard import Role, StaffSession
from tests.services.dashboard.conftest import add_staff

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def _store() -> SessionStore:
    return SessionStore(b"k" * 32, lifetime=timedelta(hours=8), idle=timedelta(minutes=30))


def test_session_token_is_stored_only_as_a_keyed_hash(db: sessionmaker[Session]) -> None:
    add_staff(db, "anne", Role.VIEWER)
    store = _store()
    with db() as s, s.begin():
        user = find_user(s, "anne")
        assert user is not None
        token = store.open(s, user, T0)
    with db() as s, s.begin():
        record = s.scalars(select(StaffSession)).one()
        assert token not in record.token_hash and len(record.token_hash) == 64
        login = store.find(s, token, T0 + timedelta(minutes=5))
        assert login is not None and login.user.username == "anne"
        assert store.find(s, token + "x", T0) is None


def test_session_ends_after_idling_and_after_its_lifetime(db: sessionmaker[Session]) -> None:
    add_staff(db, "anne", Role.VIEWER)
    store = _store()
    with db() as s, s.begin():
        user = find_user(s, "anne")
        assert user is not None
        idle_token = store.open(s, user, T0)
        busy_token = store.open(s, user, T0)
    with db() as s, s.begin():
        assert store.find(s, idle_token, T0 + timedelta(minutes=31)) is None
        now = T0
        while now < T0 + timedelta(hours=8) - timedelta(minutes=20):  # used every 20 minutes
            now += timedelta(minutes=20)
            assert store.find(s, busy_token, now) is not None
        assert store.find(s, busy_token, T0 + timedelta(hours=8)) is None


def test_logout_ends_the_session(db: sessionmaker[Session]) -> None:
    add_staff(db, "anne", Role.VIEWER)
    store = _store()
    with db() as s, s.begin():
        user = find_user(s, "anne")
        assert user is not None
        token = store.open(s, user, T0)
        store.close(s, token)
        assert store.find(s, token, T0) is None


def test_guesses_from_one_address_do_not_lock_the_user_out_elsewhere(
    db: sessionmaker[Session],
) -> None:
    throttle = LoginThrottle(5, timedelta(minutes=15))
    with db() as s, s.begin():
        for i in range(5):
            assert not throttle.refused(s, "anne", "10.0.0.5", T0 + timedelta(seconds=i))
            throttle.failed(s, "anne", "10.0.0.5", T0 + timedelta(seconds=i))
        later = T0 + timedelta(seconds=10)
        assert throttle.refused(s, "anne", "10.0.0.5", later)
        assert not throttle.refused(s, "anne", "10.0.0.6", later)  # her own desk
        assert not throttle.refused(s, "bo", "10.0.0.5", later)  # the address has its own limit


def test_refusals_back_off_and_end(db: sessionmaker[Session]) -> None:
    throttle = LoginThrottle(5, timedelta(minutes=15))
    with db() as s, s.begin():
        for i in range(5):
            throttle.failed(s, "anne", "10.0.0.5", T0 + timedelta(seconds=i))
        last = T0 + timedelta(seconds=4)
        first_wait = throttle.retry_after(s, "anne", "10.0.0.5", last)
        assert first_wait is not None and first_wait > timedelta(0)
        assert not throttle.refused(s, "anne", "10.0.0.5", last + first_wait)
        throttle.failed(s, "anne", "10.0.0.5", last + first_wait)
        second_wait = throttle.retry_after(s, "anne", "10.0.0.5", last + first_wait)
        assert second_wait is not None and second_wait == 2 * first_wait  # doubled
        assert not throttle.refused(s, "anne", "10.0.0.5", T0 + timedelta(minutes=16))


def test_one_address_trying_many_names_is_refused(db: sessionmaker[Session]) -> None:
    throttle = LoginThrottle(5, timedelta(minutes=15))
    with db() as s, s.begin():
        for i in range(15):
            throttle.failed(s, f"user{i}", "10.0.0.9", T0)
        assert throttle.refused(s, "someone", "10.0.0.9", T0)
        assert not throttle.refused(s, "someone", "10.0.0.8", T0)


def test_an_admin_clears_a_throttle(db: sessionmaker[Session]) -> None:
    throttle = LoginThrottle(5, timedelta(minutes=15))
    with db() as s, s.begin():
        for _ in range(5):
            throttle.failed(s, "anne", "10.0.0.5", T0)
        for name in ("bo", "cai", "dina"):
            for _ in range(5):
                throttle.failed(s, name, "10.0.0.9", T0)
        assert throttle.refused(s, "anne", "10.0.0.5", T0)
        assert throttle.clear(s, username="anne") == 5
        assert not throttle.refused(s, "anne", "10.0.0.5", T0)
        assert throttle.refused(s, "eva", "10.0.0.9", T0)  # 15 guesses from there: the address
        throttle.clear(s, address="10.0.0.9")
        assert not throttle.refused(s, "eva", "10.0.0.9", T0)


def test_secret_file_is_created_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "dashboard.secret"
    first = load_or_create_secret(path)
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert load_or_create_secret(path) == first and len(first) == 32


def test_token_comparison() -> None:
    assert same_token("abc", "abc")
    assert not same_token("abd", "abc") and not same_token(None, "abc")
