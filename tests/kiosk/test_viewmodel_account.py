"""My account's view model over the local directory: card, PIN, loans, renewals, privacy."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import create_engine

from kiosk.background import Inline
from kiosk.i18n import Translator
from kiosk.viewmodels.account import AccountViewModel
from services.core.account import LoanRules
from services.core.events import Event, EventType
from services.core.lockout import LockoutPolicy
from services.patrons.account import LocalAccount
from services.patrons.account_guard import GuardedAccount
from services.patrons.pin_guard import PinGuard
from services.patrons.registry import LocalRegistry
from services.store.engine import make_sessionmaker
from tests.kiosk.conftest import Deferred, Seeded
from tests.kiosk.library import (
    KAREN_CARD,
    KAREN_PIN,
    KEY,
    OVERDUE,
    READY_SHELF,
    WANTED,
    WORN,
)


def account_vm(tr: Translator, seeded: Seeded, runner: Any = None) -> AccountViewModel:
    today = seeded.now.date
    registry, rules = seeded.library.registry, LoanRules(3, 30)
    service = LocalAccount(seeded.sessions, registry, today=today, rules=rules)
    return AccountViewModel(tr, runner or Inline(), account=service, today=today)


def sign_in(vm: AccountViewModel, card: str = KAREN_CARD, pin: str = KAREN_PIN) -> None:
    vm.scan(card)
    for digit in pin:
        vm.key(digit)
    vm.key("ok")


def texts(vm: AccountViewModel) -> str:
    """Everything the view model would put on the screen, as one string."""
    parts = [vm.message, vm.typed_mask, vm.pin_mask, repr(vm.loans), repr(vm.reservations)]
    return " ".join(parts)


def test_card_and_pin_open_the_loans_soonest_due_first(tr: Translator, seeded: Seeded) -> None:
    vm = account_vm(tr, seeded)
    vm.scan(KAREN_CARD)
    assert vm.step == "pin" and vm.message == "Kortet er læst"
    for digit in KAREN_PIN:
        vm.key(digit)
    assert vm.pin_mask == "••••"
    vm.key("ok")
    assert vm.step == "account" and vm.message == ""
    first = vm.loans[0]
    assert first["title"] == OVERDUE[1] and first["overdue"]
    assert first["due"].startswith("For sent — skulle afleveres ")
    assert [row["title"] for row in vm.reservations] == ["Nordkraft"]
    assert vm.reservations[0]["status"].startswith(f"Klar til afhentning på hylde {READY_SHELF}")
    assert KAREN_CARD not in texts(vm) and KAREN_PIN not in texts(vm)


def test_a_typed_card_number_shows_as_dots(tr: Translator, seeded: Seeded) -> None:
    vm = account_vm(tr, seeded)
    for digit in KAREN_CARD:
        vm.key(digit)
    assert vm.typed_mask == "•" * len(KAREN_CARD)
    vm.key("ok")
    assert vm.step == "pin" and vm.typed_mask == ""


def test_garbage_says_card_not_recognised(tr: Translator, seeded: Seeded) -> None:
    vm = account_vm(tr, seeded)
    vm.scan("§§ PRIS 49,95 §§")
    assert vm.step == "scan" and vm.message == "Kortet blev ikke genkendt"
    assert vm.message_kind == "error"


def test_a_wrong_pin_may_be_tried_again_three_times_at_most(tr: Translator, seeded: Seeded) -> None:
    vm = account_vm(tr, seeded)
    sign_in(vm, pin="0000")
    assert vm.step == "pin" and vm.message.startswith("Kortnummer eller pinkode passer ikke")
    assert vm.pin_mask == ""
    for digit in "9999":
        vm.key(digit)
    vm.key("ok")
    for digit in "1111":
        vm.key(digit)
    vm.key("ok")
    assert vm.step == "scan" and vm.message == "For mange forsøg. Spørg personalet."


def test_scanning_again_does_not_give_a_guesser_more_tries(tr: Translator, seeded: Seeded) -> None:
    # the kiosk's three tries end one attempt; the doors' lockout counts across attempts
    events: list[Event] = []
    inner = LocalAccount(seeded.sessions, seeded.library.registry, today=seeded.now.date)
    guard = PinGuard(seeded.sessions, LockoutPolicy())
    guarded = GuardedAccount(
        inner, guard, KEY, kiosk="k1", clock=lambda: seeded.now, on_event=events.append
    )
    vm = AccountViewModel(tr, Inline(), account=guarded, today=seeded.now.date)
    for _ in range(2):
        for pin in ("0000", "1111", "2222"):
            sign_in(vm, pin=pin)
    assert vm.message == "For mange forkerte pinkoder. Prøv igen senere, eller spørg personalet."
    assert vm.step == "scan" and KAREN_CARD not in texts(vm)
    assert [e.type for e in events] == [EventType.PIN_LOCKED_OUT]
    sign_in(vm)  # the right PIN, while the card is locked
    assert not vm.signed_in and vm.message.startswith("For mange forkerte pinkoder.")
    tr.toggle()
    assert vm.message == "Too many wrong PINs. Try again later, or ask the staff."


def test_renewals_show_per_item_results_with_reasons(tr: Translator, seeded: Seeded) -> None:
    vm = account_vm(tr, seeded)
    sign_in(vm)
    vm.renew(WANTED[0])
    row = next(r for r in vm.loans if r["item_id"] == WANTED[0])
    assert row["outcome"] == "refused"
    assert row["outcome_text"] == "Ikke fornyet: en anden låner har reserveret den"
    vm.renew_all()
    rows = {r["item_id"]: r for r in vm.loans}
    renewed_to = seeded.now.date() + timedelta(days=30)
    assert rows[OVERDUE[0]]["outcome"] == "renewed" and not rows[OVERDUE[0]]["overdue"]
    assert rows[OVERDUE[0]]["outcome_text"] == f"Fornyet til {tr.catalog.date_text(renewed_to)}"
    assert rows[WORN[0]]["outcome_text"].endswith("den er fornyet det største antal gange")
    tr.toggle()
    rows = {r["item_id"]: r for r in vm.loans}
    assert rows[WANTED[0]]["outcome_text"] == "Not renewed: someone else has reserved it"


def test_an_unreachable_library_system_is_said_plainly(tr: Translator, seeded: Seeded) -> None:
    broken = make_sessionmaker(create_engine("sqlite:////nonexistent-aabent/db.sqlite"))
    service = LocalAccount(broken, LocalRegistry(broken, KEY), today=seeded.now.date)
    vm = AccountViewModel(tr, Inline(), account=service, today=seeded.now.date)
    sign_in(vm)
    assert vm.step == "scan" and vm.message_kind == "error"
    assert vm.message.startswith("Bibliotekssystemet kan ikke nås lige nu.")
    assert "tjek ind" in vm.message  # search and check-in still work, it says


def test_reset_leaves_no_trace_even_of_answers_still_on_their_way(
    tr: Translator, seeded: Seeded, deferred: Deferred
) -> None:
    vm = account_vm(tr, seeded, deferred)
    sign_in(vm)
    deferred.finish()
    assert vm.loans
    vm.renew_all()  # in flight when the patron walks away
    vm.reset()
    # the renewal, then the end of the library-system session
    while deferred.jobs:
        deferred.finish()
    assert (vm.step, vm.loans, vm.reservations, vm.message) == ("scan", [], [], "")
    assert vm.pin_mask == vm.typed_mask == ""
    assert vm._credential is None and vm._pin == ""


def test_forny_twice_the_same_day_takes_one_renewal_and_shows_the_new_due_date(
    tr: Translator, seeded: Seeded
) -> None:
    vm = account_vm(tr, seeded)
    sign_in(vm)
    renewed_to = tr.catalog.date_text(seeded.now.date() + timedelta(days=30))
    vm.renew(OVERDUE[0])
    vm.renew(OVERDUE[0])
    row = next(r for r in vm.loans if r["item_id"] == OVERDUE[0])
    assert (
        row["outcome_text"] == "Ikke fornyet: den er allerede fornyet så langt, som den kan i dag"
    )
    assert renewed_to in row["due"] and not row["overdue"]


def test_reserve_a_title_shows_the_queue_position_and_cancel_it(
    tr: Translator, seeded: Seeded
) -> None:
    vm = account_vm(tr, seeded)
    vm.want("29001378", "Fasandræberne")  # Ole is already waiting for it
    assert vm.wanted == "Scan dit lånerkort for at reservere Fasandræberne"
    sign_in(vm)
    assert vm.message == "Fasandræberne er reserveret. Du er nr. 2 i køen."
    row = next(r for r in vm.reservations if r["title"] == "Fasandræberne")
    assert row["status"] == "Du er nr. 2 i køen" and vm.wanted == ""
    tr.toggle()
    assert vm.message == "Fasandræberne is reserved. You are number 2 in the queue."
    tr.toggle()
    vm.want("29001378", "Fasandræberne")
    assert vm.message == "Fasandræberne kunne ikke reserveres: du har allerede reserveret den"
    vm.cancel(row["item_id"])
    assert vm.message == "Reservationen af Fasandræberne er slettet."
    assert [r["title"] for r in vm.reservations] == ["Nordkraft"]
    vm.cancel(row["item_id"])
    assert vm.message.endswith("kunne ikke slettes: du har ingen reservation af den")


def test_a_blocked_patron_sees_the_status_line_and_reserves_nothing(
    tr: Translator, seeded: Seeded
) -> None:
    from services.core.credentials import Credential
    from services.core.patrons import PatronStatus

    seeded.library.registry.set_status(Credential.from_text(KAREN_CARD), PatronStatus.BLOCKED)
    vm = account_vm(tr, seeded)
    sign_in(vm)
    assert vm.standing == "Dit lånerkort er spærret — kontakt biblioteket."
    vm.want("29001378", "Fasandræberne")
    assert vm.message == "Fasandræberne kunne ikke reserveres: dit lånerkort er spærret"
    vm.reset()
    assert vm.standing == "" and vm.message == ""


def test_an_active_patron_has_no_status_line(tr: Translator, seeded: Seeded) -> None:
    vm = account_vm(tr, seeded)
    sign_in(vm)
    assert vm.step == "account" and vm.standing == ""


def _pin_vm(tr: Translator, seeded: Seeded, changeable: bool = True) -> AccountViewModel:
    from services.core.credentials import Credential

    today = seeded.now.date
    registry = seeded.library.registry
    service = LocalAccount(seeded.sessions, registry, today=today, rules=LoanRules(3, 30))

    def change(credential: Credential, pin: str, new: str) -> None:
        service.standing(credential, pin)
        registry.set_pin(credential, new)

    return AccountViewModel(
        tr, Inline(), account=service, today=today, change_pin=change if changeable else None
    )


def _type(vm: AccountViewModel, digits: str) -> None:
    for digit in digits:
        vm.key(digit)
    vm.key("ok")


def test_a_new_pin_twice_changes_it_in_the_local_registry(tr: Translator, seeded: Seeded) -> None:
    from services.core.credentials import Credential
    from services.core.patrons import PinCheck

    vm = _pin_vm(tr, seeded)
    sign_in(vm)
    vm.start_pin_change()
    assert vm.step == "newpin" and vm.new_pin_prompt == "Tast din nye pinkode (4 til 8 cifre)"
    _type(vm, "12")
    assert vm.message == "En pinkode er 4 til 8 cifre. Prøv igen." and vm.step == "newpin"
    _type(vm, "2468")
    assert vm.new_pin_prompt == "Tast den nye pinkode igen" and vm.new_pin_mask == ""
    _type(vm, "2469")
    assert vm.message == "De to pinkoder var ikke ens. Start forfra."
    _type(vm, "2468")
    vm.key("2")
    assert vm.new_pin_mask == "•"
    vm.key("backspace")
    for d in "2468":
        vm.key(d)
    vm.key("ok")
    assert vm.step == "account" and vm.message.startswith("Din pinkode er skiftet.")
    card = Credential.from_text(KAREN_CARD)
    registry = seeded.library.registry
    assert registry.authenticate(card, "2468").pin is PinCheck.OK
    assert registry.authenticate(card, KAREN_PIN).pin is PinCheck.WRONG
    vm.renew_all()  # the session goes on with the new PIN
    assert vm.message == "" and all(r["outcome"] for r in vm.loans)


def test_cancel_keeps_the_old_pin_and_sip2_says_the_desk_does_it(
    tr: Translator, seeded: Seeded
) -> None:
    from services.core.credentials import Credential
    from services.core.patrons import PinCheck

    vm = _pin_vm(tr, seeded)
    sign_in(vm)
    vm.start_pin_change()
    _type(vm, "2468")
    vm.key("cancel")
    assert vm.step == "account"
    card = Credential.from_text(KAREN_CARD)
    assert seeded.library.registry.authenticate(card, KAREN_PIN).pin is PinCheck.OK
    desk = _pin_vm(tr, seeded, changeable=False)
    sign_in(desk)
    desk.start_pin_change()
    assert desk.step == "account"
    assert desk.message.startswith("Pinkoden skiftes ved skranken")
