"""Book a room's view model over the local directory and a real SQLite file: today's list with
no names, card and PIN (the same PIN guard as My account), free slots, book, cancel, privacy."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from kiosk.background import Inline
from kiosk.i18n import Translator
from kiosk.room_desk import RoomDesk
from kiosk.viewmodels.rooms import RoomsViewModel
from services.core.account import LoanRules
from services.core.holidays import DanishHolidays
from services.core.hours import OpeningHours, parse_intervals
from services.core.lockout import LockoutPolicy
from services.core.rooms import Room, RoomRules
from services.core.schedule import Schedule
from services.patrons.account import LocalAccount
from services.patrons.account_guard import GuardedAccount
from services.patrons.pin_guard import PinGuard
from services.store.engine import make_engine, make_sessionmaker
from tests.kiosk.library import KAREN_CARD, KAREN_PIN, KEY, OLE_CARD, OLE_PIN, build_library

CPH = ZoneInfo("Europe/Copenhagen")
# Wednesday 2 December 2026 at 08:30; self-service 07-22, staffed 10-18 on weekdays.
NOW = datetime(2026, 12, 2, 8, 30, tzinfo=CPH)
WEEK = (parse_intervals("07:00-22:00"),) * 7
STAFFED = (parse_intervals("10:00-18:00"),) * 5 + ((), ())
SCHEDULE = Schedule(
    OpeningHours(WEEK, STAFFED), CPH, DanishHolidays(lambda years: {y: {} for y in years})
)
STUDY = Room("study", frozenset({"basement"}), RoomRules(slot_minutes=60, max_companions=2))
CELLAR = Room("cellar", frozenset({"cellar"}), RoomRules(slot_minutes=120))


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def desk(tmp_path: Path) -> Any:
    engine = make_engine(f"sqlite:///{tmp_path / 'kiosk.sqlite'}")
    library = build_library(engine, NOW)
    sessions = make_sessionmaker(engine)
    clock = Clock()
    service = LocalAccount(sessions, library.registry, today=lambda: NOW.date(), rules=LoanRules())
    guard = PinGuard(sessions, LockoutPolicy(lock_after=3, block_after_24h=10))
    account = GuardedAccount(service, guard, KEY, kiosk="k1", clock=clock, on_event=lambda e: None)
    rooms = ((STUDY, "Studierummet"), (CELLAR, "Kælderen"))
    yield RoomDesk(sessions, KEY, "glostrup", "k1", rooms, SCHEDULE, clock, account)
    engine.dispose()


def vm_of(desk: RoomDesk, tr: Translator) -> RoomsViewModel:
    return RoomsViewModel(tr, Inline(), desk=desk)


def sign_in(vm: RoomsViewModel, card: str = KAREN_CARD, pin: str = KAREN_PIN) -> None:
    vm.begin()
    vm.scan(card)
    for digit in pin:
        vm.key(digit)
    vm.key("ok")


def test_the_patron_signs_in_and_sees_the_free_slots_of_fourteen_days(
    desk: RoomDesk, tr: Translator
) -> None:
    vm = vm_of(desk, tr)
    assert vm.step == "today" and vm.room_name == "Studierummet"
    vm.begin()
    vm.scan(KAREN_CARD)
    assert vm.step == "pin" and vm.pin_mask == ""
    for digit in KAREN_PIN:
        vm.key(digit)
    assert vm.pin_mask == "•" * len(KAREN_PIN)
    vm.key("ok")
    assert vm.step == "book" and vm.message == ""
    assert vm.slot_rows[0]["text"] == "08:00–09:00"  # under way: the rest of it may be booked
    assert vm.slot_rows[1]["text"] == "09:00–10:00"
    assert vm.slot_rows[2]["text"] == "18:00–19:00"  # staffed hours are not the room's
    assert any(r["text"] == "i morgen kl. 07:00–08:00" for r in vm.slot_rows)
    assert vm.slot_rows[-1]["text"].startswith("tirsdag 15. december")
    assert vm.own_rows == [] and vm.companions_text == "Ledsagere: 0"


def test_a_wrong_pin_is_said_and_counted_by_the_pin_guard(desk: RoomDesk, tr: Translator) -> None:
    vm = vm_of(desk, tr)
    for _ in range(2):
        sign_in(vm, pin="0000")
        assert vm.step == "pin" and vm.message == "Forkert pinkode. Prøv igen."
        vm.reset()
    sign_in(vm, pin="0000")
    sign_in(vm)  # the card is locked out now, the right PIN too
    assert vm.step == "scan" and "For mange forkerte pinkoder" in vm.message


def test_book_with_companions_then_cancel_and_today_names_no_one(
    desk: RoomDesk, tr: Translator
) -> None:
    vm = vm_of(desk, tr)
    sign_in(vm)
    for _ in range(4):
        vm.more()
    assert vm.companions == 2  # the room's limit
    evening = next(r for r in vm.slot_rows if r["text"] == "19:00–20:00")
    vm.choose(evening["start"])
    assert vm.step == "book" and vm.message.startswith("Lokalet er booket til dig")
    assert all(r["text"] != "19:00–20:00" for r in vm.slot_rows)
    assert [r["text"] for r in vm.own_rows] == ["Studierummet: 19:00–20:00"]
    assert vm.today_rows == [{"time": "19:00–20:00", "room": "Studierummet", "state": "booket"}]
    assert KAREN_CARD not in repr(vm.today_rows)
    vm.cancel(vm.own_rows[0]["booking_id"])
    assert vm.message == "Bookingen er aflyst." and vm.own_rows == []
    assert any(r["text"] == "19:00–20:00" for r in vm.slot_rows)


def test_a_slot_taken_meanwhile_is_refused_in_words(desk: RoomDesk, tr: Translator) -> None:
    karen, ole = vm_of(desk, tr), vm_of(desk, tr)
    sign_in(karen)
    sign_in(ole, OLE_CARD, OLE_PIN)
    start = next(r for r in ole.slot_rows if r["text"] == "20:00–21:00")["start"]
    karen.choose(start)
    ole.choose(start)
    assert ole.message == "Den tid er lige blevet booket af en anden." and ole.step == "book"
    assert ole.message_kind == "error"


def test_the_week_allows_the_rooms_bookings_per_patron(desk: RoomDesk, tr: Translator) -> None:
    vm = vm_of(desk, tr)
    sign_in(vm)
    for text in ("19:00–20:00", "20:00–21:00", "21:00–22:00"):
        vm.choose(next(r for r in vm.slot_rows if r["text"] == text)["start"])
    assert vm.message == "Du har allerede så mange bookinger, som ugen tillader."
    assert len(vm.own_rows) == 2


def test_another_room_and_the_other_language(desk: RoomDesk, tr: Translator) -> None:
    vm = vm_of(desk, tr)
    sign_in(vm)
    vm.next_room()
    assert vm.room_name == "Kælderen" and vm.slot_rows[0]["text"] == "07:00–09:00"
    tr.toggle()
    assert vm.companions_text == "Companions: 0"
    assert any(r["text"] == "tomorrow at 07:00–09:00" for r in vm.slot_rows)


def test_leaving_forgets_the_patron(desk: RoomDesk, tr: Translator) -> None:
    vm = vm_of(desk, tr)
    sign_in(vm)
    vm.more()
    vm.reset()
    assert vm.step == "today" and vm.slot_rows == [] and vm.own_rows == []
    assert vm.companions == 0 and vm.pin_mask == "" and vm.message == ""
    vm.choose(datetime(2026, 12, 2, 19, tzinfo=CPH).isoformat())  # a late tap books nothing
    assert desk.today() == []
