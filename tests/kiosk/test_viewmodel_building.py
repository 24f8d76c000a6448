"""The building's evening on the kiosk: banner, closed screen, screen power; and the help screen."""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from kiosk.background import Inline
from kiosk.i18n import Translator
from kiosk.screenpower import ScreenPower
from kiosk.viewmodels.building import BuildingViewModel
from kiosk.viewmodels.help import HelpViewModel
from services.core.holidays import DanishHolidays
from services.core.schedule import Schedule
from services.runtime.holidays_dk import public_holidays
from services.settings import load_settings

SETTINGS = load_settings(environ={})
MESSAGES = {n: {"da": m.da, "en": m.en} for n, m in SETTINGS.building.messages.items()}
TUESDAY = datetime(2026, 3, 3, 9, 0, tzinfo=ZoneInfo("Europe/Copenhagen"))
SUNDAY = datetime(2026, 3, 8, 9, 0, tzinfo=ZoneInfo("Europe/Copenhagen"))


def schedule() -> Schedule:
    return Schedule(
        SETTINGS.schedule.opening_hours(),
        ZoneInfo(SETTINGS.site.timezone),
        DanishHolidays(public_holidays),
    )


def building(
    tr: Translator, group: str | None = "kiosk", now: datetime = TUESDAY
) -> BuildingViewModel:
    return BuildingViewModel(
        tr,
        Inline(),
        messages=MESSAGES,
        equipment_group=group,
        schedule=schedule(),
        clock=lambda: now,
    )


def state(phase: str, **equipment: bool) -> bytes:
    return json.dumps({"phase": phase, "next": None, "equipment": equipment}).encode()


def event(kind: str, **details: object) -> bytes:
    return json.dumps({"type": kind, "source": "building", "details": details}).encode()


def test_a_closing_announcement_is_a_banner_in_the_patrons_language(tr: Translator) -> None:
    vm = building(tr)
    vm.on_state(state("closing"))
    vm.on_site_event(event("closing.announced", message="closing_10", step="closes-…"))
    assert vm.banner == "Biblioteket lukker om ti minutter. Der er ikke længere adgang."
    tr.toggle()
    assert vm.banner == "The library closes in ten minutes. No more entry."
    vm.on_state(state("last_entry"))
    assert vm.banner.startswith("The library closes in ten") and not vm.closed


def test_after_closing_the_banner_gives_way_to_the_closed_screen(tr: Translator) -> None:
    vm = building(tr)
    vm.on_site_event(event("closing.announced", message="closing_5"))
    vm.on_state(state("closing"))
    assert vm.banner and not vm.closed
    for phase in ("sweep", "arming", "armed", "closed"):
        vm.on_state(state(phase))
        assert vm.closed and vm.banner == "", phase
    vm.on_state(state("open"))
    assert not vm.closed and vm.banner == ""


def test_the_closed_screen_says_when_the_library_opens_again(tr: Translator) -> None:
    late = building(tr, now=TUESDAY.replace(hour=22, minute=5))
    assert late.reopens == "Åbner igen: i morgen kl. 07:00"
    early = building(tr, now=TUESDAY.replace(hour=6, minute=30))
    assert early.reopens == "Åbner igen: 07:00"
    # the building closed before the schedule (an evening cut short): the opening after that
    evening = building(tr, now=TUESDAY.replace(hour=21, minute=55))
    assert evening.reopens == "Åbner igen: i morgen kl. 07:00"
    tr.toggle()
    assert evening.reopens.startswith("Opens again: tomorrow")


def test_unknown_messages_and_bad_payloads_change_nothing(
    tr: Translator, caplog: pytest.LogCaptureFixture
) -> None:
    vm = building(tr)
    vm.on_state(state("closing"))
    vm.on_site_event(event("closing.announced", message="no_such_message"))
    vm.on_site_event(event("fire.alarm"))
    with caplog.at_level(logging.WARNING):
        vm.on_state(b"not json")
        vm.on_state(b'{"no": "phase"}')
        vm.on_site_event(b"[]")
    assert vm.banner == "" and not vm.closed and vm.screen_on
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 3


def test_the_screen_follows_its_own_equipment_group_only(tr: Translator) -> None:
    vm = building(tr, "kiosk")
    vm.on_site_event(event("equipment.changed", names=["public_pcs"], on=False))
    assert vm.screen_on
    vm.on_site_event(event("equipment.changed", names=["public_pcs", "kiosk"], on=False))
    assert not vm.screen_on
    vm.on_state(state("open", kiosk=True, public_pcs=False))  # the retained state wins
    assert vm.screen_on
    alone = building(tr, None)  # a kiosk in no group is never switched off
    alone.on_state(state("closed", kiosk=False))
    alone.on_site_event(event("equipment.changed", names=["kiosk"], on=False))
    assert alone.screen_on


def test_the_screen_commands_run_once_per_change(tmp_path: Path) -> None:
    log = tmp_path / "power.log"
    script = f"import sys; open({str(log)!r}, 'a').write(sys.argv[1] + '\\n')"
    power = ScreenPower(Inline(), [sys.executable, "-c", script, "off"],
                        [sys.executable, "-c", script, "on"])  # fmt: skip
    for on in (False, False, True, True, False):
        power.set(on)
    assert log.read_text().split() == ["off", "on", "off"]


def test_a_failing_screen_command_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    power = ScreenPower(Inline(), ["/nonexistent/xset", "dpms", "force", "off"], [])
    with caplog.at_level(logging.WARNING):
        power.set(False)
        power.set(True)  # no "on" command: nothing to run
    assert [r.getMessage() for r in caplog.records if "screen command" in r.getMessage()]
    exits = ScreenPower(Inline(), [sys.executable, "-c", "raise SystemExit(3)"], [])
    with caplog.at_level(logging.WARNING):
        exits.set(False)
    assert any("exited 3" in r.getMessage() for r in caplog.records)


def help_vm(tr: Translator, now: datetime, phone: str = "43 23 60 00", **own: str) -> HelpViewModel:
    return HelpViewModel(
        tr, Inline(), schedule=schedule(), clock=lambda: now, phone=phone, out_of_hours=own
    )


def test_help_names_the_phone_todays_staff_and_what_to_do_out_of_hours(tr: Translator) -> None:
    vm = help_vm(tr, TUESDAY)
    assert vm.phone == "Ring til biblioteket: 43 23 60 00"
    assert vm.lines[0] == "Personalet er her i dag 10:00–18:00."
    assert vm.lines[1].startswith("Uden for personalets tid") and vm.lines[2].endswith("112.")
    tr.toggle()
    assert vm.phone == "Call the library: 43 23 60 00"
    assert vm.lines[0] == "Staff are here today 10:00–18:00."


def test_help_on_a_day_without_staff_and_with_the_sites_own_words(tr: Translator) -> None:
    vm = help_vm(tr, SUNDAY, phone="", da="Ring til vagten på 70 70 70 70.")
    assert vm.phone == ""
    assert vm.lines[:2] == [
        "Der er ikke personale på biblioteket i dag.",
        "Ring til vagten på 70 70 70 70.",
    ]
    tr.toggle()  # no English words from the site: the kiosk's own
    assert vm.lines[1].startswith("When staff are not here")
