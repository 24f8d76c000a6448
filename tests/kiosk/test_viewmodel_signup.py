"""Sign-up at the kiosk over the local directory: the rules, card and PIN, the registration the
desk's ``aabent patrons signup`` makes, and the lists snapshot that takes it to the doors."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from kiosk.background import Inline
from kiosk.i18n import Translator
from kiosk.viewmodels.signup import SignupViewModel
from services.core.account import AccountLocked, LoanRules
from services.core.credentials import Credential
from services.core.lockout import LockoutPolicy
from services.patrons import list_snapshot
from services.patrons.access_lists import current_version, sign_up
from services.patrons.account import LocalAccount
from services.patrons.account_guard import GuardedAccount
from services.patrons.pin_guard import PinGuard
from services.store.access_lists import ListAudit, SignupRecord
from tests.kiosk.conftest import Seeded
from tests.kiosk.library import KAREN_CARD, KAREN_PIN, KEY


def guarded(seeded: Seeded) -> GuardedAccount:
    """The kiosk's account behind the PIN guard the doors share (one lockout store)."""
    today = seeded.now.date
    inner = LocalAccount(seeded.sessions, seeded.library.registry, today=today, rules=LoanRules())
    guard = PinGuard(seeded.sessions, LockoutPolicy())
    return GuardedAccount(
        inner, guard, KEY, kiosk="k1", clock=lambda: seeded.now, on_event=lambda _e: None
    )


def signup_vm(
    tr: Translator, seeded: Seeded, rules: dict[str, str] | None = None, *, typed_cpr: bool = False
) -> SignupViewModel:
    account = guarded(seeded)

    def record(credential: Credential) -> bool:
        with seeded.sessions.begin() as session:
            return sign_up(session, KEY, "kiosk:k1", credential, via="kiosk", site="glostrup")

    return SignupViewModel(
        tr,
        Inline(),
        verify=account.standing,
        record=record,
        rules=rules or {},
        min_age=15,
        typed_cpr=typed_cpr,
    )


def pin(vm: SignupViewModel, digits: str) -> None:
    for digit in digits:
        vm.key(digit)
    vm.key("ok")


def test_rules_then_card_and_pin_sign_the_patron_up_as_the_desk_would(
    tr: Translator, seeded: Seeded
) -> None:
    vm = signup_vm(tr, seeded)
    assert vm.step == "rules" and "Børn under 15 år" in vm.rules
    with seeded.sessions() as session:
        before = current_version(session)
    vm.scan(KAREN_CARD)  # not yet: the rules come first
    assert vm.step == "rules"
    vm.accept()
    assert vm.step == "scan" and vm.message == "Scan dit lånerkort for at tilmelde dig"
    vm.scan(KAREN_CARD)
    assert vm.step == "pin"
    pin(vm, KAREN_PIN)
    assert vm.step == "done" and vm.message.startswith("Tak! Du er tilmeldt.")
    digest = KEY.credential_hash(Credential.from_text(KAREN_CARD))
    with seeded.sessions() as session:
        record = session.get(SignupRecord, ("glostrup", digest))
        assert record is not None and record.via == "kiosk"
        assert current_version(session) > before  # the recorder publishes the new snapshot
        assert digest in list_snapshot.take(session)["signups"]
        audit = session.scalars(select(ListAudit).where(ListAudit.action == "signup.add")).one()
        assert audit.actor == "kiosk:k1" and KAREN_CARD not in audit.subject
    vm.reset()
    vm.accept()
    vm.scan(KAREN_CARD)
    pin(vm, KAREN_PIN)
    assert vm.message.startswith("Du er allerede tilmeldt.")


def test_a_wrong_pin_signs_up_nobody_and_counts_towards_the_lockout(
    tr: Translator, seeded: Seeded
) -> None:
    vm = signup_vm(tr, seeded)
    vm.accept()
    vm.scan(KAREN_CARD)
    pin(vm, "9999")
    assert vm.step == "pin" and vm.message == "Kortnummer eller pinkode passer ikke. Prøv igen."
    assert vm.pin_mask == ""
    for _ in range(5):
        if vm.step != "pin":
            break
        pin(vm, "9999")
    assert vm.step == "scan"
    assert vm.message == "For mange forkerte pinkoder. Prøv igen senere, eller spørg personalet."
    with seeded.sessions() as session:
        assert session.scalars(select(SignupRecord)).all() == []


def test_the_sites_own_rules_in_each_language_and_the_kiosks_where_it_has_none(
    tr: Translator, seeded: Seeded
) -> None:
    vm = signup_vm(tr, seeded, {"da": "Glostrups egne husregler.", "en": ""})
    assert vm.rules == "Glostrups egne husregler."
    tr.toggle()
    assert vm.rules.startswith("House rules of the self-service library")
    vm.accept()
    vm.scan("%%garbage")
    assert vm.message == tr.catalog.text("account.not_recognised")


BIRTE_CARD, BIRTE_CPR, BIRTE_PIN = "10000009", "0103801234", "2468"


def type_in(vm: SignupViewModel, text: str) -> None:
    for char in text:
        vm.key(char)


def shown(vm: SignupViewModel) -> str:
    """Every text the sign-up screen binds to."""
    return " ".join((vm.message, vm.scan_prompt, vm.typed_mask, vm.pin_mask, vm.rules))


def signed_up(seeded: Seeded, credential: Credential) -> bool:
    with seeded.sessions() as session:
        return session.get(SignupRecord, ("glostrup", KEY.credential_hash(credential))) is not None


@pytest.fixture
def birte(seeded: Seeded) -> None:
    """A patron with a library card and her CPR number in the registry."""
    cards = [Credential.from_text(BIRTE_CARD), Credential.from_text(BIRTE_CPR)]
    seeded.library.registry.add_patron("Birte Berg", cards, pin=BIRTE_PIN)


def test_a_typed_card_number_shows_as_dots_and_signs_up_as_a_scanned_one(
    tr: Translator, seeded: Seeded
) -> None:
    vm = signup_vm(tr, seeded)
    type_in(vm, KAREN_CARD)
    assert vm.typed_mask == ""  # the rules come first
    vm.accept()
    assert vm.scan_prompt == "Scan dit lånerkort eller sundhedskort — eller tast kortnummeret"
    type_in(vm, KAREN_CARD + "9")
    assert vm.typed_mask == "•" * (len(KAREN_CARD) + 1)
    vm.key("backspace")
    assert vm.typed_mask == "•" * len(KAREN_CARD) and KAREN_CARD not in shown(vm)
    vm.key("ok")
    assert (
        vm.step == "pin"
        and vm.typed_mask == ""
        and vm.message == "Tast din pinkode for at bekræfte"
    )
    type_in(vm, KAREN_PIN)
    assert vm.pin_mask == "••••" and KAREN_PIN not in shown(vm)
    vm.key("ok")
    assert vm.step == "done" and signed_up(seeded, Credential.from_text(KAREN_CARD))
    assert KAREN_CARD not in shown(vm)


def test_a_typed_number_that_is_no_card_is_not_recognised(tr: Translator, seeded: Seeded) -> None:
    vm = signup_vm(tr, seeded)
    vm.accept()
    type_in(vm, "12")  # too short for a card
    vm.key("ok")
    assert vm.step == "scan" and vm.message == "Kortet blev ikke genkendt" and vm.typed_mask == ""


def test_a_typed_cpr_number_signs_up_where_the_site_takes_it_for_a_forgotten_card(
    tr: Translator, seeded: Seeded, birte: None
) -> None:
    vm = signup_vm(tr, seeded, typed_cpr=True)  # [access] cpr_pad_prefix set
    vm.accept()
    assert "CPR-nummer" in vm.scan_prompt
    type_in(vm, BIRTE_CPR)
    assert vm.typed_mask == "••••••••••" and BIRTE_CPR not in shown(vm)
    vm.key("ok")
    assert vm.step == "pin"
    type_in(vm, BIRTE_PIN)
    vm.key("ok")
    assert vm.step == "done" and vm.message.startswith("Tak! Du er tilmeldt.")
    assert signed_up(seeded, Credential.from_text(BIRTE_CPR))  # the desk's rule: per credential
    assert BIRTE_CPR not in shown(vm)


def test_a_typed_cpr_number_is_refused_where_the_site_does_not_take_it(
    tr: Translator, seeded: Seeded, birte: None
) -> None:
    vm = signup_vm(tr, seeded, typed_cpr=False)  # [access] cpr_pad_prefix = "" (the default)
    vm.accept()
    assert "CPR" not in vm.scan_prompt
    type_in(vm, BIRTE_CPR)
    vm.key("ok")
    assert vm.step == "scan" and vm.message_kind == "error" and vm.typed_mask == ""
    assert vm.message == (
        "Her kan du ikke tilmelde dig med CPR-nummeret. "
        "Scan dit lånerkort, eller tast kortnummeret."
    )
    tr.toggle()
    assert vm.message.startswith("You cannot sign up with your CPR number here.")
    tr.toggle()
    with seeded.sessions() as session:
        assert session.scalars(select(SignupRecord)).all() == []
    type_in(vm, BIRTE_CARD)  # her card, typed, is taken
    vm.key("ok")
    assert vm.step == "pin"
    vm.reset()
    vm.accept()
    vm.scan(BIRTE_CPR)  # the health card scanned is a card, not typing: taken as at the door
    assert vm.step == "pin"


def test_wrong_pins_after_a_typed_card_lock_the_card_for_my_account_too(
    tr: Translator, seeded: Seeded
) -> None:
    vm = signup_vm(tr, seeded)
    vm.accept()
    type_in(vm, KAREN_CARD)
    vm.key("ok")
    tries = 0
    while vm.step == "pin" and tries <= LockoutPolicy().lock_after:
        type_in(vm, "9999")
        vm.key("ok")
        tries += 1
    assert vm.step == "scan" and tries <= LockoutPolicy().lock_after + 1
    assert vm.message == "For mange forkerte pinkoder. Prøv igen senere, eller spørg personalet."
    with pytest.raises(AccountLocked):  # the same lockout store My account and the doors use
        guarded(seeded).standing(Credential.from_text(KAREN_CARD), KAREN_PIN)
