"""A cleaner of a group that may disarm, at the door of the armed building, on the controller
shell: MockFactory pins for the lock, the panel's arm output and its armed feedback, the group
from the controller's own copy of the lists (SQLite, loaded into memory)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from gpiozero.pins.mock import MockFactory

from hardware.audio import Speaker
from hardware.building_devices import BuildingDevices
from hardware.building_shell import BuildingShell, SavedProgress
from hardware.controller import Controller
from hardware.devices import DoorDevices
from hardware.gatekeeper import Gatekeeper
from services.bus.topics import Topics
from services.core.credentials import Credential, SiteKey
from services.core.events import EventType
from services.core.readers import CardRead, PinEntered
from services.patrons.list_distribution import ListReceiver
from services.patrons.list_snapshot import encode
from services.patrons.local_lookup import LocalLists
from services.patrons.pin_guard import PinGuard
from services.patrons.registry import LocalRegistry
from services.settings import Settings
from tests.hardware.evening_rig import CPH, schedule_of
from tests.hardware.test_building_shell import ARM, ARMED, settings, world  # noqa: F401
from tests.hardware.test_controller import Clock, RecordingSink

LOCK = 17
KEY = SiteKey(b"k" * 32)
CLEANER = Credential.from_text("20000001")
GUARD = Credential.from_text("20000002")
DAWN = datetime(2026, 11, 26, 5, 30, tzinfo=CPH)  # the morning after an armed evening


def group(name: str, when_armed: str, card: Credential) -> dict[str, Any]:
    return {
        "name": name,
        "windows": "mon-sun 05:00-07:30",
        "doors": "",
        "valid_from": None,
        "valid_until": None,
        "pin_required": True,
        "when_armed": when_armed,
        "members": [[KEY.credential_hash(card), None, KEY.hash_pin("2468")]],
    }


def boot(settings: Settings, world: dict[str, Any]) -> tuple[Controller, RecordingSink, Clock]:  # noqa: F811
    factory: MockFactory = world["factory"]
    sessions, bus = world["sessions"], world["bus"]
    lists = LocalLists(sessions, KEY)
    snapshot = {
        "version": 1,
        "groups": [group("cleaners", "disarm", CLEANER), group("guards", "refuse", GUARD)],
        "bans": [],
        "codes": [],
        "signups": [],
    }
    receiver = ListReceiver(sessions, lists)
    assert receiver.apply(encode(snapshot))
    receiver.close()
    clock = Clock(DAWN)
    topics = Topics("aabent", "glostrup")
    devices = BuildingDevices(settings.building, bus.publish_state, pin_factory=factory)
    shell = BuildingShell(
        devices,
        Speaker(settings.building, wall=lambda: clock.wall),
        SavedProgress(sessions, "glostrup"),
        lambda payload: bus.publish_state(topics.building, payload),
        lambda: clock.wall,
    )
    doors = {"main": DoorDevices("main", settings.doors["main"], pin_factory=factory)}
    factory.pin(27).drive_low()  # the door is shut
    sink = RecordingSink()
    guard = PinGuard(sessions, settings.access.lockout_policy())
    ctl = Controller(
        settings,
        doors,
        Gatekeeper(LocalRegistry(sessions, KEY), KEY, guard, lists),
        schedule_of(settings),
        sink,
        wall=lambda: clock.wall,
        mono=lambda: clock.mono,
        building=shell,
    )
    ctl.start(timer=False)
    devices.bind(ctl.on_panel)
    factory.pin(ARMED).drive_low()  # the panel reports armed (active low)
    assert ctl.wait_idle()
    world["close"] = lambda: (ctl.stop(), devices.close(), doors["main"].close())
    return ctl, sink, clock


def swipe(ctl: Controller, card: Credential) -> None:
    ctl.on_reader_input("main.0.em4100", CardRead(card))
    ctl.on_reader_input("main.1.pinpad", PinEntered("2468"))
    assert ctl.wait_idle()


def test_a_cleaner_disarms_the_panel_and_the_door_opens_on_its_feedback(
    settings: Settings,  # noqa: F811
    world: dict[str, Any],  # noqa: F811
) -> None:
    factory: MockFactory = world["factory"]
    ctl, sink, clock = boot(settings, world)
    try:
        assert factory.pin(ARM).state  # armed overnight: the arm output stands
        swipe(ctl, GUARD)
        assert sink.last(EventType.ACCESS_DENIED).reason == "may_not_disarm"
        assert factory.pin(ARM).state and not factory.pin(LOCK).state
        clock.advance(5)
        swipe(ctl, CLEANER)
        assert not factory.pin(ARM).state  # the disarm order is on the panel's input
        assert not factory.pin(LOCK).state  # the panel still says armed: no siren, no door
        factory.pin(ARMED).drive_high()  # the panel's feedback: disarmed
        assert ctl.wait_idle()
        assert factory.pin(LOCK).state  # now the door opens
        assert sink.last(EventType.ACCESS_GRANTED).reason == "member"
        assert sink.last(EventType.ALARM_DISARMED).reason == "member"
    finally:
        world["close"]()
