"""The kiosk's account behind the doors' PIN-guessing defence, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import OperationalError

from services.core.account import AccountLocked, AccountRefused, LockReason
from services.core.credentials import Credential, SiteKey
from services.core.events import Event, EventType
from services.core.lockout import LockoutPolicy
from services.patrons.account import LocalAccount
from services.patrons.account_guard import GuardedAccount
from services.patrons.pin_guard import PinGuard
from services.patrons.registry import LocalRegistry
from services.store.engine import make_sessionmaker
from services.store.lockouts import PinFailure
from services.store.schema import create_schema

KEY = SiteKey(b"k" * 32)
KAREN = Credential.from_text("10000001")
START = datetime(2026, 11, 25, 19, 0, tzinfo=UTC)


@dataclass
class Kiosk:
    account: GuardedAccount
    guard: PinGuard
    registry: LocalRegistry
    engine: Engine
    now: list[datetime] = field(default_factory=lambda: [START])
    events: list[Event] = field(default_factory=list)

    def advance(self, **delta: float) -> None:
        self.now[0] += timedelta(**delta)

    def wrong(self, card: Credential = KAREN, times: int = 1) -> None:
        for _ in range(times):
            with pytest.raises(AccountRefused):
                self.account.loans(card, "0000")
            self.advance(seconds=5)

    def failures(self) -> int:
        with make_sessionmaker(self.engine)() as session:
            return session.scalar(select(func.count()).select_from(PinFailure)) or 0


@pytest.fixture
def kiosk(engine: Engine) -> Iterator[Kiosk]:
    create_schema(engine)
    sessions = make_sessionmaker(engine)
    registry = LocalRegistry(sessions, KEY)
    registry.add_patron("Karen Jensen", [KAREN], pin="1234")
    guard = PinGuard(sessions, LockoutPolicy())
    now = [START]
    events: list[Event] = []
    inner = LocalAccount(sessions, registry, today=lambda: now[0].date())
    account = GuardedAccount(
        inner, guard, KEY, kiosk="k1", clock=lambda: now[0], on_event=events.append
    )
    yield Kiosk(account, guard, registry, engine, now, events)


def test_five_wrong_pins_lock_the_card_at_the_kiosk_as_at_a_door(kiosk: Kiosk) -> None:
    kiosk.wrong(times=5)
    with pytest.raises(AccountLocked) as locked:
        kiosk.account.loans(KAREN, "1234")  # the right PIN no longer helps
    assert locked.value.why is LockReason.LOCKED_OUT
    event = next(e for e in kiosk.events if e.type is EventType.PIN_LOCKED_OUT)
    assert event.source == "k1" and event.details["reader"] == "kiosk/k1"
    assert event.credential == KEY.pseudonym(KAREN)
    assert KAREN.number not in event.to_json().decode()
    kiosk.advance(minutes=15, seconds=1)
    assert kiosk.account.loans(KAREN, "1234") == []


def test_a_correct_pin_ends_the_run_of_wrong_ones(kiosk: Kiosk) -> None:
    kiosk.wrong(times=4)
    kiosk.account.loans(KAREN, "1234")
    kiosk.wrong(times=4)
    assert kiosk.account.reservations(KAREN, "1234") == []


def test_an_unknown_card_is_not_counted(kiosk: Kiosk) -> None:
    kiosk.wrong(Credential.from_text("10000099"), times=6)
    assert kiosk.failures() == 0 and kiosk.events == []


def test_a_door_and_the_kiosk_on_one_database_share_the_count(kiosk: Kiosk) -> None:
    card = KEY.credential_hash(KAREN)
    for _ in range(3):
        kiosk.guard.failed(card, "main/0", kiosk.now[0])  # three wrong at the door
        kiosk.advance(seconds=5)
    kiosk.wrong(times=2)
    with pytest.raises(AccountLocked):
        kiosk.account.loans(KAREN, "1234")


def test_ten_wrong_in_a_day_block_the_card_until_staff_lift_it(kiosk: Kiosk) -> None:
    kiosk.wrong(times=5)
    for _ in range(5):  # after the first lock, every wrong PIN locks the card again
        kiosk.advance(minutes=16)
        kiosk.wrong()
    assert EventType.PIN_BLOCKED in [e.type for e in kiosk.events]
    kiosk.advance(hours=2)
    with pytest.raises(AccountLocked) as locked:
        kiosk.account.loans(KAREN, "1234")
    assert locked.value.why is LockReason.BLOCKED


def test_guessing_on_many_cards_throttles_the_kiosk_and_raises_the_alarm(kiosk: Kiosk) -> None:
    cards = [Credential.from_text(f"2000000{n}") for n in range(5)]
    for n, card in enumerate(cards):
        kiosk.registry.add_patron(f"P{n}", [card], pin="5555")
        kiosk.wrong(card)
    attack = next(e for e in kiosk.events if e.type is EventType.READER_ATTACK)
    assert attack.details == {"reader": "kiosk/k1", "cards": 5}
    with pytest.raises(AccountLocked) as locked:
        kiosk.account.loans(KAREN, "1234")
    assert locked.value.why is LockReason.THROTTLED


def test_failures_are_tidied_away_after_the_retention_period_once_a_day(kiosk: Kiosk) -> None:
    kiosk.wrong()
    assert kiosk.guard.tidy(kiosk.now[0], retention_days=30) == 0
    assert kiosk.guard.tidy(kiosk.now[0], retention_days=30) is None  # once a day
    kiosk.advance(days=31)
    assert kiosk.guard.tidy(kiosk.now[0], retention_days=30) == 1
    assert kiosk.failures() == 0


def test_a_request_that_went_through_is_answered_even_if_its_pin_is_not_recorded(
    kiosk: Kiosk,
) -> None:
    class FullDisk(PinGuard):
        def succeeded(self, credential_hash: str, now: datetime) -> None:
            raise OperationalError("UPDATE card_standings", {}, Exception("disk I/O error"))

    guard = FullDisk(make_sessionmaker(kiosk.engine), LockoutPolicy())
    inner = LocalAccount(make_sessionmaker(kiosk.engine), kiosk.registry, today=START.date)
    account = GuardedAccount(inner, guard, KEY, kiosk="k1", clock=lambda: START, on_event=print)
    assert account.loans(KAREN, "1234") == []
