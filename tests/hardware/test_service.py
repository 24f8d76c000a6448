"""The whole door controller as a process: `aabent door --simulate` against a real Mosquitto.

Bytes cross real ptys, pins are gpiozero's MockFactory, events go through the SQLite outbox. The
process is killed with SIGKILL to show that a restart locks every door, republishes the state and
delivers what the outbox held, with the ids it had.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from services.bus.client import MqttBus
from services.bus.topics import Topics
from services.cli.main import main as cli
from services.settings import MqttSettings
from tests.conftest import Broker, free_port, open_site_toml

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 15.0
TOPICS = Topics("aabent", "testsite")


def write_config(tmp_path: Path, port: int) -> Path:
    """A one-door site open for self-service around the clock, so the test passes at any hour."""
    cfg = tmp_path / "config" / "aabent.toml"
    cfg.parent.mkdir()
    cfg.write_text(
        open_site_toml(port)
        + """
[fire]
input_pin = 5
[doors.main]
lock_pin = 17
contact_pin = 27
exit_button_pin = 22
beam_a_pin = 6
beam_b_pin = 13
unlock_seconds = 1
[[doors.main.readers]]
kind = "barcode"
url = "loop://"
[[doors.main.readers]]
kind = "pinpad"
url = "loop://"
""",
        encoding="utf-8",
    )
    patrons = tmp_path / "patrons.csv"
    patrons.write_text(
        "card_number;name;birth_date;pin\n10000001;Karen Jensen;1975-04-12;1234\n", encoding="utf-8"
    )
    assert cli(["-c", str(cfg), "patrons", "import", str(patrons)]) == 0
    return cfg


class Observer:
    """A staff-side client that keeps every event and the latest retained states."""

    def __init__(self, broker: Broker) -> None:
        self.events: list[dict[str, Any]] = []
        self.states: dict[str, dict[str, Any]] = {}
        self.online = 0  # "online" announcements of the door controller seen
        self._changed = threading.Condition()
        settings = MqttSettings(host=broker.host, port=broker.port, keepalive=5)
        self.bus = MqttBus(
            settings, f"observer-{uuid.uuid4().hex[:6]}", "observer", TOPICS, reconnect_max_s=1
        )
        self.bus.subscribe(TOPICS.everything, self._on)
        self.bus.start()
        assert self.bus.wait_connected(TIMEOUT)

    def _on(self, topic: str, payload: bytes) -> None:
        with self._changed:
            if topic.endswith("/event"):
                self.events.append(json.loads(payload))
            elif topic.endswith("/state") or topic == TOPICS.site_description:
                self.states[topic] = json.loads(payload)
            elif topic == TOPICS.status("door-1") and payload == b"online":
                self.online += 1
            self._changed.notify_all()

    def wait(self, check: Callable[[], bool], what: str) -> None:
        with self._changed:
            assert self._changed.wait_for(check, TIMEOUT), f"timed out waiting for {what}"

    def wait_event(self, etype: str, **match: Any) -> dict[str, Any]:
        def found() -> dict[str, Any] | None:
            for ev in self.events:
                if ev["type"] == etype and all(ev.get(k) == v for k, v in match.items()):
                    return ev
            return None

        self.wait(lambda: found() is not None, etype)
        event = found()
        assert event is not None
        return event

    def door(self) -> dict[str, Any]:
        return self.states.get(TOPICS.door_state("main"), {})

    def sim(self, what: str, payload: bytes, door: str = "main") -> None:
        assert self.bus.publish(TOPICS.sim(door, what), payload).wait(TIMEOUT)

    def command(self, **fields: Any) -> None:
        body = {
            "id": str(uuid.uuid4()),
            "ts": datetime.now().astimezone().isoformat(),
            "by": "test",
            "reason": "test",
            **fields,
        }
        assert self.bus.publish(TOPICS.door_command("main"), json.dumps(body).encode()).wait(5)

    def stop(self) -> None:
        self.bus.stop()


@pytest.fixture
def observer(own_broker: Broker) -> Iterator[Observer]:
    obs = Observer(own_broker)
    yield obs
    obs.stop()


class Door:
    """`aabent door --simulate` in a child process."""

    def __init__(self, config: Path, observer: Observer) -> None:
        self.config = config
        self.observer = observer
        self.output: list[str] = []  # the controller's log, shown when a test fails
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "services.cli.main",
                "-c",
                str(self.config),
                "door",
                "--simulate",
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert self.proc.stdout is not None
        deadline = time.monotonic() + TIMEOUT
        seen = self.observer.online
        for line in self.proc.stdout:
            self.output.append(line)
            if line.startswith("door controller ready"):
                threading.Thread(target=self._drain, args=(self.proc,), daemon=True).start()
                # Online is announced after the subscriptions went out: sim inputs now arrive.
                self.observer.wait(lambda: self.observer.online > seen, "door online")
                return
            assert time.monotonic() < deadline, "the controller did not start"
        pytest.fail(f"the controller exited: {self.proc.wait()}\n{''.join(self.output)}")

    def _drain(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            self.output.append(line)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def terminate(self) -> int:
        assert self.proc is not None
        self.proc.terminate()
        return self.proc.wait(TIMEOUT)


@pytest.fixture
def door(tmp_path: Path, own_broker: Broker, observer: Observer) -> Iterator[Door]:
    d = Door(write_config(tmp_path, own_broker.port), observer)
    yield d
    if d.proc and d.proc.poll() is None:
        d.kill()
    print("".join(d.output))  # pytest shows it for a failed test only


def test_swipe_and_pin_over_the_ttys_open_the_door(observer: Observer, door: Door) -> None:
    door.start()
    observer.wait(lambda: observer.door().get("lock") == "locked", "locked state")
    observer.sim("swipe", b'{"card": "10000001", "pin": "1234"}')
    granted = observer.wait_event("access.granted", source="main")
    assert "10000001" not in json.dumps(granted)
    observer.wait_event("door.unlocked", reason="granted")
    observer.wait_event("door.locked")  # one second later, never opened
    assert door.terminate() == 0


def test_the_controller_announces_its_site_retained(observer: Observer, door: Door) -> None:
    door.start()
    observer.wait(lambda: TOPICS.site_description in observer.states, "site description")
    about = observer.states[TOPICS.site_description]
    assert about["doors"] == ["main"] and about["capacity"] >= 1 and about["name"]
    assert about["opening"]["state"] == "self-service"  # open around the clock in this site


def test_wrong_pin_and_unknown_card_are_denied_with_reasons(observer: Observer, door: Door) -> None:
    door.start()
    observer.sim("swipe", b'{"card": "10000001", "pin": "9999"}')
    observer.wait_event("access.denied", reason="wrong_pin")
    observer.sim("swipe", b'{"card": "55555555", "pin": "1234"}')
    observer.wait_event("access.denied", reason="unknown_card")


def test_people_counter_and_fire_input_reach_the_broker(observer: Observer, door: Door) -> None:
    door.start()
    observer.sim("walk", b"in")
    observer.wait_event("occupancy.in")
    observer.sim("fire", b"on", door="site")
    observer.wait_event("fire.alarm", source="site")
    observer.wait(lambda: observer.door().get("lock") == "unlocked", "fire release")
    observer.sim("fire", b"off", door="site")
    observer.wait(lambda: observer.door().get("lock") == "locked", "relock after fire")


def test_malformed_command_is_rejected_and_the_service_keeps_running(
    observer: Observer, door: Door
) -> None:
    door.start()
    assert observer.bus.publish(TOPICS.door_command("main"), b"\xff\x00garbage").wait(5)
    observer.wait_event("command.rejected")
    observer.command(action="unlock", seconds=30)
    observer.wait_event("command.done")
    observer.wait(lambda: observer.door().get("lock") == "unlocked", "remote unlock")


def test_sigkill_while_unlocked_restarts_locked_and_republishes(
    observer: Observer, door: Door
) -> None:
    door.start()
    observer.command(action="unlock", seconds=600)
    observer.wait(lambda: observer.door().get("lock") == "unlocked", "remote unlock")
    door.kill()
    door.start()
    observer.wait(lambda: observer.door().get("lock") == "locked", "locked after restart")
    observer.wait_event("controller.started")


def test_outbox_backlog_survives_broker_outage_and_sigkill(
    observer: Observer, door: Door, own_broker: Broker, tmp_path: Path
) -> None:
    door.start()
    observer.sim("swipe", b'{"card": "10000001", "pin": "1234"}')
    observer.wait_event("door.unlocked")
    own_broker.stop()  # the door relocks after 1 s with nobody to tell
    outbox = tmp_path / "var" / "outbox.sqlite"
    deadline = time.monotonic() + TIMEOUT
    pending: list[str] = []
    while not any(t == "door.locked" for t in pending):
        assert time.monotonic() < deadline, "the relock never reached the outbox"
        time.sleep(0.1)
        with sqlite3.connect(outbox) as db:
            rows = db.execute("SELECT payload FROM outbox ORDER BY seq").fetchall()
        pending = [json.loads(p)["type"] for (p,) in rows]
    with sqlite3.connect(outbox) as db:
        ids = [json.loads(p)["id"] for (p,) in db.execute("SELECT payload FROM outbox")]
    door.kill()
    own_broker.start()
    assert observer.bus.wait_connected(TIMEOUT)
    door.start()
    for event_id in ids:
        observer.wait(
            lambda i=event_id: any(e["id"] == i for e in observer.events),
            f"backlog event {event_id}",
        )
    assert os.path.exists(outbox)


def test_lock_outputs_are_created_locked_before_storage_readers_or_network(
    tmp_path: Path,
) -> None:
    from gpiozero.pins.mock import MockFactory

    from hardware.service import DoorService
    from services.settings import Settings

    settings = Settings.model_validate(
        {
            "site": {"id": "boot", "data_dir": str(tmp_path), "key_file": str(tmp_path / "k")},
            # storage that cannot open (its folder is a file): start-up fails after the outputs
            "store": {"url": f"sqlite:///{tmp_path / 'a-file' / 'db.sqlite'}"},
            "doors": {
                "strike": {"lock_pin": 17, "readers": [{"kind": "barcode", "url": "loop://"}]},
                "maglock": {"lock_pin": 18, "fail_safe": True},
            },
        }
    )
    (tmp_path / "a-file").write_text("not a folder")
    factory = MockFactory()
    service = DoorService(settings, pin_factory=factory)
    with pytest.raises(OSError, match="a-file"):
        service.start()
    # a fail-secure strike is locked unpowered, a fail-safe maglock is locked powered: both
    # pins were driven before the database was touched
    assert factory.pin(17).function == "output" and factory.pin(17).state is False
    assert factory.pin(18).function == "output" and factory.pin(18).state is True
    assert service.readers == [] and service.bus is None and service.controller is None


def test_a_started_controller_freezes_its_heap_and_hands_the_gil_on_soon(tmp_path: Path) -> None:
    """A full collection holds the GIL while it walks the heap (170-200 ms measured with a
    controller loaded): what start-up loaded is frozen before the first input."""
    import gc

    from gpiozero.pins.mock import MockFactory

    from hardware.service import DoorService
    from services.settings import Settings

    settings = Settings.model_validate(
        {
            "site": {"id": "heap", "data_dir": str(tmp_path), "key_file": str(tmp_path / "k")},
            "mqtt": {"port": free_port()},  # nothing listens: the door works without it
            "doors": {"main": {"lock_pin": 17}},
        }
    )
    gc.unfreeze()
    interval = sys.getswitchinterval()
    sys.setswitchinterval(0.005)  # CPython's default
    service = DoorService(settings, pin_factory=MockFactory())
    try:
        service.start()
        assert gc.get_freeze_count() > 10_000
        # and a thread back from the scrypt gets the GIL within half a millisecond
        assert sys.getswitchinterval() <= 0.0005
    finally:
        service.stop()
        gc.unfreeze()
        sys.setswitchinterval(interval)


def test_a_door_called_site_gets_its_own_topic_and_the_building_keeps_its_own(
    tmp_path: Path,
) -> None:
    from hardware.service import BusSink
    from services.bus.outbox import Outbox
    from services.core.events import Event, EventType

    outbox = Outbox(tmp_path / "outbox.sqlite")
    bus = MqttBus(MqttSettings(port=1), "sink-test", "door", TOPICS)  # never started
    sink = BusSink(outbox, bus, TOPICS, {"site"})
    now = datetime.now().astimezone()
    sink.event(Event(type=EventType.DOOR_UNLOCKED, source="site", ts=now), "site")
    sink.event(Event(type=EventType.FIRE_ALARM, source="site", ts=now))
    outbox.close()
    with sqlite3.connect(tmp_path / "outbox.sqlite") as db:
        topics = [t for (t,) in db.execute("SELECT topic FROM outbox ORDER BY seq")]
    assert topics == [TOPICS.door_event("site"), TOPICS.site_event]
