"""Book a room in the real kiosk window under Xvfb: Home → Book a room, today's list without
names, a wedge scan and the PIN on the on-screen keys, a booking, large text that fits, both
languages, and nothing of the patron left after the privacy reset. Screenshots in
tests/artifacts/."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from services.settings import (
    KioskSettings,
    MqttSettings,
    ScheduleSettings,
    Settings,
    SiteSettings,
    StoreSettings,
    WeeklyHours,
)
from services.store.engine import make_engine
from services.store.rooms import RoomBookingRecord
from tests.conftest import ARTIFACTS, Broker
from tests.kiosk.library import KAREN_CARD, KAREN_PIN, KEY_BYTES, build_library

ZONE = ZoneInfo("Europe/Copenhagen")
ALL_DAY = "00:00-24:00"
DOOR = {"lock_pin": 16}


def _settings(folder: Path, broker: Broker) -> Settings:
    folder.joinpath("site.key").write_bytes(KEY_BYTES)
    days = {d: ALL_DAY for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    return Settings.model_validate(
        {
            "site": SiteSettings(
                id="roomtest",
                name="Glostrup Bibliotek",
                data_dir=folder,
                key_file=folder / "site.key",
            ).model_dump(),
            "store": StoreSettings(url=f"sqlite:///{folder / 'kiosk.sqlite'}").model_dump(),
            "mqtt": MqttSettings(host=broker.host, port=broker.port).model_dump(),
            "kiosk": KioskSettings(id="k2", fullscreen=False).model_dump(),
            "schedule": ScheduleSettings(
                self_service=WeeklyHours(**days), public_holidays_closed=False
            ).model_dump(),
            "doors": {"basement": DOOR},
            "rooms": {"study": {"name": "Studierummet", "doors": ["basement"], "slot_minutes": 60}},
        }
    )


@pytest.fixture(scope="module")
def app(xvfb: str, mqtt_broker: Broker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    folder = tmp_path_factory.mktemp("kiosk-rooms")
    settings = _settings(folder, mqtt_broker)
    engine = make_engine(settings.database_url)
    build_library(engine, datetime.now(ZONE))
    engine.dispose()

    from kiosk.boot import configure_kivy

    configure_kivy(settings.kiosk)
    from kivy.base import runTouchApp
    from kivy.clock import Clock

    # Kivy has one clock per process: an app of another module that stopped before this one
    # leaves its timers on it, and they would run on that app's closed services.
    for event in Clock.get_events():
        event.cancel()

    from kiosk.app import KioskApp
    from kiosk.wiring import open_services
    from tests.kiosk.driver import Driver, FakeMonotonic

    mono = FakeMonotonic()
    kiosk = KioskApp(open_services(settings), monotonic=mono)
    kiosk._run_prepare()
    runTouchApp(embedded=True)
    ARTIFACTS.mkdir(exist_ok=True)
    kiosk.drive = Driver(kiosk, mono, ARTIFACTS)
    kiosk.drive.pump(0.3)
    yield kiosk
    kiosk.stop()
    for event in Clock.get_events():
        event.cancel()


def open_rooms(app: Any) -> Any:
    app.reset_all()
    app.drive.tap(app.drive.screen("home").ids.go_rooms)
    rooms = app.drive.screen("rooms")
    assert app.current == "rooms" and rooms.vm.step == "today"
    return rooms


def sign_in(app: Any, rooms: Any) -> None:
    app.drive.tap(rooms.ids.begin)
    assert rooms.vm.step == "scan"
    app.drive.scan(KAREN_CARD)  # a wedge scan on this screen is the booker's card
    assert rooms.vm.step == "pin"
    for digit in KAREN_PIN:
        app.drive.key(rooms.ids.pin_keys, digit)
    assert rooms.ids.pin.text == "••••"
    app.drive.key(rooms.ids.pin_keys, "ok")
    app.drive.wait(lambda: rooms.vm.step == "book", what="the free slots")


def test_a_patron_books_a_slot_in_the_window(app: Any) -> None:
    rooms = open_rooms(app)
    app.drive.screenshot("kiosk-rooms-today-da")
    sign_in(app, rooms)
    app.drive.tap(rooms.ids.more)
    assert rooms.ids.companions.text == "Ledsagere: 1"
    app.drive.screenshot("kiosk-rooms-book-da")
    first = rooms.vm.slot_rows[0]
    row = app.drive.row(rooms.ids.slots, start=first["start"])
    button = next(w for w in row.children if getattr(w, "text", "") == "Book tiden")
    app.drive.tap(button)
    app.drive.wait(lambda: rooms.vm.own_rows, what="the booking")
    assert rooms.vm.message.startswith("Lokalet er booket til dig")
    app.drive.screenshot("kiosk-rooms-booked-da")
    app.drive.tap(app.root.ids.language)
    assert rooms.ids.companions.text == "Companions: 1"
    app.drive.screenshot("kiosk-rooms-booked-en")
    with app.services.sessions() as s:
        [booking] = s.scalars(select(RoomBookingRecord))
    assert (booking.via, booking.booked_by, booking.companions) == ("patron", "k2", 1)

    app.drive.tap(rooms.ids.log_out)
    assert rooms.vm.step == "today"
    app.drive.wait(lambda: rooms.vm.today_rows or rooms.vm.slot_rows == [], what="today")
    shown = " ".join(app.drive.texts())
    assert KAREN_CARD not in shown and booking.pseudonym not in shown  # no one is named


def test_large_text_fits_the_booking_screens(app: Any) -> None:
    from tests.kiosk.layout import layout_problems

    problems: dict[str, list[str]] = {}

    def check(name: str) -> None:
        app.drive.pump(0.1, frames=4)
        app.drive.screenshot(f"kiosk-rooms-{name}-large-da")
        found = layout_problems(app.root)
        if found:
            problems[name] = found

    app.reset_all()
    app.drive.tap(app.root.ids.large_text)
    try:
        check("home")
        app.drive.tap(app.drive.screen("home").ids.go_rooms)
        rooms = app.drive.screen("rooms")
        check("today")
        sign_in(app, rooms)
        check("book")
    finally:
        app.drive.tap(app.root.ids.large_text)
    assert problems == {}, "\n".join(f"{k}: {p}" for k, v in problems.items() for p in v)


def test_the_privacy_reset_leaves_nothing_of_the_booker(app: Any) -> None:
    rooms = open_rooms(app)
    sign_in(app, rooms)
    app.reset_all()
    assert app.current == "home" and rooms.vm.step == "today"
    assert rooms.vm.own_rows == [] and rooms.vm.slot_rows == [] and rooms.vm.pin_mask == ""
