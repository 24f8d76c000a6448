"""Staff users and password hashes (services/dashboard/users.py, passwords.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from services.dashboard.passwords import hash_password, verify_password
from services.dashboard.users import (
    UserError,
    add_user,
    check_login,
    list_users,
    remove_user,
    set_password,
    set_role,
)
from services.store.base import utcnow
from services.store.dashboard import Role, StaffSession, StaffUser
from tests.services.dashboard.conftest import PASSWORD


def test_hash_is_salted_scrypt_and_verifies_only_the_password() -> None:
    a, b = hash_password(PASSWORD), hash_password(PASSWORD)
    assert a != b and a.startswith("scrypt$")
    assert PASSWORD not in a
    assert verify_password(PASSWORD, a)
    assert not verify_password(PASSWORD + "x", a)
    assert not verify_password(PASSWORD, "not a hash")


def test_add_check_and_remove_a_user(db: sessionmaker[Session]) -> None:
    with db() as s, s.begin():
        add_user(s, "anne", PASSWORD, Role.OPERATOR)
    with db() as s, s.begin():
        user = check_login(s, "anne", PASSWORD)
        assert user is not None and user.role == "operator"
        assert check_login(s, "anne", "wrong password!") is None
        assert check_login(s, "nobody", PASSWORD) is None
        assert [u.username for u in list_users(s)] == ["anne"]
    with db() as s, s.begin():
        remove_user(s, "anne")
    with db() as s:
        assert s.scalars(select(StaffUser)).all() == []


@pytest.mark.parametrize(
    ("name", "password", "problem"),
    [
        ("anne", "short", "at least 10"),
        ("Anne Smith", PASSWORD, "user name"),
        ("anne", " padded password ", "spaces"),
    ],
)
def test_refuses_bad_names_and_weak_passwords(
    db: sessionmaker[Session], name: str, password: str, problem: str
) -> None:
    with db() as s, s.begin(), pytest.raises(UserError, match=problem):
        add_user(s, name, password, Role.VIEWER)


def test_taken_name_is_refused(db: sessionmaker[Session]) -> None:
    with db() as s, s.begin():
        add_user(s, "anne", PASSWORD, Role.VIEWER)
    with db() as s, s.begin(), pytest.raises(UserError, match="exists"):
        add_user(s, "anne", PASSWORD, Role.VIEWER)


def test_new_password_ends_every_session_of_the_user(db: sessionmaker[Session]) -> None:
    with db() as s, s.begin():
        user = add_user(s, "anne", PASSWORD, Role.VIEWER)
        now = utcnow()
        s.add(StaffSession(token_hash="x" * 64, user_id=user.id, csrf="c", expires=now))
    with db() as s, s.begin():
        set_password(s, "anne", "a brand new password")
        set_role(s, "anne", Role.ADMIN)
    with db() as s:
        assert s.scalars(select(StaffSession)).all() == []
        assert check_login(s, "anne", "a brand new password") is not None
        assert check_login(s, "anne", PASSWORD) is None
        assert s.scalars(select(StaffUser.role)).one() == "admin"


def test_roles_include_the_lower_ones() -> None:
    assert Role.ADMIN.allows(Role.OPERATOR) and Role.OPERATOR.allows(Role.VIEWER)
    assert not Role.VIEWER.allows(Role.OPERATOR)
