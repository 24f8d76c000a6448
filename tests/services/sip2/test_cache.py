"""The offline cache on SQLite and PostgreSQL: verifiers, expiry, refusals, nothing in clear."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from services.core.credentials import Credential, CredentialKind, SiteKey
from services.core.patrons import Patron, PatronStatus, PinCheck
from services.sip2 import cache
from services.store.base import Base
from services.store.sip2_cache import CachedPatron

KEY = SiteKey(b"s" * 32)
CARD = Credential(CredentialKind.CARD, "9000000001")
OTHER = Credential(CredentialKind.CARD, "9000000002")
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=ZoneInfo("Europe/Copenhagen"))
SOREN = Patron("sip2:abc", "Søren", PatronStatus.ACTIVE, date(1980, 3, 1))
DAYS14, MIN5 = timedelta(days=14), timedelta(minutes=5)


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session on the shared test database with the cache table created."""
    Base.metadata.create_all(engine, tables=[CachedPatron.__table__])  # type: ignore[list-item]
    with Session(engine) as s:
        yield s


def test_a_remembered_card_and_pin_are_recalled_with_the_patron(session: Session) -> None:
    cache.remember(session, KEY, CARD, "1234", SOREN, NOW, DAYS14)
    session.commit()
    auth = cache.recall(session, KEY, CARD, "1234", NOW + timedelta(days=13))
    assert auth is not None and auth.pin is PinCheck.OK and auth.patron == SOREN
    wrong = cache.recall(session, KEY, CARD, "4321", NOW)
    assert wrong is not None and wrong.pin is PinCheck.WRONG


def test_nothing_readable_is_stored(session: Session) -> None:
    cache.remember(session, KEY, CARD, "1234", SOREN, NOW, DAYS14)
    session.commit()
    row = session.scalars(select(CachedPatron)).one()
    assert "9000000001" not in row.credential_hash and row.verifier is not None
    assert "1234" not in row.verifier and row.verifier.startswith("scrypt$")


def test_a_verifier_is_bound_to_its_card(session: Session) -> None:
    cache.remember(session, KEY, CARD, "1234", SOREN, NOW, DAYS14)
    row = session.get(CachedPatron, KEY.credential_hash(CARD))
    assert row is not None
    assert not KEY.verify_pin(f"{KEY.credential_hash(OTHER)}\x001234", row.verifier or "")


def test_an_entry_past_its_expiry_is_gone_for_recall_and_purged(session: Session) -> None:
    cache.remember(session, KEY, CARD, "1234", SOREN, NOW, DAYS14)
    session.commit()
    assert cache.recall(session, KEY, CARD, "1234", NOW + timedelta(days=14, seconds=1)) is None
    assert cache.purge_expired(session, NOW + timedelta(days=15)) == 1


def test_an_unknown_card_is_remembered_for_minutes(session: Session) -> None:
    cache.remember_unknown(session, KEY, OTHER, NOW, MIN5)
    auth = cache.recall(session, KEY, OTHER, "1234", NOW + timedelta(minutes=4))
    assert auth is not None and auth.patron is None and auth.reachable
    assert cache.recall(session, KEY, OTHER, "1234", NOW + timedelta(minutes=6)) is None


def test_a_refusal_replaces_an_earlier_acceptance(session: Session) -> None:
    cache.remember(session, KEY, CARD, "1234", SOREN, NOW, DAYS14)
    blocked = Patron("sip2:abc", "Søren", PatronStatus.BLOCKED)
    cache.remember(session, KEY, CARD, "1234", blocked, NOW + timedelta(hours=1), MIN5)
    auth = cache.recall(session, KEY, CARD, "1234", NOW + timedelta(hours=1, minutes=1))
    assert auth is not None and auth.patron is not None
    assert auth.patron.status is PatronStatus.BLOCKED
    assert cache.recall(session, KEY, CARD, "1234", NOW + timedelta(hours=2)) is None


def test_a_card_only_check_keeps_the_pin_verifier_it_had(session: Session) -> None:
    cache.remember(session, KEY, CARD, "1234", SOREN, NOW, DAYS14)
    cache.remember(session, KEY, CARD, None, SOREN, NOW + timedelta(days=1), DAYS14)
    auth = cache.recall(session, KEY, CARD, "1234", NOW + timedelta(days=2))
    assert auth is not None and auth.pin is PinCheck.OK


def test_a_card_checked_without_pin_cannot_vouch_for_a_pin(session: Session) -> None:
    cache.remember(session, KEY, OTHER, None, SOREN, NOW, DAYS14)
    assert cache.recall(session, KEY, OTHER, "1234", NOW) is None
    no_pin = cache.recall(session, KEY, OTHER, None, NOW)
    assert no_pin is not None and no_pin.pin is PinCheck.NOT_GIVEN


def test_forget_drops_the_row(session: Session) -> None:
    cache.remember(session, KEY, CARD, "1234", SOREN, NOW, DAYS14)
    cache.forget(session, KEY, CARD)
    assert cache.recall(session, KEY, CARD, "1234", NOW) is None
