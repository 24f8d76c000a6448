"""The attract screen's view model: opening state from MQTT or the schedule, count, today."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from kiosk.background import Inline
from kiosk.i18n import Translator
from kiosk.viewmodels.home import HomeViewModel
from services.core.holidays import DanishHolidays
from services.core.schedule import Schedule
from services.program.store import ProgramItem
from services.runtime.holidays_dk import public_holidays
from services.settings import load_settings

ZONE = ZoneInfo("Europe/Copenhagen")
SETTINGS = load_settings(environ={})  # the Glostrup example: staffed 10-18, self-service 7-22
TUESDAY_NOON = datetime(2026, 3, 3, 12, 0, tzinfo=ZONE)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def item(title: str, start: datetime, hours: float = 2) -> ProgramItem:
    end = start + timedelta(hours=hours)
    return ProgramItem(title, title, "", "Caféen", "", start, end, None, False, 0, 0)


def home(tr: Translator, clock: Clock, items: list[ProgramItem] | None = None) -> HomeViewModel:
    schedule = Schedule(
        SETTINGS.schedule.opening_hours(),
        ZoneInfo(SETTINGS.site.timezone),
        DanishHolidays(public_holidays),
    )
    program = lambda: list(items or [])  # noqa: E731
    return HomeViewModel(tr, Inline(), schedule=schedule, clock=clock, program=program)


def test_without_live_data_the_schedule_answers(tr: Translator) -> None:
    clock = Clock(TUESDAY_NOON)
    vm = home(tr, clock)
    assert vm.opening_text == "Bemandet til 18:00"
    assert vm.next_text == "Derefter selvbetjening til 22:00"
    assert vm.state == "staffed" and vm.date_text == "Tirsdag 3. marts"
    clock.now = TUESDAY_NOON.replace(hour=19)
    vm.refresh()
    assert (vm.opening_text, vm.next_text) == ("Selvbetjening til 22:00", "Derefter lukket")
    clock.now = TUESDAY_NOON.replace(hour=23)
    vm.refresh()
    assert vm.opening_text == "Lukket — åbner i morgen kl. 07:00" and vm.state == "closed"
    assert vm.occupancy_text == ""  # no count without the door controller


def test_the_live_opening_state_wins_while_it_is_current(tr: Translator) -> None:
    clock = Clock(TUESDAY_NOON)
    vm = home(tr, clock)
    until = TUESDAY_NOON.replace(hour=14)
    vm.on_opening(json.dumps({"state": "self-service", "until": until.isoformat()}).encode())
    assert vm.opening_text == "Selvbetjening til 14:00" and vm.state == "self-service"
    clock.now = until + timedelta(minutes=1)  # the message is stale: the schedule again
    vm.refresh()
    assert vm.opening_text == "Bemandet til 18:00"


def test_a_garbled_message_changes_nothing(tr: Translator) -> None:
    vm = home(tr, Clock(TUESDAY_NOON))
    for payload in (b"not json", b'{"state": "party"}', b'{"inside": "many"}', b"[]"):
        vm.on_opening(payload)
        vm.on_occupancy(payload)
    assert vm.opening_text == "Bemandet til 18:00" and vm.occupancy_text == ""


def test_people_inside_against_capacity(tr: Translator) -> None:
    vm = home(tr, Clock(TUESDAY_NOON))
    vm.on_occupancy(b'{"inside": 42, "capacity": 150, "updated": "x"}')
    assert vm.occupancy_text == "42 af 150 er her nu" and not vm.full
    vm.on_occupancy(b'{"inside": 150, "capacity": 150}')
    assert vm.occupancy_text == "Fuldt: 150 er her nu" and vm.full
    tr.toggle()
    assert vm.occupancy_text == "Full: 150 people inside"
    assert vm.opening_text == "Staffed until 18:00" and vm.date_text == "Tuesday 3 March"


def test_todays_events_that_have_not_ended(tr: Translator) -> None:
    items = [
        item("Fællessang", TUESDAY_NOON.replace(hour=9), 1),  # over
        item("Strikkecafé", TUESDAY_NOON.replace(hour=14)),
        item("Foredrag", TUESDAY_NOON + timedelta(days=1)),  # tomorrow
    ]
    vm = home(tr, Clock(TUESDAY_NOON), items)
    vm.load_program()
    assert vm.activities == [{"time": "14:00–16:00", "title": "Strikkecafé", "place": "Caféen"}]
    assert vm.program_title == "I dag på biblioteket"
