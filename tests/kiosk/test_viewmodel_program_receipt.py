"""A programme check-in's receipt by e-mail: offered after a check-in by card where the library
system (SIP2 BE, the test ACS on loopback) has an address, sent without showing it, never to
guests. The mail itself goes through the renewal receipts' SMTP path to a real aiosmtpd."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from kiosk.background import Inline, Runner
from kiosk.checkin import identify_with
from kiosk.i18n import Translator
from kiosk.viewmodels.program import ProgramViewModel
from services.core.credentials import Credential
from services.core.patrons import PatronDirectory
from services.program.desk import ProgramDesk
from services.sip2.directory import Sip2Directory
from tests.kiosk.conftest import Deferred, ReceiptMail, Seeded
from tests.kiosk.library import KAREN_CARD, KEY, NOW_ACTIVITY, NOW_ACTIVITY_TITLE
from tests.kiosk.test_viewmodel_account_sip2 import sip2_directory
from tests.services.sip2.conftest import Acs, _acs

ZONE = ZoneInfo("Europe/Copenhagen")
FRIDA = "9000000007"  # the library system has frida@example.dk for her
AASE = "9000000008"  # the library system has no address for her

Sent = list[tuple[str, str, str]]


@pytest.fixture(scope="module")
def acs() -> Iterator[Acs]:
    """The test library system (pysip2 ACS) for the module."""
    yield from _acs()


@pytest.fixture
def sip2(acs: Acs, tmp_path: Path) -> Iterator[Sip2Directory]:
    """The kiosk's SIP2 directory for the test library system."""
    with sip2_directory(acs.port, tmp_path) as (directory, _clock):
        yield directory


def program_vm(
    tr: Translator,
    seeded: Seeded,
    directory: PatronDirectory,
    send: object = None,
    runner: Runner | None = None,
) -> ProgramViewModel:
    clock = lambda: seeded.now  # noqa: E731
    desk = ProgramDesk(seeded.sessions, kiosk="k1", clock=clock, window=timedelta(minutes=30))
    vm = ProgramViewModel(
        tr,
        runner or Inline(),
        desk=desk,
        identify=identify_with(directory, KEY),
        clock=clock,
        tz=ZONE,
        send_receipt=send,  # type: ignore[arg-type]
        library="Glostrup Bibliotek",
    )
    vm.load()
    return vm


def recorder(sent: Sent) -> object:
    def send(to: str, subject: str, body: str) -> None:
        sent.append((to, subject, body))

    return send


def check_in(vm: ProgramViewModel, card: str) -> None:
    vm.select(NOW_ACTIVITY)
    vm.start_check_in()
    vm.scan(card)


def test_a_check_in_by_card_offers_the_receipt_and_sends_it_without_showing_the_address(
    tr: Translator, seeded: Seeded, sip2: Sip2Directory
) -> None:
    sent: Sent = []
    vm = program_vm(tr, seeded, sip2, recorder(sent))
    check_in(vm, FRIDA)
    assert vm.message == f"Velkommen! Du er tjekket ind til {NOW_ACTIVITY_TITLE}."
    assert vm.mode == "done" and vm.can_receipt
    assert "frida" not in vm.message.lower() and "Fornyer" not in vm.message
    vm.send_receipt()
    assert vm.message == "Kvitteringen er sendt til din e-mail." and vm.message_ok
    assert not vm.can_receipt  # one receipt per check-in
    [(to, subject, body)] = sent
    assert to == "frida@example.dk"
    assert subject == f"Glostrup Bibliotek: du er tjekket ind til {NOW_ACTIVITY_TITLE}"
    starts = seeded.now.replace(second=0, microsecond=0) - timedelta(minutes=10)
    day = tr.catalog.date_text(starts.date())
    start, end = tr.catalog.time_text(starts), tr.catalog.time_text(starts + timedelta(hours=2))
    assert body.splitlines() == [
        "Her er kvitteringen for dit tjek ind:",
        "",
        f"Arrangement: {NOW_ACTIVITY_TITLE}",
        f"Tid: {day} kl. {start}–{end}",
        "Sted: Caféen",
        "Antal: 1 person",
        "",
        "Venlig hilsen",
        "Glostrup Bibliotek",
    ]
    assert FRIDA not in subject + body
    vm.send_receipt()  # a second tap sends nothing
    assert len(sent) == 1


def test_the_receipt_is_in_the_patrons_language(
    tr: Translator, seeded: Seeded, sip2: Sip2Directory
) -> None:
    sent: Sent = []
    vm = program_vm(tr, seeded, sip2, recorder(sent))
    check_in(vm, FRIDA)
    tr.toggle()
    vm.send_receipt()
    assert vm.message == "The receipt has been sent to your e-mail."
    [(_to, subject, body)] = sent
    assert subject == f"Glostrup Bibliotek: you are checked in to {NOW_ACTIVITY_TITLE}"
    assert "Place: Caféen" in body and "Number: 1 person" in body
    tr.toggle()
    assert vm.message == "Kvitteringen er sendt til din e-mail."


def test_no_address_on_file_no_receipt_button(
    tr: Translator, seeded: Seeded, sip2: Sip2Directory
) -> None:
    sent: Sent = []
    vm = program_vm(tr, seeded, sip2, recorder(sent))
    check_in(vm, AASE)
    assert vm.message.startswith("Velkommen!") and not vm.can_receipt
    vm.send_receipt()
    assert sent == []
    local = program_vm(tr, seeded, seeded.library.registry, recorder(sent))
    check_in(local, KAREN_CARD)  # the local registry keeps no e-mail addresses
    assert local.message.startswith("Velkommen!") and not local.can_receipt


def test_no_receipt_where_receipts_are_off(
    tr: Translator, seeded: Seeded, sip2: Sip2Directory
) -> None:
    vm = program_vm(tr, seeded, sip2, send=None)  # [kiosk] receipts = false, or no SMTP server
    check_in(vm, FRIDA)
    assert vm.message.startswith("Velkommen!") and not vm.can_receipt


def test_guests_and_the_next_patron_never_get_the_last_patrons_receipt(
    tr: Translator, seeded: Seeded, sip2: Sip2Directory
) -> None:
    sent: Sent = []
    vm = program_vm(tr, seeded, sip2, recorder(sent))
    check_in(vm, FRIDA)
    assert vm.can_receipt
    vm.back()
    vm.start_guests()
    vm.confirm_guests()
    assert vm.message == f"Velkommen! I er tjekket ind til {NOW_ACTIVITY_TITLE}."
    assert not vm.can_receipt  # guests without a card: no receipt
    vm.send_receipt()
    vm.back()
    vm.start_check_in()
    vm.scan(AASE)  # the next patron, no address on file
    assert vm.message.startswith("Velkommen!") and not vm.can_receipt
    vm.send_receipt()
    assert sent == []


def test_a_receipt_already_checked_in_is_not_offered(
    tr: Translator, seeded: Seeded, sip2: Sip2Directory
) -> None:
    vm = program_vm(tr, seeded, sip2, recorder([]))
    check_in(vm, FRIDA)
    vm.back()
    vm.start_check_in()
    vm.scan(FRIDA)
    assert vm.message == "Du er allerede tjekket ind." and not vm.can_receipt


def test_a_receipt_that_cannot_be_sent_says_so_and_may_be_tried_again(
    tr: Translator, seeded: Seeded, sip2: Sip2Directory
) -> None:
    tries: list[str] = []

    def down(to: str, subject: str, body: str) -> None:
        tries.append(to)
        raise ConnectionRefusedError("no SMTP server")

    vm = program_vm(tr, seeded, sip2, down)
    check_in(vm, FRIDA)
    vm.send_receipt()
    assert (
        vm.message == ("Vi kunne ikke sende kvitteringen lige nu. Du er stadig tjekket ind.")
        and not vm.message_ok
    )
    assert vm.can_receipt
    vm.send_receipt()
    assert len(tries) == 2


def test_a_failed_send_that_answers_after_the_next_patron_offers_them_nothing(
    tr: Translator, seeded: Seeded, sip2: Sip2Directory, deferred: Deferred
) -> None:
    def down(to: str, subject: str, body: str) -> None:
        raise ConnectionRefusedError("no SMTP server")

    vm = program_vm(tr, seeded, sip2, down, runner=deferred)
    deferred.finish()  # the programme
    check_in(vm, FRIDA)
    deferred.finish()  # Frida's check-in
    deferred.finish()  # the programme read again
    assert vm.can_receipt
    vm.send_receipt()  # the SMTP server is slow to refuse
    vm.back()
    vm.start_check_in()
    vm.scan(AASE)
    deferred.finish(1)  # the next patron's check-in answers first
    assert vm.message.startswith("Velkommen!") and not vm.can_receipt
    deferred.finish(0)  # then Frida's receipt fails: stale, nothing changes
    assert vm.message.startswith("Velkommen!") and not vm.can_receipt


def test_leaving_forgets_the_receipt(tr: Translator, seeded: Seeded, sip2: Sip2Directory) -> None:
    sent: Sent = []
    vm = program_vm(tr, seeded, sip2, recorder(sent))
    check_in(vm, FRIDA)
    vm.reset()
    assert not vm.can_receipt and vm.mode == "list"
    vm.send_receipt()
    assert sent == []


def test_the_mail_on_the_wire_holds_the_activity_and_no_card_number(
    tr: Translator, seeded: Seeded, sip2: Sip2Directory, receipt_mail: ReceiptMail
) -> None:
    box = receipt_mail.box
    vm = program_vm(tr, seeded, sip2, receipt_mail.send)
    check_in(vm, FRIDA)
    vm.send_receipt()
    assert box.event.wait(5)
    assert vm.message == "Kvitteringen er sendt til din e-mail."
    envelope, _message = box.messages[0]
    assert envelope.rcpt_tos == ["frida@example.dk"] and box.logins == ["aabent"]
    raw = envelope.original_content or b""
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    text = str(parsed["Subject"]) + parsed.get_content()  # type: ignore[attr-defined]
    assert f"Arrangement: {NOW_ACTIVITY_TITLE}" in text and "Sted: Caféen" in text
    assert f"Arrangement: {NOW_ACTIVITY_TITLE}".encode() in raw  # 8bit UTF-8 on the wire
    pseudonym = KEY.pseudonym(Credential.from_text(FRIDA))
    for secret_text in (FRIDA, pseudonym):
        assert secret_text.encode() not in raw and secret_text not in text
