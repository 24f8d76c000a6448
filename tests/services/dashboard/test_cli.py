"""``aabent users …`` (services/dashboard/cli.py)."""

from __future__ import annotations

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
