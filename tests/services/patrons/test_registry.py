"""The local registry as the door sees it: card + PIN in, a Patron value and a PIN verdict out."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from sqlalchemy import Engine, MetaData, event, select

from services.core.credentials import Credential, CredentialKind, SiteKey
from services.core.patrons import Authentication, Patron, PatronDirectory, PatronStatus, PinCheck
from services.patrons.registry import LocalRegistry, RegistryError, UnknownCredential
from services.store.engine import make_sessionmaker
from services.store.schema import create_schema

KEY = SiteKey(b"registry-test-key-0123456789abcdef")
CARD = Credential(CredentialKind.CARD, "10000001")
OTHER_CARD = Credential(CredentialKind.CARD, "10000002")
CPR = Credential.from_text("010180-0000")


@pytest.fixture
def registry(engine: Engine) -> LocalRegistry:
    create_schema(engine)
    return LocalRegistry(make_sessionmaker(engine), KEY)


def test_registry_is_a_patron_directory(registry: LocalRegistry) -> None:
    directory: PatronDirectory = registry
    assert directory.authenticate(CARD, None) == Authentication(None, PinCheck.NOT_GIVEN)


def test_right_pin_admits_and_returns_a_patron_value(registry: LocalRegistry) -> None:
    added = registry.add_patron("Karen Jensen", [CARD], pin="1234", expires=date(2029, 12, 31))
    auth = registry.authenticate(CARD, "1234")
    assert auth.pin is PinCheck.OK
    assert type(auth.patron) is Patron
    assert auth.patron == added
    assert auth.patron.name == "Karen Jensen" and auth.patron.expires == date(2029, 12, 31)


def test_wrong_pin_and_missing_pin_are_told_apart(registry: LocalRegistry) -> None:
    registry.add_patron("Karen Jensen", [CARD], pin="1234")
    assert registry.authenticate(CARD, "4321").pin is PinCheck.WRONG
    assert registry.authenticate(CARD, None).pin is PinCheck.NOT_GIVEN


def test_a_patron_without_a_pin_fails_any_pin(registry: LocalRegistry) -> None:
    registry.add_patron("Karen Jensen", [CARD])
    auth = registry.authenticate(CARD, "1234")
    assert auth.patron is not None and auth.pin is PinCheck.WRONG


def test_unknown_card_has_no_patron(registry: LocalRegistry) -> None:
    registry.add_patron("Karen Jensen", [CARD], pin="1234")
    assert registry.authenticate(OTHER_CARD, "1234").patron is None
    assert registry.find(CPR) is None


def test_authenticate_is_a_single_query(registry: LocalRegistry, engine: Engine) -> None:
    registry.add_patron("Karen Jensen", [CARD, CPR], pin="1234")
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(args[2])

    event.listen(engine, "before_cursor_execute", record)
    try:
        assert registry.authenticate(CARD, "1234").pin is PinCheck.OK
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert len(statements) == 1


def test_cpr_patron_gets_the_birth_date_from_the_cpr_number(registry: LocalRegistry) -> None:
    patron = registry.add_patron("Mads Nielsen", [Credential(CredentialKind.CPR, "010180-0000")])
    assert patron.birth_date == date(1980, 1, 1)
    # The reader gives the number without the dash; it is the same credential.
    assert registry.find(Credential.from_text("0101800000")) == patron


def test_a_birth_date_that_disagrees_with_the_cpr_number_is_refused(
    registry: LocalRegistry,
) -> None:
    with pytest.raises(RegistryError, match="differs"):
        registry.add_patron("Mads Nielsen", [CPR], birth_date=date(1980, 1, 2))
    assert registry.count() == 0


def test_a_patron_may_hold_a_card_and_a_cpr_number(registry: LocalRegistry) -> None:
    patron = registry.add_patron("Oscar Pedersen", [CARD, CPR], pin="2222")
    assert registry.find(CARD) == registry.find(CPR) == patron
    assert registry.authenticate(CPR, "2222").pin is PinCheck.OK


def test_a_credential_held_by_another_patron_is_refused_and_nothing_is_written(
    registry: LocalRegistry,
) -> None:
    first = registry.add_patron("Karen Jensen", [CARD])
    with pytest.raises(RegistryError, match=first.patron_id):
        registry.add_patron("Someone Else", [CPR, CARD])
    assert registry.count() == 1
    assert registry.find(CPR) is None


@pytest.mark.parametrize(
    ("credentials", "pin", "problem"),
    [
        ([], None, "card or a CPR number"),
        ([Credential(CredentialKind.CARD, "0101800000")], None, "reads as a CPR number"),
        ([Credential(CredentialKind.CARD, "12 34")], None, "letters, digits or dashes"),
        ([Credential(CredentialKind.CPR, "3213801234")], None, "10 digits"),
        ([CARD, OTHER_CARD], None, "at most one card"),
        ([CARD], "12", "4 to 8 digits"),
    ],
)
def test_bad_patrons_are_refused_with_the_reason(
    registry: LocalRegistry, credentials: list[Credential], pin: str | None, problem: str
) -> None:
    with pytest.raises(RegistryError, match=problem):
        registry.add_patron("Karen Jensen", credentials, pin=pin)
    assert registry.count() == 0


def test_a_patron_id_is_given_once(registry: LocalRegistry) -> None:
    registry.add_patron("Karen Jensen", [CARD], patron_id="L-1001")
    with pytest.raises(RegistryError, match="patron id L-1001 is taken"):
        registry.add_patron("Mads Nielsen", [CPR], patron_id="L-1001")
    assert registry.count() == 1


def test_block_and_unblock(registry: LocalRegistry) -> None:
    registry.add_patron("Søren Larsen", [CARD], pin="3333")
    assert registry.set_status(CARD, PatronStatus.BLOCKED).status is PatronStatus.BLOCKED
    blocked = registry.authenticate(CARD, "3333").patron
    assert blocked is not None and blocked.status is PatronStatus.BLOCKED
    registry.set_status(CARD, PatronStatus.ACTIVE)
    assert registry.find(CARD) == Patron(blocked.patron_id, "Søren Larsen")


def test_changing_an_unknown_card_raises(registry: LocalRegistry) -> None:
    with pytest.raises(UnknownCredential, match="no patron holds this card"):
        registry.set_status(CARD, PatronStatus.BLOCKED)
    with pytest.raises(UnknownCredential):
        registry.set_pin(CARD, "1234")


def test_a_new_pin_replaces_the_old_one_and_lifts_a_pin_block(registry: LocalRegistry) -> None:
    registry.add_patron("Karen Jensen", [CARD], pin="1234", status=PatronStatus.PIN_BLOCKED)
    assert registry.set_pin(CARD, "5678").status is PatronStatus.ACTIVE
    assert registry.authenticate(CARD, "1234").pin is PinCheck.WRONG
    assert registry.authenticate(CARD, "5678").pin is PinCheck.OK


def test_a_new_pin_does_not_lift_a_block(registry: LocalRegistry) -> None:
    registry.add_patron("Søren Larsen", [CARD], status=PatronStatus.BLOCKED)
    assert registry.set_pin(CARD, "5678").status is PatronStatus.BLOCKED


def test_count(registry: LocalRegistry) -> None:
    registry.add_patron("Karen Jensen", [CARD])
    registry.add_patron("Mads Nielsen", [CPR])
    assert registry.count() == 2


def test_no_card_number_cpr_number_or_pin_is_stored_in_clear(
    registry: LocalRegistry, engine: Engine
) -> None:
    registry.add_patron("Oscar Pedersen", [CARD, CPR], pin="24681357")
    stored = " ".join(str(value) for value in _every_stored_value(engine))
    for secret in ("10000001", "0101800000", "24681357"):
        assert secret not in stored


def _every_stored_value(engine: Engine) -> Iterator[object]:
    stored = MetaData()
    stored.reflect(engine)  # every table in the database, whoever's model it is
    with engine.connect() as connection:
        for table in stored.sorted_tables:
            for row in connection.execute(select(table)):
                yield from row
