"""``aabent users …`` (services/dashboard/cli.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from services.cli.main import build_parser
from services.dashboard.cli import run_users
from services.dashboard.users import check_login, find_user
from tests.services.dashboard.conftest import PASSWORD


def _run(db: sessionmaker[Session], *argv: str, password: str = PASSWORD) -> int:
    args = build_parser().parse_args(["users", *argv])
    return run_users(args, db, lambda: password)


def test_add_passwd_role_remove(
    db: sessionmaker[Session], capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(db, "add", "anne", "--role", "operator") == 0
    assert _run(db, "passwd", "anne", password="another long secret") == 0
    assert _run(db, "role", "anne", "admin") == 0
    assert _run(db, "list") == 0
    out = capsys.readouterr().out
    assert "anne\tadmin" in out
    assert PASSWORD not in out and "another long secret" not in out
    with db() as s:
        assert check_login(s, "anne", "another long secret") is not None
    assert _run(db, "remove", "anne") == 0
    with db() as s:
        assert find_user(s, "anne") is None


def test_errors_are_messages_and_change_nothing(
    db: sessionmaker[Session], capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(db, "add", "anne", password="short") == 1
    assert _run(db, "remove", "nobody") == 1
    err = capsys.readouterr().err
    assert "at least 10 characters" in err and "no user 'nobody'" in err
    with db() as s:
        assert find_user(s, "anne") is None


def test_password_is_not_an_argument() -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["users", "add", "anne", "--password", PASSWORD])


def test_unthrottle_forgets_a_user_s_failed_logins(
    db: sessionmaker[Session], capsys: pytest.CaptureFixture[str]
) -> None:
    from services.dashboard.auth import LoginThrottle

    throttle = LoginThrottle(5, timedelta(minutes=15))
    now = datetime.now(UTC)
    with db() as s, s.begin():
        for _ in range(5):
            throttle.failed(s, "anne", "10.0.0.5", now)
    assert _run(db, "unthrottle") == 1  # neither a name nor an address
    assert _run(db, "unthrottle", "anne") == 0
    assert "5 failed logins forgotten" in capsys.readouterr().out
    with db() as s:
        assert not throttle.refused(s, "anne", "10.0.0.5", now)


def test_a_role_change_ends_the_user_s_sessions(db: sessionmaker[Session]) -> None:
    from sqlalchemy import func, select

    from services.dashboard.auth import SessionStore
    from services.store.dashboard import StaffSession

    assert _run(db, "add", "anne", "--role", "operator") == 0
    store = SessionStore(b"k" * 32, timedelta(hours=1), timedelta(hours=1))
    with db() as s, s.begin():
        user = find_user(s, "anne")
        assert user is not None
        store.open(s, user, datetime.now(UTC))
    assert _run(db, "role", "anne", "viewer") == 0
    with db() as s:
        assert s.scalar(select(func.count()).select_from(StaffSession)) == 0


def test_roles_per_branch_are_given_listed_and_taken_away(
    db: sessionmaker[Session], capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(db, "add", "lis") == 0
    assert _run(db, "site", "lis", "vallensbaek", "operator") == 0
    assert _run(db, "site", "lis", "albertslund", "viewer") == 0
    assert _run(db, "list") == 0
    assert "lis\tviewer\talbertslund=viewer vallensbaek=operator" in capsys.readouterr().out
    assert _run(db, "site", "lis", "albertslund", "none") == 0
    assert _run(db, "site", "nobody", "albertslund", "viewer") == 1
    assert _run(db, "site", "lis", "Bad/Site", "viewer") == 1
    assert _run(db, "list") == 0
    assert "lis\tviewer\tvallensbaek=operator\n" in capsys.readouterr().out
    with pytest.raises(SystemExit):  # an admin is the municipality's, not one branch's
        build_parser().parse_args(["users", "site", "lis", "vallensbaek", "admin"])
