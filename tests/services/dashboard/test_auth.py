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


def test_five_failures_refuse_the_user_for_fifteen_minutes(db: sessionmaker[Session]) -> None:
    throttle = LoginThrottle(5, timedelta(minutes=15))
    keys = throttle.keys("anne", "10.0.0.5")
    other_address = throttle.keys("anne", "10.0.0.6")
    other_user = throttle.keys("bo", "10.0.0.7")
    with db() as s, s.begin():
        for i in range(5):
            assert not throttle.refused(s, keys, T0 + timedelta(seconds=i))
            throttle.failed(s, keys, T0 + timedelta(seconds=i))
        later = T0 + timedelta(minutes=1)
        assert throttle.refused(s, keys, later)
        assert throttle.refused(s, other_address, later)  # the name is counted on its own
        assert not throttle.refused(s, other_user, later)
        assert not throttle.refused(s, keys, T0 + timedelta(minutes=15, seconds=5))


def test_one_address_trying_many_names_is_refused(db: sessionmaker[Session]) -> None:
    throttle = LoginThrottle(5, timedelta(minutes=15))
    with db() as s, s.begin():
        for i in range(5):
            throttle.failed(s, throttle.keys(f"user{i}", "10.0.0.9"), T0)
        assert throttle.refused(s, throttle.keys("someone", "10.0.0.9"), T0)


def test_secret_file_is_created_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "dashboard.secret"
    first = load_or_create_secret(path)
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert load_or_create_secret(path) == first and len(first) == 32


def test_token_comparison() -> None:
    assert same_token("abc", "abc")
    assert not same_token("abd", "abc") and not same_token(None, "abc")
