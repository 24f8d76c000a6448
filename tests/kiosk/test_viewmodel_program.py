"""The programme view model over a real program: check in with a card, as guests, register."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine

from kiosk.background import Inline
from kiosk.checkin import identify_with
from kiosk.i18n import Translator
from kiosk.viewmodels.program import ProgramViewModel
from services.patrons.registry import LocalRegistry
from services.program.desk import ProgramDesk
from services.store.engine import make_sessionmaker
from tests.kiosk.conftest import Seeded
from tests.kiosk.library import (
    KAREN_CARD,
    KEY,
    NOW_ACTIVITY,
    NOW_ACTIVITY_TITLE,
    OLE_CARD,
    TALK_ACTIVITY,
    TALK_ACTIVITY_TITLE,
)

ZONE = ZoneInfo("Europe/Copenhagen")


def program_vm(tr: Translator, seeded: Seeded, directory: object = None) -> ProgramViewModel:
    clock = lambda: seeded.now  # noqa: E731
    desk = ProgramDesk(seeded.sessions, kiosk="k1", clock=clock, window=timedelta(minutes=30))
    identify = identify_with(directory or seeded.library.registry, KEY)  # type: ignore[arg-type]
    vm = ProgramViewModel(tr, Inline(), desk=desk, identify=identify, clock=clock, tz=ZONE)
    vm.load()
    return vm


def row(vm: ProgramViewModel, uid: str) -> dict[str, object]:
    return next(r for r in vm.activities if r["activity_uid"] == uid)


def test_the_list_shows_today_tomorrow_seats_and_registration(
    tr: Translator, seeded: Seeded
) -> None:
    vm = program_vm(tr, seeded)
    assert vm.title == "Arrangementer de næste 14 dage"
    now_row, talk = row(vm, NOW_ACTIVITY), row(vm, TALK_ACTIVITY)
    assert (now_row["day"], now_row["seats"]) == ("I dag", "4 pladser tilbage")
    assert now_row["open"]
    assert talk["day"] == "I morgen" and talk["registration"] == "Kræver tilmelding"
    assert not talk["open"]


def test_check_in_with_a_card_once(tr: Translator, seeded: Seeded) -> None:
    vm = program_vm(tr, seeded)
    vm.select(NOW_ACTIVITY)
    assert vm.activity_title == NOW_ACTIVITY_TITLE and vm.can_check_in and not vm.can_register
    vm.start_check_in()
    assert vm.mode == "scan" and vm.prompt == "Scan dit lånerkort for at tjekke ind"
    vm.scan("!!garbage!!")
    assert vm.mode == "scan" and vm.message == "Kortet blev ikke genkendt"
    vm.scan("99999999")  # a well-formed card nobody holds
    assert vm.message == "Kortet blev ikke genkendt"
    vm.scan(KAREN_CARD)
    assert vm.mode == "done" and vm.message_ok
    assert vm.message == f"Velkommen! Du er tjekket ind til {NOW_ACTIVITY_TITLE}."
    assert row(vm, NOW_ACTIVITY)["seats"] == "3 pladser tilbage"
    vm.back()
    vm.start_check_in()
    vm.scan(KAREN_CARD)
    assert vm.message == "Du er allerede tjekket ind." and not vm.message_ok


def test_guests_by_head_count_until_the_activity_is_full(tr: Translator, seeded: Seeded) -> None:
    vm = program_vm(tr, seeded)
    vm.select(NOW_ACTIVITY)
    vm.start_guests()
    assert vm.prompt == "Hvor mange er I?"
    for _ in range(3):
        vm.more_guests()
    vm.fewer_guests()
    vm.more_guests()
    assert vm.guests == 4
    vm.confirm_guests()
    assert vm.message == f"Velkommen! I er tjekket ind til {NOW_ACTIVITY_TITLE}."
    assert row(vm, NOW_ACTIVITY)["seats"] == "Fuldt"
    vm.back()
    vm.start_check_in()
    vm.scan(OLE_CARD)
    assert vm.message == "Desværre — der er ikke flere pladser."
    tr.toggle()
    assert vm.message == "Sorry — there are no seats left."


def test_registration_ahead_of_an_activity_that_needs_it(tr: Translator, seeded: Seeded) -> None:
    vm = program_vm(tr, seeded)
    vm.select(TALK_ACTIVITY)
    assert vm.can_register and not vm.can_check_in
    opens = seeded.now.replace(second=0, microsecond=0) + timedelta(days=1, minutes=-40)
    assert f"Tjek ind fra kl. {opens.astimezone(ZONE):%H:%M}" in vm.detail
    vm.start_registration()
    assert vm.prompt == "Scan dit lånerkort for at tilmelde dig"
    vm.scan(KAREN_CARD)
    assert vm.message == f"Du er tilmeldt {TALK_ACTIVITY_TITLE}."
    vm.back()
    vm.start_registration()
    vm.scan(KAREN_CARD)
    assert vm.message == "Du er allerede tilmeldt."


def test_an_unreachable_directory_offers_the_guest_check_in(tr: Translator, seeded: Seeded) -> None:
    broken = make_sessionmaker(create_engine("sqlite:////nonexistent-aabent/db.sqlite"))
    vm = program_vm(tr, seeded, LocalRegistry(broken, KEY))
    vm.select(NOW_ACTIVITY)
    vm.start_check_in()
    vm.scan(KAREN_CARD)
    assert vm.message.startswith("Vi kan ikke slå kortet op lige nu.") and not vm.message_ok


def test_reset_goes_back_to_the_list(tr: Translator, seeded: Seeded) -> None:
    vm = program_vm(tr, seeded)
    vm.select(NOW_ACTIVITY)
    vm.start_check_in()
    vm.scan(KAREN_CARD)
    vm.reset()
    assert (vm.mode, vm.selected, vm.message) == ("list", "", "")
    assert vm.activity_title == "Vælg et arrangement"


def test_the_guest_count_stops_at_the_seats_left(tr: Translator, seeded: Seeded) -> None:
    vm = program_vm(tr, seeded)
    vm.select(NOW_ACTIVITY)  # 4 seats
    vm.start_guests()
    for _ in range(10):
        vm.more_guests()
    assert vm.guests == 4
    vm.confirm_guests()
    assert vm.message_ok


def test_registering_updates_the_seats_shown(tr: Translator, seeded: Seeded) -> None:
    vm = program_vm(tr, seeded)
    vm.select(TALK_ACTIVITY)
    before = row(vm, TALK_ACTIVITY)["seats"]
    vm.start_registration()
    vm.scan(KAREN_CARD)
    assert vm.message == f"Du er tilmeldt {TALK_ACTIVITY_TITLE}."
    assert (before, row(vm, TALK_ACTIVITY)["seats"]) == ("40 pladser tilbage", "39 pladser tilbage")


def test_a_card_scanned_on_an_open_activity_checks_the_patron_in(
    tr: Translator, seeded: Seeded
) -> None:
    vm = program_vm(tr, seeded)
    vm.select(NOW_ACTIVITY)
    vm.scan(KAREN_CARD)  # before tapping "Tjek ind": the patron meant to check in
    assert vm.message == f"Velkommen! Du er tjekket ind til {NOW_ACTIVITY_TITLE}."


def test_a_guest_check_in_that_cannot_be_stored_does_not_blame_the_card(
    tr: Translator, seeded: Seeded
) -> None:
    vm = program_vm(tr, seeded)
    vm.select(NOW_ACTIVITY)
    vm.start_guests()
    with seeded.engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE program_checkins")
    vm.confirm_guests()
    assert not vm.message_ok
    assert vm.message == "Vi kunne ikke tjekke jer ind lige nu. Prøv igen om et øjeblik."
