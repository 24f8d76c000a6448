"""The controller end to end on MockFactory pins, a real registry and the real lockout store.

Reader input is handed in as parsed items here (the bytes-over-a-tty path is tested with the
whole service in test_service.py); the lock relay is read from the mock pin itself.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from gpiozero.pins.mock import MockFactory
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from hardware.controller import Controller
from hardware.devices import DoorDevices
from hardware.gatekeeper import Gatekeeper
from hardware.output import SITE
from hardware.saved_count import SavedCount
from services.core.credentials import Credential, SiteKey
from services.core.events import Event, EventType
from services.core.holidays import DanishHolidays
from services.core.readers import CardRead, PinEntered, ReaderFault
from services.core.schedule import Schedule
from services.patrons.local_lookup import LocalLists
from services.patrons.pin_guard import PinGuard
from services.patrons.registry import LocalRegistry
from services.runtime.holidays_dk import public_holidays
from services.runtime.systemd_notify import start_watchdog
from services.settings import DoorSettings, Settings
from services.store.engine import make_engine, make_sessionmaker
from services.store.lockouts import PinFailure
from services.store.schema import create_schema
from tests.conftest import wait_for

CPH = ZoneInfo("Europe/Copenhagen")
CARD = "10000001"
PIN = "1234"
LOCK = 17
READER = "main.0.em4100"
PAD = "main.1.pinpad"


@dataclass
class RecordingSink:
    """The controller's output port, kept in lists so a test can read what went out."""

    events: list[Event] = field(default_factory=list)
    doors: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    site: dict[str, Mapping[str, Any]] = field(default_factory=dict)

    def event(self, event: Event, door: str | None = None) -> None:
        self.events.append(event)

    def door_state(self, door_id: str, payload: Mapping[str, Any]) -> None:
        self.doors[door_id] = payload

    def site_state(self, kind: str, payload: Mapping[str, Any]) -> None:
        self.site[kind] = payload

    def types(self) -> list[EventType]:
        return [e.type for e in self.events]

    def last(self, etype: EventType) -> Event:
        return [e for e in self.events if e.type is etype][-1]


@dataclass
class Clock:
    """Wall and monotonic time moved by the test."""

    wall: datetime
    mono: float = 1000.0

    def advance(self, seconds: float) -> None:
        self.wall += timedelta(seconds=seconds)
        self.mono += seconds


@dataclass
class Rig:
    ctl: Controller
    sink: RecordingSink
    clock: Clock
    factory: MockFactory
    registry: LocalRegistry
    sessions: sessionmaker[Session]
    door: str = "main"

    @property
    def lock_released(self) -> bool:
        """Fail-secure, active-high relay: a high pin is an open door."""
        return bool(self.factory.pin(LOCK).state)

    def swipe(self, card: str = CARD, pin: str | None = PIN) -> None:
        self.ctl.on_reader_input(f"{self.door}.0.em4100", CardRead(Credential.from_text(card)))
        if pin is not None:
            self.ctl.on_reader_input(f"{self.door}.1.pinpad", PinEntered(pin))
        assert self.ctl.wait_idle()  # the lookup's answer is back and applied

    def hold(self, seconds: float = 0.05) -> None:
        """Let time pass beyond the inputs' settle time and tick."""
        self.clock.advance(seconds)
        self.ctl.tick()
        assert self.ctl.wait_idle()


DOOR = DoorSettings.model_validate(
    {
        "lock_pin": LOCK,
        "contact_pin": 27,
        "exit_button_pin": 22,
        "beam_a_pin": 6,
        "beam_b_pin": 13,
        "unlock_seconds": 5,
        "held_open_seconds": 30,
        "readers": [{"kind": "em4100", "url": "loop://"}, {"kind": "pinpad", "url": "loop://"}],
    }
)
# Wednesday 25 November 2026: staffed 10-18, self-service 07-22.
SELF_SERVICE = datetime(2026, 11, 25, 20, 0, tzinfo=CPH)


def make_settings(**access: Any) -> Settings:
    return Settings.model_validate(
        {
            "schedule": {"staffed": {"wed": "10:00-18:00"}},
            "access": {"capacity": 3, **access},
            "doors": {"main": DOOR.model_dump()},
        }
    )


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    yield build_rig(tmp_path, make_settings(), SELF_SERVICE)


def build_rig(
    tmp_path: Path, settings: Settings, start: datetime, door: str = "main", enrol: bool = True
) -> Rig:
    engine = make_engine(f"sqlite:///{tmp_path / 'door.sqlite'}")
    create_schema(engine)
    sessions = make_sessionmaker(engine)
    key = SiteKey(b"k" * 32)
    registry = LocalRegistry(sessions, key)
    if enrol:
        enrol_patrons(registry)
    factory = MockFactory()
    devices = DoorDevices(door, settings.doors[door], pin_factory=factory)
    factory.pin(27).drive_low()  # door closed (after the pull-up was set)
    clock = Clock(start)
    sink = RecordingSink()
    ctl = Controller(
        settings,
        {door: devices},
        Gatekeeper(
            registry,
            key,
            PinGuard(sessions, settings.access.lockout_policy()),
            LocalLists(sessions, key, rooms=settings.room_list()),
        ),
        Schedule(
            settings.schedule.opening_hours(),
            ZoneInfo("Europe/Copenhagen"),
            DanishHolidays(public_holidays),
        ),
        sink,
        wall=lambda: clock.wall,
        mono=lambda: clock.mono,
        count=SavedCount(sessions, "test"),
    )
    devices.bind(
        lambda o: ctl.on_contact(door, o),
        lambda p: ctl.on_exit(door, p),
        lambda w, b: ctl.on_beam(door, w, b),
    )
    ctl.start(timer=False)
    return Rig(ctl, sink, clock, factory, registry, sessions, door)


def enrol_patrons(registry: LocalRegistry) -> None:
    registry.add_patron(
        "Karen Jensen",
        [Credential.from_text(CARD)],
        pin=PIN,
        birth_date=datetime(1975, 4, 12).date(),
    )
    registry.add_patron(
        "Freja Hansen",
        [Credential.from_text("10000003")],
        pin="1111",
        birth_date=datetime(2014, 3, 1).date(),
    )


def test_card_and_pin_release_the_lock_and_relock_after_five_seconds(rig: Rig) -> None:
    assert not rig.lock_released
    rig.swipe()
    assert rig.lock_released
    granted = rig.sink.last(EventType.ACCESS_GRANTED)
    assert granted.source == "main" and granted.reason == "granted"
    rig.clock.advance(5.1)
    rig.ctl.tick()
    assert not rig.lock_released
    assert EventType.DOOR_LOCKED in rig.sink.types()


def test_events_carry_a_pseudonym_never_the_card_number(rig: Rig) -> None:
    rig.swipe()
    for event in rig.sink.events:
        assert CARD not in event.to_json().decode()
    assert rig.sink.last(EventType.ACCESS_GRANTED).credential is not None


def test_card_alone_waits_for_the_pin_then_times_out_as_pin_required(rig: Rig) -> None:
    rig.swipe(pin=None)
    assert not rig.lock_released
    assert EventType.ACCESS_DENIED not in rig.sink.types()
    rig.hold(10.5)
    assert rig.sink.last(EventType.ACCESS_DENIED).reason == "pin_required"


def test_a_tag_lying_on_the_reader_counts_once(rig: Rig) -> None:
    for _ in range(5):
        rig.ctl.on_reader_input(READER, CardRead(Credential.from_text(CARD)))
        rig.clock.advance(0.2)
    rig.ctl.on_reader_input(PAD, PinEntered(PIN))
    assert rig.ctl.wait_idle()
    assert rig.sink.types().count(EventType.ACCESS_GRANTED) == 1


def test_wrong_pin_is_denied_and_five_in_a_row_lock_the_card(rig: Rig) -> None:
    for _ in range(5):
        rig.swipe(pin="9999")
        rig.clock.advance(2)
    assert rig.sink.last(EventType.ACCESS_DENIED).reason == "wrong_pin"
    assert EventType.PIN_LOCKED_OUT in rig.sink.types()
    rig.swipe()  # the right PIN no longer helps
    assert rig.sink.last(EventType.ACCESS_DENIED).reason == "pin_locked_out"
    assert not rig.lock_released
    rig.clock.advance(15 * 60 + 1)
    rig.swipe()
    assert rig.lock_released


def test_pin_failures_are_deleted_on_the_controller_after_the_retention_period(rig: Rig) -> None:
    # the server's retention run never sees them: they live in the controller's own database
    def failures() -> int:
        with rig.sessions() as session:
            return session.scalar(select(func.count()).select_from(PinFailure)) or 0

    rig.swipe(pin="9999")
    rig.hold(0)
    assert failures() == 1
    rig.hold(29 * 86400)
    assert failures() == 1  # 29 days: still within the 30-day period
    rig.hold(2 * 86400)
    assert failures() == 0


def test_guessing_on_many_cards_throttles_the_reader_and_raises_an_alarm(rig: Rig) -> None:
    for n in range(5):
        rig.registry.add_patron(f"P{n}", [Credential.from_text(f"2000000{n}")], pin="5555")
    for n in range(5):
        rig.swipe(card=f"2000000{n}", pin="0000")
        rig.clock.advance(2)
    assert rig.sink.last(EventType.READER_ATTACK).details["cards"] == 5
    rig.swipe()
    assert rig.sink.last(EventType.ACCESS_DENIED).reason == "reader_throttled"


def test_under_age_patron_is_denied_in_self_service(rig: Rig) -> None:
    rig.swipe(card="10000003", pin="1111")
    assert rig.sink.last(EventType.ACCESS_DENIED).reason == "under_age"
    assert not rig.lock_released


def test_unknown_card_is_denied(rig: Rig) -> None:
    rig.swipe(card="99999999")
    assert rig.sink.last(EventType.ACCESS_DENIED).reason == "unknown_card"


def test_staffed_hours_stand_the_door_unlocked(tmp_path: Path) -> None:
    rig = build_rig(tmp_path, make_settings(), datetime(2026, 11, 25, 11, 0, tzinfo=CPH))
    assert rig.lock_released
    assert rig.sink.site["opening"]["state"] == "staffed"
    rig.hold(7 * 3600)  # 18:00: staff go home
    assert not rig.lock_released
    assert rig.sink.site["opening"]["state"] == "self-service"


def test_closing_time_resets_the_count_and_reports_who_was_left(rig: Rig) -> None:
    walk_in(rig)
    assert rig.sink.site["occupancy"]["inside"] == 1
    rig.hold(2 * 3600 + 1)  # 22:00
    reset = rig.sink.last(EventType.OCCUPANCY_RESET)
    assert reset.details["inside_at_closing"] == 1
    assert rig.sink.site["occupancy"]["inside"] == 0
    rig.swipe()
    assert rig.sink.last(EventType.ACCESS_DENIED).reason == "closed"


def walk_in(rig: Rig) -> None:
    a, b = rig.factory.pin(6), rig.factory.pin(13)
    for step in (a.drive_low, b.drive_low, a.drive_high, b.drive_high):
        step()
        rig.hold(0.1)  # each beam settles before the next changes


def test_full_building_denies_and_says_so_once(rig: Rig) -> None:
    for _ in range(3):
        walk_in(rig)
    assert rig.sink.types().count(EventType.OCCUPANCY_FULL) == 1
    rig.swipe()
    assert rig.sink.last(EventType.ACCESS_DENIED).reason == "building_full"


def test_two_people_on_one_grant_is_tailgating(rig: Rig) -> None:
    rig.swipe()
    rig.factory.pin(27).drive_high()  # door opens
    rig.hold()
    walk_in(rig)
    walk_in(rig)
    tail = rig.sink.last(EventType.DOOR_TAILGATING)
    assert tail.details == {"granted": 1, "entered": 2}


def test_fire_releases_the_door_and_denies_entry_until_cleared(rig: Rig) -> None:
    rig.ctl.on_fire(True)
    assert rig.lock_released
    assert rig.sink.last(EventType.FIRE_ALARM).source == SITE
    rig.swipe()
    assert rig.sink.last(EventType.ACCESS_DENIED).reason == "fire_alarm"
    rig.ctl.on_fire(False)
    rig.hold(1.1)  # the alarm clears once the input has been quiet for a second
    assert not rig.lock_released


def test_forced_open_door_raises_the_alarm(rig: Rig) -> None:
    rig.factory.pin(27).drive_high()
    rig.hold()
    assert EventType.DOOR_FORCED_OPEN in rig.sink.types()
    assert rig.sink.doors["main"]["alarm"] == "forced_open"


def test_exit_button_releases_the_door(rig: Rig) -> None:
    rig.factory.pin(22).drive_low()
    assert rig.lock_released
    assert EventType.EXIT_REQUEST in rig.sink.types()


def test_reader_faults_are_counted_events(rig: Rig) -> None:
    rig.ctl.on_reader_input(READER, ReaderFault("bad checksum"))
    rig.ctl.on_reader_input(READER, ReaderFault("bad checksum"))
    assert rig.sink.last(EventType.READER_ERROR).details["errors"] == 1
    rig.hold(61)  # the interval's summary carries the count
    err = rig.sink.last(EventType.READER_ERROR)
    assert err.reason == "bad checksum" and err.details["errors"] == 2


def test_reader_going_offline_and_back_is_reported_once_each(rig: Rig) -> None:
    rig.ctl.on_reader_status(READER, False, "device disappeared")
    rig.ctl.on_reader_status(READER, False, "device disappeared")
    rig.ctl.on_reader_status(READER, True, None)
    types = rig.sink.types()
    assert types.count(EventType.READER_OFFLINE) == 1
    assert types.count(EventType.READER_ONLINE) == 1
    assert rig.sink.doors["main"]["readers"][READER] == "online"


def command(rig: Rig, **fields: Any) -> bytes:
    import json
    import uuid

    body = {
        "id": str(uuid.uuid4()),
        "ts": rig.clock.wall.isoformat(),
        "by": "staff@glostrup",
        "reason": "test",
        **fields,
    }
    return json.dumps(body).encode()


def test_remote_unlock_is_done_and_a_replay_is_rejected(rig: Rig) -> None:
    raw = command(rig, action="unlock", seconds=60)
    rig.ctl.on_command("main", raw)
    assert rig.lock_released
    assert rig.sink.last(EventType.COMMAND_DONE).details["action"] == "unlock"
    rig.ctl.on_command("main", raw)
    assert "seen" in (rig.sink.last(EventType.COMMAND_REJECTED).reason or "")


def test_malformed_and_stale_commands_are_rejected_not_applied(rig: Rig) -> None:
    rig.ctl.on_command("main", b"{not json")
    assert "JSON" in (rig.sink.last(EventType.COMMAND_REJECTED).reason or "")
    stale = command(
        rig, action="unlock", seconds=60, ts=(rig.clock.wall - timedelta(minutes=5)).isoformat()
    )
    rig.ctl.on_command("main", stale)
    assert not rig.lock_released
    assert rig.sink.types().count(EventType.COMMAND_REJECTED) == 2


def test_lockdown_refuses_patrons_and_remote_unlocks(rig: Rig) -> None:
    rig.ctl.on_command("main", command(rig, action="mode", mode="lockdown"))
    assert EventType.LOCKDOWN_STARTED in rig.sink.types()
    rig.swipe()
    assert rig.sink.last(EventType.ACCESS_DENIED).reason == "lockdown"
    rig.ctl.on_command("main", command(rig, action="unlock", seconds=30))
    assert not rig.lock_released
    assert "lockdown" in (rig.sink.last(EventType.COMMAND_REJECTED).reason or "")
    rig.ctl.on_fire(True)
    assert rig.lock_released  # only the fire input overrides a lockdown


# --- defects of the first version, on MockFactory pins --------------------------------------


def test_a_door_called_opening_relocks_after_a_grant(tmp_path: Path) -> None:
    settings = make_settings()
    settings = settings.model_copy(update={"doors": {"opening": settings.doors["main"]}})
    rig = build_rig(tmp_path, settings, SELF_SERVICE, door="opening")
    rig.swipe()
    assert rig.lock_released
    rig.hold(1)  # the timer's tick in between once overwrote the relock with the schedule's
    rig.hold(4.1)
    assert not rig.lock_released


def test_one_bounce_of_the_reed_contact_as_the_door_shuts_is_no_alarm(rig: Rig) -> None:
    contact = rig.factory.pin(27)
    rig.swipe()
    contact.drive_high()  # the patron opens the door
    rig.hold()
    contact.drive_low()  # it swings shut and bounces once
    contact.drive_high()
    contact.drive_low()
    rig.hold()
    tail = rig.sink.types()[rig.sink.types().index(EventType.DOOR_OPENED) + 1 :]
    assert tail == [EventType.DOOR_CLOSED, EventType.DOOR_LOCKED]
    assert rig.sink.doors["main"]["alarm"] is None


def test_lockdown_shows_in_the_retained_door_state(rig: Rig) -> None:
    rig.ctl.on_command("main", command(rig, action="mode", mode="lockdown"))
    assert rig.sink.doors["main"]["mode"] == "lockdown"


def test_people_inside_survive_a_restart_until_closing(tmp_path: Path) -> None:
    rig = build_rig(tmp_path, make_settings(), SELF_SERVICE)
    for _ in range(3):
        walk_in(rig)
    rig.ctl.stop()
    again = build_rig(tmp_path, make_settings(), SELF_SERVICE, enrol=False)
    assert again.sink.site["occupancy"]["inside"] == 3
    again.hold(2 * 3600 + 1)  # 22:00
    assert again.sink.last(EventType.OCCUPANCY_RESET).details["inside_at_closing"] == 3
    third = build_rig(tmp_path, make_settings(), SELF_SERVICE, enrol=False)
    assert third.sink.site["occupancy"]["inside"] == 0


def test_the_same_card_again_at_once_is_decided_with_its_pin(rig: Rig) -> None:
    rig.swipe(pin="9999")
    assert rig.sink.last(EventType.ACCESS_DENIED).reason == "wrong_pin"
    rig.clock.advance(0.5)
    rig.swipe()
    assert rig.sink.last(EventType.ACCESS_GRANTED).reason == "granted"


def test_a_remote_lock_during_a_fire_is_rejected(rig: Rig) -> None:
    rig.ctl.on_fire(True)
    rig.ctl.on_command("main", command(rig, action="lock"))
    assert EventType.COMMAND_DONE not in rig.sink.types()
    assert "fire" in (rig.sink.last(EventType.COMMAND_REJECTED).reason or "")
    assert rig.lock_released


def test_junk_keys_do_not_flood_the_events(rig: Rig) -> None:
    for _ in range(4096):
        rig.ctl.on_reader_input(PAD, ReaderFault("PIN pad: unexpected key 'x'"))
    assert rig.sink.types().count(EventType.READER_ERROR) == 1


def test_a_reader_missing_at_start_is_reported_offline(rig: Rig) -> None:
    rig.ctl.on_reader_status(READER, False, "cannot open /dev/ttyUSB0")
    assert rig.sink.types().count(EventType.READER_OFFLINE) == 1
    assert rig.sink.doors["main"]["readers"][READER] == "offline"


def test_the_retained_state_carries_the_loops_tick_age(rig: Rig) -> None:
    rig.hold(0.5)
    rig.ctl.heartbeat()
    assert rig.sink.doors["main"]["tick_age_s"] == 0
    rig.clock.advance(7)  # no tick for seven seconds: the loop is stuck
    assert not rig.ctl.healthy()
    rig.ctl.heartbeat()
    assert rig.sink.doors["main"]["tick_age_s"] == 7
    rig.ctl.tick()
    assert rig.ctl.healthy()


class StuckSink(RecordingSink):
    """A sink whose event writes hang while ``stuck`` is set, like a disk that stopped."""

    def __init__(self) -> None:
        super().__init__()
        self.stuck = threading.Event()
        self.go = threading.Event()

    def event(self, event: Event, door: str | None = None) -> None:
        if self.stuck.is_set():
            self.go.wait(10)
        super().event(event, door)


def test_the_watchdog_is_pinged_only_while_the_loop_makes_progress(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sock_path = str(tmp_path / "notify.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(sock_path)
    server.settimeout(0.5)
    monkeypatch.setenv("NOTIFY_SOCKET", sock_path)
    monkeypatch.setenv("WATCHDOG_USEC", "100000")  # a ping every 50 ms while healthy
    settings = make_settings()
    factory = MockFactory()
    devices = DoorDevices("main", settings.doors["main"], pin_factory=factory)
    engine = make_engine(f"sqlite:///{tmp_path / 'door.sqlite'}")
    create_schema(engine)
    sessions = make_sessionmaker(engine)
    sink = StuckSink()
    ctl = Controller(
        settings,
        {"main": devices},
        Gatekeeper(
            LocalRegistry(sessions, SiteKey(b"k" * 32)),
            SiteKey(b"k" * 32),
            PinGuard(sessions, settings.access.lockout_policy()),
        ),
        Schedule(
            settings.schedule.opening_hours(),
            ZoneInfo("Europe/Copenhagen"),
            DanishHolidays(public_holidays),
        ),
        sink,
        wall=lambda: datetime.now(CPH),
        mono=time.monotonic,
        tick_every_s=0.02,
        progress_bound_s=0.3,
    )
    stop = threading.Event()
    ctl.start()
    start_watchdog(ctl.healthy, stop)
    try:
        assert server.recv(64) == b"WATCHDOG=1"
        sink.stuck.set()
        # an exit press whose event hangs on the disk; the relay moved before it
        pressing = threading.Thread(target=ctl.on_exit, args=("main", True))
        pressing.start()
        time.sleep(0.5)  # the loop's next tick waits behind that write: no progress
        assert not ctl.healthy()
        ctl.heartbeat()
        assert sink.doors["main"]["tick_age_s"] > 0.3
        while True:  # drain the pings sent before the loop stuck
            try:
                server.settimeout(0.2)
                server.recv(64)
            except TimeoutError:
                break
        sink.go.set()  # the disk is back
        pressing.join(5)
        server.settimeout(2)
        assert server.recv(64) == b"WATCHDOG=1"
        assert ctl.healthy()
    finally:
        stop.set()
        sink.go.set()
        ctl.stop()
        server.close()


def test_a_chattering_exit_button_is_one_request(rig: Rig) -> None:
    button = rig.factory.pin(22)
    for _ in range(4):  # press and release, bouncing on both
        button.drive_low()
        button.drive_high()
    rig.hold()
    assert rig.lock_released
    assert rig.sink.types().count(EventType.EXIT_REQUEST) == 1


def test_beams_bouncing_on_every_edge_count_one_person(rig: Rig) -> None:
    a, b = rig.factory.pin(6), rig.factory.pin(13)
    for pin, blocked in ((a, True), (b, True), (a, False), (b, False)):
        on, off = (pin.drive_low, pin.drive_high) if blocked else (pin.drive_high, pin.drive_low)
        on()
        off()  # the edge bounces back once...
        on()  # ...and settles
        rig.hold(0.1)
    assert rig.sink.types().count(EventType.OCCUPANCY_IN) == 1
    assert rig.sink.site["occupancy"]["inside"] == 1


def test_idle_means_every_effect_of_an_input_is_carried_out(rig: Rig) -> None:
    # What a caller of wait_idle relies on: the events are written too, not only the relay moved.
    sink = StuckSink()
    rig.ctl.out.sink = sink
    sink.stuck.set()
    pressing = threading.Thread(target=rig.ctl.on_exit, args=("main", True))
    pressing.start()
    try:
        wait_for(lambda: rig.lock_released, "the release")  # the relay moves before the write
        assert not rig.ctl.wait_idle(0.2)  # the exit's event still hangs on the disk
    finally:
        sink.go.set()
    assert rig.ctl.wait_idle(2)
    assert EventType.EXIT_REQUEST in sink.types()
    pressing.join(2)
