"""A PIN block is lifted by staff from the CLI, on the door controller's own database.

The door side here is the real path the controller takes (``services.core.access.decide``
over the local registry and ``services.patrons.pin_guard`` on the database
``settings.database_url`` names, as ``hardware/service.py`` opens it); the staff side is
``aabent patrons …`` on the same config file. Both run on SQLite (the controller's default
file) and on PostgreSQL.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from services.cli.main import main
from services.core.access import AccessRules, DoorContext, Reason, decide
from services.core.credentials import Credential
from services.core.patrons import PatronStatus
from services.core.schedule import OpeningState
from services.patrons.pin_guard import PinGuard
from services.patrons.registry import LocalRegistry
from services.settings import Settings, load_settings
from services.store.engine import make_sessionmaker
from services.store.schema import open_database

CARD = "10000001"
CPR = "0101801234"
PIN = "1234"
READER = "main.0.em4100"
NOW = datetime(2026, 11, 25, 19, 0, tzinfo=UTC)


class Door:
    """The door's decision on the controller's database, opened as the controller opens it."""

    def __init__(self, settings: Settings) -> None:
        self.engine = open_database(settings.database_url)
        sessions = make_sessionmaker(self.engine)
        self.key = settings.site.site_key()
        self.registry = LocalRegistry(sessions, self.key)
        self.guard = PinGuard(sessions, settings.access.lockout_policy())
        self.now = NOW

    def enter(self, number: str, pin: str) -> Reason:
        """One card + PIN at the door; a wrong PIN is counted as the controller counts it."""
        self.now += timedelta(seconds=20)
        credential = Credential.from_text(number)
        card = self.key.credential_hash(credential)
        standing = self.guard.check(card, READER, self.now)
        ctx = DoorContext(
            opening=OpeningState.SELF_SERVICE,
            pin_locked_out=standing.locked_out,
            pin_blocked=standing.blocked,
        )
        decision = decide(self.now, self.registry.authenticate(credential, pin), ctx, AccessRules())
        if decision.reason is Reason.WRONG_PIN:
            self.guard.failed(card, READER, self.now)
        elif decision.granted:
            self.guard.succeeded(card, self.now)
        return decision.reason

    def close(self) -> None:
        self.engine.dispose()


def _url_of(engine: Engine) -> str:
    """The fixture's database as a settings URL (PostgreSQL: its schema as a connect option)."""
    if engine.dialect.name == "sqlite":
        return ""  # the controller's default: data_dir/aabent.sqlite
    with engine.connect() as conn:
        (path,) = conn.exec_driver_sql("SHOW search_path").one()
    return engine.url.render_as_string(hide_password=False) + f"?options=-csearch_path%3D{path}"


@pytest.fixture
def config(tmp_path: Path, engine: Engine) -> Path:
    path = tmp_path / "aabent.toml"
    path.write_text(
        f'[site]\ndata_dir = "{tmp_path / "var"}"\nkey_file = "{tmp_path / "var" / "site.key"}"\n'
        f'[store]\nurl = "{_url_of(engine)}"\n',
        encoding="utf-8",
    )
    return path


@pytest.fixture
def blocked_door(config: Path) -> Iterator[Door]:
    """A door whose patron (card and CPR number) has just been blocked by ten wrong PINs."""
    door = Door(load_settings(config, environ={}))
    door.registry.add_patron(
        "Karen",
        [Credential.from_text(CARD), Credential.from_text(CPR)],
        pin=PIN,
    )
    for _ in range(10):
        door.now += timedelta(minutes=16)  # past each 15-minute lock, so every try counts
        assert door.enter(CARD, "0000") is Reason.WRONG_PIN
    assert door.enter(CARD, PIN) is Reason.PIN_BLOCKED
    door.now += timedelta(days=2)  # a block outlasts the 24-hour count
    assert door.enter(CARD, PIN) is Reason.PIN_BLOCKED
    yield door
    door.close()


def _patrons(config: Path, *args: str) -> int:
    return main(["-c", str(config), "patrons", *args])


def _restarted(door: Door, config: Path) -> Door:
    door.close()
    return Door(load_settings(config, environ={}))


def test_a_new_pin_lifts_the_block_and_the_door_decides_normally(
    config: Path, blocked_door: Door, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("4321\n"))
    assert _patrons(config, "set-pin", CARD) == 0
    door = _restarted(blocked_door, config)
    try:
        assert door.enter(CARD, PIN) is Reason.WRONG_PIN  # the old PIN is gone, counted afresh
        assert door.enter(CARD, "4321") is Reason.GRANTED
        assert door.enter(CPR, "4321") is Reason.GRANTED  # the patron's other credential too
    finally:
        door.close()


def test_lift_pin_block_lifts_it_and_keeps_the_pin(
    config: Path, blocked_door: Door, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _patrons(config, "lift-pin-block", CARD) == 0
    out = capsys.readouterr().out
    assert out == "PIN block lifted for this card; its 10 wrong PINs are forgotten\n"
    assert CARD not in out
    assert blocked_door.enter(CARD, PIN) is Reason.GRANTED


def test_lift_pin_block_works_for_a_card_the_registry_does_not_hold(
    config: Path, blocked_door: Door, capsys: pytest.CaptureFixture[str]
) -> None:
    # On a SIP2 site the library system knows the card and the door keeps its count.
    stranger = blocked_door.key.credential_hash(Credential.from_text("99999999"))
    for _ in range(10):
        blocked_door.now += timedelta(seconds=20)
        blocked_door.guard.failed(stranger, READER, blocked_door.now)
    assert blocked_door.guard.check(stranger, READER, blocked_door.now).blocked
    assert _patrons(config, "lift-pin-block", "99999999") == 0
    assert "PIN block lifted for this card" in capsys.readouterr().out
    assert not blocked_door.guard.check(stranger, READER, blocked_door.now).blocked


def test_lift_pin_block_of_a_card_that_is_not_blocked_says_so(
    config: Path, blocked_door: Door, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _patrons(config, "lift-pin-block", "55555555") == 0
    assert capsys.readouterr().out == "this card was not PIN-blocked; nothing changed\n"


def test_unblock_also_lifts_the_pin_block(config: Path, blocked_door: Door) -> None:
    assert _patrons(config, "unblock", CPR) == 0
    assert blocked_door.enter(CARD, PIN) is Reason.GRANTED
    assert blocked_door.registry.find(Credential.from_text(CARD)).status is PatronStatus.ACTIVE  # type: ignore[union-attr]
