"""The building's evening on the controller shell: MockFactory pins, a real Mosquitto, the real
espeak-ng/sox pipeline writing to a file, the progress in SQLite across a restart."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from gpiozero.pins.mock import MockFactory

from hardware.audio import Speaker
from hardware.building_devices import BuildingDevices
from hardware.building_shell import BuildingShell, SavedProgress
from hardware.controller import Controller
from hardware.devices import DoorDevices
from hardware.gatekeeper import Gatekeeper
from services.bus.client import MqttBus
from services.bus.topics import Topics
from services.core.credentials import SiteKey
from services.core.events import EventType
from services.patrons.pin_guard import PinGuard
from services.patrons.registry import LocalRegistry
from services.settings import MqttSettings, Settings
from services.store.engine import make_engine, make_sessionmaker
from services.store.schema import create_schema
from tests.conftest import Broker
from tests.hardware.evening_rig import CPH, building_settings, schedule_of
from tests.hardware.test_controller import Clock, RecordingSink

PCS, GROUND, ARM, ARMED = 12, 5, 20, 21
BMS_FIRST = "bms/lights/first/set"


@dataclass
class Shell:
    ctl: Controller
    shell: BuildingShell
    sink: RecordingSink
    clock: Clock

    def run_until(self, until: datetime) -> None:
        while self.clock.wall < until:
            self.clock.advance(1)
            self.ctl.tick()

    def types(self) -> list[EventType]:
        return self.sink.types()


class Retained:
    """The broker's retained messages, as another MQTT client sees them."""

    def __init__(self, broker: Broker) -> None:
        self.seen: dict[str, bytes] = {}
        self.changed = threading.Condition()
        mqtt = MqttSettings(host=broker.host, port=broker.port)
        self.bus = MqttBus(mqtt, "watcher", "watcher", Topics("aabent", "glostrup"))
        self.bus.subscribe("#", self._on)
        self.bus.start()

    def _on(self, topic: str, payload: bytes) -> None:
        with self.changed:
            self.seen[topic] = payload
            self.changed.notify_all()

    def wait(self, topic: str, check: Any) -> bytes:
        with self.changed:
            assert self.changed.wait_for(
                lambda: topic in self.seen and check(self.seen[topic]), 10
            ), f"{topic}: {self.seen.get(topic)!r}"
            return self.seen[topic]


@pytest.fixture
def settings(tmp_path: Path, mqtt_broker: Broker) -> Settings:
    s = building_settings()
    audio = {"device": f"file:{tmp_path / 'speaker.wav'}", "languages": ["da", "en"]}
    return s.model_copy(
        update={
            "building": s.building.model_copy(
                update={"audio": s.building.audio.model_validate(audio)}
            ),
            "mqtt": MqttSettings(host=mqtt_broker.host, port=mqtt_broker.port),
        }
    )


@pytest.fixture
def world(tmp_path: Path, settings: Settings) -> Iterator[dict[str, Any]]:
    engine = make_engine(f"sqlite:///{tmp_path / 'door.sqlite'}")
    create_schema(engine)
    bus = MqttBus(settings.mqtt, "door", "door-main", Topics("aabent", "glostrup"))
    bus.start()
    yield {"factory": MockFactory(), "sessions": make_sessionmaker(engine), "bus": bus}
    bus.stop()
    engine.dispose()


def boot(settings: Settings, world: dict[str, Any], start: datetime) -> Shell:
    factory, sessions, bus = world["factory"], world["sessions"], world["bus"]
    clock = Clock(start)
    topics = Topics("aabent", "glostrup")
    devices = BuildingDevices(settings.building, bus.publish_state, pin_factory=factory)
    shell = BuildingShell(
        devices,
        Speaker(settings.building, wall=lambda: clock.wall),
        SavedProgress(sessions, "glostrup"),
        lambda payload: bus.publish_state(topics.building, payload),
        lambda: clock.wall,
    )
    key = SiteKey(b"k" * 32)
    doors = {"main": DoorDevices("main", settings.doors["main"], pin_factory=factory)}
    sink = RecordingSink()
    guard = PinGuard(sessions, settings.access.lockout_policy())
    gate = Gatekeeper(LocalRegistry(sessions, key), key, guard)
    ctl = Controller(
        settings,
        doors,
        gate,
        schedule_of(settings),
        sink,
        wall=lambda: clock.wall,
        mono=lambda: clock.mono,
        building=shell,
    )
    ctl.start(timer=False)
    devices.bind(ctl.on_panel)  # as the service's start_inputs does
    world["close"] = lambda: (ctl.stop(), devices.close(), doors["main"].close())
    return Shell(ctl, shell, sink, clock)


def seconds_of(wav: Path) -> float:
    return float(subprocess.check_output(["soxi", "-D", str(wav)], text=True))


def rms_of(wav: Path) -> float:
    stat = subprocess.run(["sox", str(wav), "-n", "stat"], capture_output=True, text=True).stderr
    line = next(x for x in stat.splitlines() if x.startswith("RMS     amplitude"))
    return float(line.split(":")[1])


def spoken_seconds(tmp_path: Path, voice: str, text: str) -> float:
    wav = tmp_path / f"ref-{voice}.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-w", str(wav), text], check=True)
    return seconds_of(wav)


def test_an_evening_on_pins_broker_and_speaker_then_a_restart_that_repeats_nothing(
    tmp_path: Path, settings: Settings, world: dict[str, Any], mqtt_broker: Broker
) -> None:
    factory: MockFactory = world["factory"]
    watcher = Retained(mqtt_broker)
    try:
        rig = boot(settings, world, datetime(2026, 11, 25, 21, 44, 50, tzinfo=CPH))
        # A fresh controller catches up with the morning it missed: the PCs are on.
        assert factory.pin(PCS).state == 1
        rig.run_until(rig.clock.wall.replace(minute=45, second=1))
        assert factory.pin(PCS).state == 0
        # The announcement went through espeak-ng and sox to the "speaker": both languages.
        (played,) = rig.shell.wait_announced()
        assert played is not None and played.is_file()
        msg = settings.building.messages["closing_15"]
        expected = spoken_seconds(tmp_path, "da", msg.da) + spoken_seconds(
            tmp_path, "en-gb", msg.en
        )
        assert abs(seconds_of(played) - expected) < 0.2
        assert rms_of(played) > 0.01  # not silence
        assert EventType.CLOSING_ANNOUNCED in rig.types()

        rig.run_until(rig.clock.wall.replace(hour=22, minute=0, second=1))
        assert factory.pin(ARM).state  # level output: arm
        assert factory.pin(GROUND).state == 0
        watcher.wait(BMS_FIRST, lambda p: p == b"OFF")  # the first floor via the BMS
        factory.pin(ARMED).drive_low()  # the panel confirms (active low)
        rig.ctl.wait_idle()
        assert EventType.ALARM_ARMED in rig.types()
        state = watcher.wait(
            "aabent/glostrup/building", lambda p: json.loads(p)["phase"] == "armed"
        )
        assert json.loads(state)["panel"]["armed"] is True
        world["close"]()

        # Restarted at 22:05: the pins come back as they were; nothing is played or sent again.
        again = boot(settings, world, datetime(2026, 11, 25, 22, 5, tzinfo=CPH))
        assert factory.pin(ARM).state  # the level put back: never disarmed by the restart
        factory.pin(ARMED).drive_low()  # (the mock pin forgot the panel's level at its re-init)
        again.run_until(again.clock.wall + timedelta(seconds=5))
        assert factory.pin(ARM).state
        assert again.shell.wait_announced() == []
        assert EventType.ALARM_ARMED not in again.types()
        assert EventType.ALARM_ARM_REFUSED not in again.types()
        world["close"]()
    finally:
        watcher.bus.stop()
