"""The lookup begins at the card: what the '#' then waits for, and when it reads afresh."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hardware.gatekeeper import Gatekeeper
from services.core.credentials import Credential, SiteKey
from services.core.lockout import LockoutPolicy
from services.core.patrons import Authentication, PatronStatus, PinCheck
from services.patrons.pin_guard import PinGuard
from services.patrons.registry import LocalRegistry
from services.store.engine import make_engine, make_sessionmaker
from services.store.schema import create_schema
from tests.conftest import Queries

KEY = SiteKey(b"g" * 32)
CARD = Credential.from_text("40000001")
PIN = "2580"
NOW = datetime(2026, 12, 2, 18, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


class Rig:
    def __init__(self, tmp_path: Path) -> None:
        self.engine = make_engine(f"sqlite:///{tmp_path / 'door.sqlite'}")
        create_schema(self.engine)
        sessions = make_sessionmaker(self.engine)
        self.registry = LocalRegistry(sessions, KEY)
        self.registry.add_patron("Karen Jensen", [CARD], pin=PIN)
        self.clock = Clock()
        policy = LockoutPolicy(lock_after=3, lock_minutes=15, block_after_24h=10)
        self.gate = Gatekeeper(
            self.registry, KEY, PinGuard(sessions, policy), prepared_for_s=10, mono=self.clock
        )
        self.sql = Queries(self.engine)

    def prepared(self, reader: str = "main.1") -> None:
        """The card read at ``reader``, and its early lookup finished."""
        self.gate.prepare(CARD, reader, NOW)
        self.gate._beside.submit(lambda: None).result()  # the early read is done

    def wrong(self, n: int) -> None:
        for _ in range(n):
            self.gate.record(KEY.credential_hash(CARD), "main.1", True, NOW)


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    r = Rig(tmp_path)
    yield r
    r.gate.close()
    r.engine.dispose()


def test_after_the_card_the_pin_waits_for_no_query(rig: Rig) -> None:
    rig.prepared()
    before = rig.sql.count
    looked = rig.gate.lookup(CARD, PIN, "main.1", NOW)
    assert rig.sql.count == before  # the scrypt and the policy alone
    assert looked.auth.patron is not None and looked.auth.pin is PinCheck.OK
    assert not looked.standing.locked_out


def test_the_early_answer_is_the_answer_a_late_lookup_gives(rig: Rig) -> None:
    late = rig.gate.lookup(CARD, "9999", "main.1", NOW)
    rig.prepared()
    early = rig.gate.lookup(CARD, "9999", "main.1", NOW)
    assert early.auth == late.auth and early.auth.pin is PinCheck.WRONG
    assert early.standing == late.standing
    assert (early.credential_hash, early.pseudonym) == (late.credential_hash, late.pseudonym)


def test_a_failure_recorded_after_the_card_counts_at_its_pin(rig: Rig) -> None:
    rig.wrong(2)
    rig.prepared()
    rig.wrong(1)  # the third in a row: the card locks, though the early read saw two
    looked = rig.gate.lookup(CARD, PIN, "main.1", NOW)
    assert looked.standing.locked_out


def test_a_pin_after_the_pins_time_reads_afresh(rig: Rig) -> None:
    rig.prepared()
    rig.registry.set_status(CARD, PatronStatus.BLOCKED)
    rig.clock.t += 11  # beyond prepared_for_s
    looked = rig.gate.lookup(CARD, PIN, "main.1", NOW)
    assert looked.auth.patron is not None and looked.auth.patron.status is PatronStatus.BLOCKED


def test_a_pin_at_another_reader_reads_afresh(rig: Rig) -> None:
    rig.prepared("side.1")
    before = rig.sql.count
    rig.gate.lookup(CARD, PIN, "main.1", NOW)
    assert rig.sql.count > before


def test_each_early_read_serves_one_pin(rig: Rig) -> None:
    rig.prepared()
    rig.gate.lookup(CARD, PIN, "main.1", NOW)
    before = rig.sql.count
    rig.gate.lookup(CARD, PIN, "main.1", NOW)
    assert rig.sql.count > before


class PinTogether:
    """A directory that answers card and PIN together, as a library system over SIP2 does."""

    def __init__(self) -> None:
        self.asked: list[str | None] = []

    def authenticate(self, credential: Credential, pin: str | None) -> Authentication:
        self.asked.append(pin)
        return Authentication(None, PinCheck.NOT_GIVEN)


def test_a_directory_without_prepare_is_asked_at_the_pin_with_the_standing_read_early(
    rig: Rig, tmp_path: Path
) -> None:
    sip2 = PinTogether()
    rig.gate = Gatekeeper(sip2, KEY, rig.gate.guard, prepared_for_s=10, mono=rig.clock)
    rig.wrong(3)
    rig.prepared()
    assert sip2.asked == []
    before = rig.sql.count
    looked = rig.gate.lookup(CARD, PIN, "main.1", NOW)
    assert sip2.asked == [PIN] and rig.sql.count == before
    assert looked.standing.locked_out
