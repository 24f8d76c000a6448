"""The account protocol over SIP2: the test library system behind :class:`Sip2Account`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from services.core.account import AccountRefused, AccountService, AccountUnavailable
from services.core.credentials import Credential
from services.patrons.account import Sip2Account
from services.sip2.directory import Sip2Directory
from tests.services.sip2.conftest import (  # noqa: F401  (fixtures used by name)
    SITE_KEY,
    Acs,
    Clock,
    acs,
    cache_engine,
    silent,
    tcp_client,
)
from tests.services.sip2.faults import SilentServer

SOREN = Credential.from_text("9000000001")


def account_on(port: int, engine: Engine) -> Iterator[AccountService]:
    clock = Clock()
    directory = Sip2Directory(
        tcp_client(port, clock=clock, timeout_s=0.3),
        engine=engine,
        site_key=SITE_KEY,
        on_event=lambda e: None,
        clock=clock,
        account_timeout_s=0.3,
    )
    yield Sip2Account(directory)
    directory.close()


@pytest.fixture
def sip2_account(acs: Acs, cache_engine: Engine) -> Iterator[AccountService]:  # noqa: F811
    yield from account_on(acs.port, cache_engine)


def test_loans_and_reservations_come_from_the_library_system(sip2_account: AccountService) -> None:
    loans = sip2_account.loans(SOREN, "1234")
    assert [loan.overdue for loan in loans] == [True, True, False, False]
    held = sip2_account.reservations(SOREN, "1234")
    assert [(r.title, r.ready) for r in held] == [
        ("Prinsesse Mononoke", True),
        ("Øst for Vesterled", False),
    ]


def test_a_refusal_keeps_the_library_systems_reason(sip2_account: AccountService) -> None:
    result = sip2_account.renew(SOREN, "1234", "5118709375")
    assert not result.renewed and result.reason == "Reserveret af anden låner"


def test_a_wrong_pin_is_refused_not_unavailable(sip2_account: AccountService) -> None:
    with pytest.raises(AccountRefused) as refused:
        sip2_account.loans(SOREN, "0000")
    assert refused.value.wrong_pin  # a card it knows: counts towards the kiosk's lockout


def test_an_unknown_card_is_refused_without_counting_as_a_wrong_pin(
    sip2_account: AccountService,
) -> None:
    with pytest.raises(AccountRefused) as refused:
        sip2_account.loans(Credential.from_text("9000000099"), "1234")
    assert not refused.value.wrong_pin


def test_a_library_system_that_does_not_answer_is_unavailable(
    silent: SilentServer,  # noqa: F811
    cache_engine: Engine,  # noqa: F811
) -> None:
    for account in account_on(silent.port, cache_engine):
        with pytest.raises(AccountUnavailable):
            account.loans(SOREN, "1234")
        account.end_session(SOREN, "1234")  # quietly nothing
