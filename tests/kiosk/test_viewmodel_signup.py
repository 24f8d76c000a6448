"""Sign-up at the kiosk over the local directory: the rules, card and PIN, the registration the
desk's ``aabent patrons signup`` makes, and the lists snapshot that takes it to the doors."""

from __future__ import annotations

from sqlalchemy import select

from kiosk.background import Inline
from kiosk.i18n import Translator
from kiosk.viewmodels.signup import SignupViewModel
from services.core.account import LoanRules
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


def signup_vm(
    tr: Translator, seeded: Seeded, rules: dict[str, str] | None = None
) -> SignupViewModel:
    today = seeded.now.date
    inner = LocalAccount(seeded.sessions, seeded.library.registry, today=today, rules=LoanRules())
    guard = PinGuard(seeded.sessions, LockoutPolicy())
    account = GuardedAccount(
        inner, guard, KEY, kiosk="k1", clock=lambda: seeded.now, on_event=lambda _e: None
    )

    def record(credential: Credential) -> bool:
        with seeded.sessions.begin() as session:
            return sign_up(session, KEY, "kiosk:k1", credential, via="kiosk", site="glostrup")

    return SignupViewModel(
        tr, Inline(), verify=account.standing, record=record, rules=rules or {}, min_age=15
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
