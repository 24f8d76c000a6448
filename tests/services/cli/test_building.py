"""``aabent building …`` against a door service running the evening, over a real Mosquitto."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from gpiozero.pins.mock import MockFactory

from hardware.service import DoorService
from services.bus.client import MqttBus
from services.bus.topics import Topics
from services.cli.main import main as cli
from services.settings import MqttSettings, load_settings
from tests.conftest import Broker, open_site_toml


def write_config(tmp_path: Path, port: int) -> Path:
    cfg = tmp_path / "config" / "aabent.toml"
    cfg.parent.mkdir()
    cfg.write_text(
        open_site_toml(port)
        + f"""
[doors.main]
lock_pin = 17
[[doors.main.readers]]
kind = "barcode"
url = "loop://"
[building]
enabled = true
[building.lights.ground]
pin = 5
[building.panel]
arm_pin = 20
armed_pin = 21
[building.audio]
device = "file:{tmp_path / "speaker.wav"}"
languages = ["da"]
""",
        encoding="utf-8",
    )
    return cfg


@pytest.fixture
def running(tmp_path: Path, mqtt_broker: Broker) -> Iterator[Path]:
    cfg = write_config(tmp_path, mqtt_broker.port)
    service = DoorService(load_settings(cfg), pin_factory=MockFactory())
    service.start()
    yield cfg
    service.stop()


def test_announce_now_is_done_audited_and_played(
    running: Path, tmp_path: Path, mqtt_broker: Broker, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        cli(["-c", str(running), "building", "announce", "closing_10", "--by", "staff:anne"]) == 0
    )
    assert "done: announce" in capsys.readouterr().out
    wav = tmp_path / "speaker.wav"
    for _ in range(100):
        if wav.exists() and wav.stat().st_size > 10_000:
            break
        threading.Event().wait(0.1)
    assert wav.stat().st_size > 10_000


def test_a_bad_command_is_refused_by_name_and_the_state_is_retained(
    running: Path, mqtt_broker: Broker, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(["-c", str(running), "building", "announce", "hello"]) == 2
    assert "refused: message: 'hello' is not one of" in capsys.readouterr().err
    # Open around the clock, nothing waits for a sweep: "swept" is refused, and says why.
    assert cli(["-c", str(running), "building", "swept"]) == 2
    assert "nothing waits for a sweep now" in capsys.readouterr().err
    got: list[bytes] = []
    seen = threading.Event()
    topics = Topics("aabent", "testsite")
    watcher = MqttBus(mqtt_broker_settings(mqtt_broker), "w", "w", topics)

    def on(_t: str, payload: bytes) -> None:
        got.append(payload)
        seen.set()

    watcher.subscribe(topics.building, on)
    watcher.start()
    try:
        assert seen.wait(10)
        state = json.loads(got[-1])
        assert state["phase"] == "open" and state["panel"] == {
            "armed": False,
            "alarm": False,
            "fault": False,
        }
    finally:
        watcher.stop()


def mqtt_broker_settings(broker: Broker) -> MqttSettings:
    return MqttSettings(host=broker.host, port=broker.port)
