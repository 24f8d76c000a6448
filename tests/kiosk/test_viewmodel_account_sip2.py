"""My account's view model over the library system (SIP2): fines, and renewals whose outcome is
unknown. The library system is the misbehaving test server, on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from kiosk.background import Inline
from kiosk.i18n import Translator
from kiosk.viewmodels.account import AccountViewModel
from services.patrons.account import Sip2Account
from services.sip2.directory import Sip2Directory
from services.store.base import Base
from services.store.engine import make_engine
from services.store.sip2_cache import CachedPatron
from tests.kiosk.conftest import ReceiptMail
from tests.services.sip2.conftest import SITE_KEY, Clock, tcp_client
from tests.services.sip2.rogue_server import Rogue, RogueAcs


@pytest.fixture
def rogue() -> Iterator[RogueAcs]:
    """The misbehaving test library system."""
    server = RogueAcs()
    yield server
    server.stop()


@contextmanager
def sip2_directory(port: int, folder: Path) -> Iterator[tuple[Sip2Directory, Clock]]:
    """The kiosk's SIP2 directory for the library system on ``port``, its cache in ``folder``."""
    engine = make_engine(f"sqlite:///{folder / 'kiosk-sip2.sqlite'}")
    Base.metadata.create_all(engine, tables=[CachedPatron.__table__])  # type: ignore[list-item]
    clock = Clock()
    directory = Sip2Directory(
        tcp_client(port, clock=clock),
        engine=engine,
        site_key=SITE_KEY,
        on_event=lambda e: None,
        clock=clock,
        account_timeout_s=1.0,
    )
    try:
        yield directory, clock
    finally:
        directory.close()
        engine.dispose()


@contextmanager
def sip2_account(port: int, folder: Path) -> Iterator[tuple[Sip2Account, Clock]]:
    """The kiosk's account service on a SIP2 directory for the library system on ``port``."""
    with sip2_directory(port, folder) as (directory, clock):
        yield Sip2Account(directory), clock


@pytest.fixture
def vm(rogue: RogueAcs, tr: Translator, tmp_path: Path) -> Iterator[AccountViewModel]:
    """The account screen's view model on a SIP2 directory for the rogue server."""
    with sip2_account(rogue.port, tmp_path) as (account, clock):
        yield AccountViewModel(tr, Inline(), account=account, today=lambda: clock().date())


def sign_in(vm: AccountViewModel, card: str, pin: str) -> None:
    vm.scan(card)
    for digit in pin:
        vm.key(digit)
    vm.key("ok")


def test_what_the_patron_owes_is_shown_in_danish_then_english(
    vm: AccountViewModel, tr: Translator
) -> None:
    sign_in(vm, "9000000010", "1010")
    assert vm.signed_in
    assert vm.owed.startswith("Du skylder 245,50 kr.\nGebyrer kan forhindre fornyelse")
    assert vm.fines == ["4933448504 Overskredet lånetid 45.50", "5120684762 Erstatning 200.00"]
    tr.toggle()
    assert vm.owed.startswith("You owe DKK 245.50\nFees can stop renewals")


def test_nothing_owed_shows_nothing(vm: AccountViewModel) -> None:
    sign_in(vm, "9000000007", "7777")
    assert vm.signed_in and vm.owed == "" and vm.fines == []


def test_a_renewal_that_may_have_happened_says_check_your_loans_with_the_due_date_read_again(
    vm: AccountViewModel, rogue: RogueAcs, tr: Translator
) -> None:
    sign_in(vm, "9000000007", "7777")
    rogue.rogue = Rogue(close_after={"29"})  # renews, then hangs up before the reply
    vm.renew("6000000001")
    row = next(r for r in vm.loans if r["item_id"] == "6000000001")
    assert row["outcome"] == "unknown"
    assert (
        row["outcome_text"] == "Vi ved ikke, om den blev fornyet. Tjek afleveringsdatoen ovenfor."
    )
    due = rogue.due["6000000001"]
    assert due is not None and row["due"] == "Afleveres " + tr.catalog.date_text(due)
    assert vm.message == ""  # not "the library system cannot be reached"
    tr.toggle()
    row = next(r for r in vm.loans if r["item_id"] == "6000000001")
    assert row["outcome_text"].startswith("We could not tell whether it was renewed")


def test_a_renew_all_that_may_have_happened_is_never_said_to_have_failed(
    vm: AccountViewModel, rogue: RogueAcs
) -> None:
    sign_in(vm, "9000000008", "8888")
    rogue.rogue = Rogue(down_after={"65"})  # renews everything, then the system goes down
    vm.renew_all()
    assert [r["outcome"] for r in vm.loans] == ["unknown", "unknown"]
    assert "kan ikke nås" not in vm.message  # not "the library system cannot be reached"
    assert len(rogue.renewals) == 1  # one renewed, one refused: it did happen


def test_reserve_and_cancel_over_sip2_with_the_queue_position_and_the_status_line(
    tr: Translator, tmp_path: Path
) -> None:
    from tests.services.sip2.conftest import Acs

    acs = Acs()
    acs.start()
    try:
        with sip2_account(acs.port, tmp_path) as (account, clock):
            vm = AccountViewModel(tr, Inline(), account=account, today=lambda: clock().date())
            vm.want("3843081011", "Øst for Vesterled")  # two patrons are ahead of Frida
            sign_in(vm, "9000000007", "7777")
            assert vm.message == "Øst for Vesterled er reserveret. Du er nr. 3 i køen."
            assert [r["title"] for r in vm.reservations] == ["Øst for Vesterled"]
            assert vm.standing == ""
            vm.cancel(vm.reservations[0]["item_id"])
            assert vm.message == "Reservationen af Øst for Vesterled er slettet."
            assert vm.reservations == []
            vm.reset()
            sign_in(vm, "9000000002", "2222")  # charge privileges denied: blocked
            assert vm.standing == "Dit lånerkort er spærret — kontakt biblioteket."
            vm.want("3843081011", "Øst for Vesterled")
            assert vm.message == "Øst for Vesterled kunne ikke reserveres: Lånerkortet er spærret"
    finally:
        acs.stop()


def test_a_receipt_of_the_renewals_goes_by_email_to_the_library_systems_address(
    tr: Translator, tmp_path: Path, receipt_mail: ReceiptMail
) -> None:
    from tests.services.sip2.conftest import Acs

    box = receipt_mail.box
    acs = Acs()
    acs.start()
    try:
        with sip2_account(acs.port, tmp_path) as (account, clock):
            vm = AccountViewModel(
                tr,
                Inline(),
                account=account,
                today=lambda: clock().date(),
                send_receipt=receipt_mail.send,
                library="Glostrup Bibliotek",
            )
            sign_in(vm, "9000000007", "7777")
            assert not vm.can_receipt  # nothing renewed yet
            vm.renew_all()
            assert vm.can_receipt
            vm.send_receipt()
            assert box.event.wait(5)
            assert vm.message == "Kvitteringen er sendt til f•••@example.dk."
            envelope, message = box.messages[0]
            assert envelope.rcpt_tos == ["frida@example.dk"] and box.logins == ["aabent"]
            assert message["Subject"].startswith("Glostrup Bibliotek: dine fornyelser ")
            body = message.get_content()
            assert "• Fornyes gerne — afleveres " in body
            assert "• Fornyes ikke — ikke fornyet: Maks. antal fornyelser" in body
            vm.reset()
            sign_in(vm, "9000000008", "8888")  # no address in the library system
            vm.renew_all()
            assert not vm.can_receipt
    finally:
        acs.stop()


def test_a_receipt_that_cannot_be_sent_says_so_and_the_renewals_stand(
    tr: Translator, tmp_path: Path
) -> None:
    from services.runtime.mail import send_text
    from services.settings import EmailSettings
    from tests.conftest import free_port
    from tests.services.sip2.conftest import Acs

    unused = {"host": "127.0.0.1", "port": free_port(), "from": "noreply@glostrup.dk"}
    mail = EmailSettings.model_validate(unused | {"timeout_s": 2})

    def send(to: str, subject: str, body: str) -> None:
        send_text(mail, to, subject, body)  # KioskServices.send_receipt's own path

    acs = Acs()
    acs.start()
    try:
        with sip2_account(acs.port, tmp_path) as (account, clock):
            vm = AccountViewModel(tr, Inline(), account=account, today=lambda: clock().date(),
                                  send_receipt=send, library="Glostrup Bibliotek")  # fmt: skip
            sign_in(vm, "9000000007", "7777")
            vm.renew("6000000001")
            vm.send_receipt()
            assert vm.message.startswith("Vi kunne ikke sende kvitteringen lige nu.")
            assert any(r["outcome"] == "renewed" for r in vm.loans)
    finally:
        acs.stop()
