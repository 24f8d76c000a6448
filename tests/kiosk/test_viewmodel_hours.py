"""Opening hours for the week and the special days ahead, from the Glostrup example schedule."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from kiosk.background import Inline
from kiosk.i18n import Translator
from kiosk.viewmodels.hours import HoursViewModel
from services.core.holidays import DanishHolidays
from services.core.schedule import Schedule
from services.runtime.holidays_dk import public_holidays
from services.settings import load_settings

SETTINGS = load_settings(environ={})
TUESDAY = datetime(2026, 3, 3, 9, 0, tzinfo=ZoneInfo("Europe/Copenhagen"))


def hours_vm(tr: Translator, now: datetime = TUESDAY) -> HoursViewModel:
    schedule = Schedule(
        SETTINGS.schedule.opening_hours(),
        ZoneInfo(SETTINGS.site.timezone),
        DanishHolidays(public_holidays),
    )
    return HoursViewModel(tr, Inline(), schedule=schedule, clock=lambda: now, min_age=15)


def test_the_week_from_today_with_staffed_and_self_service_hours(tr: Translator) -> None:
    vm = hours_vm(tr)
    assert len(vm.days) == 7
    today = vm.days[0]
    assert today["day"] == "Tirsdag 3. marts" and today["today"]
    assert today["hours"] == "Bemandet 10:00–18:00\nSelvbetjening 07:00–22:00"
    sunday = vm.days[5]
    assert sunday["day"] == "Søndag 8. marts" and sunday["hours"] == "Selvbetjening 07:00–22:00"


def test_special_days_ahead_name_the_holiday_and_its_hours(tr: Translator) -> None:
    vm = hours_vm(tr)
    by_note = {d["note"]: d for d in vm.special}
    assert "Skærtorsdag" in by_note and by_note["Skærtorsdag"]["hours"] == "Lukket"
    assert vm.special_title == "Særlige dage"


def test_christmas_eve_keeps_its_own_morning_hours_and_the_help_names_the_age(
    tr: Translator,
) -> None:
    vm = hours_vm(tr, TUESDAY.replace(month=12, day=20))
    eve = next(d for d in vm.special if d["day"] == "Torsdag 24. december")
    assert eve["hours"] == "Selvbetjening 07:00–12:00" and eve["note"].startswith("Juleaften")
    assert "Børn under 15 år" in vm.help[1]
    tr.toggle()
    assert vm.days[0]["day"] == "Sunday 20 December" and vm.help[1].startswith("Children under 15")
