"""Several door controllers on one site, as processes on a real Mosquitto.

Each controller is `door-<site.controller>` on the bus, so one that stops greys out its own doors
only; and a controller whose identity is taken already (a second process on the same data folder,
or a cloned Pi with the same config) refuses to start instead of fighting for the session.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from services.bus.client import MqttBus
from services.bus.topics import Topics
from services.recorder.discovery import discovery_messages
from services.settings import MqttSettings, load_settings
from tests.conftest import Broker

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 20.0
TOPICS = Topics("aabent", "twosite")


def site_config(tmp_path: Path, port: int) -> Path:
    """One site file for two controllers: the entrance Pi drives main, the basement Pi basement."""
    cfg = tmp_path / "config" / "aabent.toml"
    cfg.parent.mkdir(exist_ok=True)
    cfg.write_text(
        f"""
[site]
id = "twosite"
key_file = "var/site.key"
[mqtt]
port = {port}
keepalive = 5
[doors.main]
lock_pin = 17
controller = "entrance"
[doors.basement]
lock_pin = 16
controller = "basement"
""",
        encoding="utf-8",
    )
    return cfg


class Retained:
    """The latest message of every topic of the site, as a staff tool would see them."""

    def __init__(self, broker: Broker) -> None:
        self.latest: dict[str, bytes] = {}
        self._changed = threading.Condition()
        settings = MqttSettings(host=broker.host, port=broker.port, keepalive=5)
        self.bus = MqttBus(settings, f"watch-{uuid.uuid4().hex[:6]}", "watch", TOPICS)
        self.bus.subscribe(TOPICS.everything, self._on)
        self.bus.start()
        assert self.bus.wait_connected(TIMEOUT)

    def _on(self, topic: str, payload: bytes) -> None:
        with self._changed:
            self.latest[topic] = payload
            self._changed.notify_all()

    def wait(self, topic: str, payload: bytes) -> None:
        with self._changed:
            ok = self._changed.wait_for(lambda: self.latest.get(topic) == payload, TIMEOUT)
        assert ok, f"{topic} is {self.latest.get(topic)!r}, not {payload!r}"


@pytest.fixture
def watch(own_broker: Broker) -> Iterator[Retained]:
    w = Retained(own_broker)
    yield w
    w.bus.stop()


class Controller:
    """`aabent door --simulate` as a child process with its own environment."""

    def __init__(self, config: Path, **env: str) -> None:
        environ = {**os.environ, **{f"AABENT__{k.upper()}": v for k, v in env.items()}}
        self.output: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "services.cli.main", "-c", str(config), "door", "--simulate"],
            cwd=ROOT,
            env=environ,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def ready(self) -> None:
        """Wait for the ready line, then keep draining the output."""
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.output.append(line)
            if line.startswith("door controller ready"):
                threading.Thread(target=self._drain, daemon=True).start()
                return
        pytest.fail(f"the controller exited: {self.proc.wait()}\n{''.join(self.output)}")

    def refused(self) -> tuple[int, str]:
        """The exit code and output of a controller that must not start."""
        out, _ = self.proc.communicate(timeout=TIMEOUT)
        return self.proc.returncode, out

    def _drain(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.output.append(line)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


Launch = Callable[[Path, str, str], "Controller"]


@pytest.fixture
def launch(tmp_path: Path) -> Iterator[Launch]:
    """Start controller ``name`` of a site file on a data folder of its own (by folder name)."""
    started: list[Controller] = []

    def start(config: Path, name: str, folder: str) -> Controller:
        c = Controller(config, site__controller=name, site__data_dir=str(tmp_path / folder))
        started.append(c)
        return c

    yield start
    for c in started:
        c.stop()


def _available(watch: Retained, config: dict[str, object]) -> bool:
    """Home Assistant's reading of an entity's ``availability`` list and mode."""
    entries = config["availability"]
    assert isinstance(entries, list)
    states = [watch.latest.get(e["topic"]) == e["payload_available"].encode() for e in entries]
    return all(states) if config.get("availability_mode") == "all" else any(states)


def test_one_controller_stopping_greys_out_only_its_own_doors(
    tmp_path: Path, own_broker: Broker, watch: Retained, launch: Launch
) -> None:
    config = site_config(tmp_path, own_broker.port)
    controllers = [launch(config, name, name) for name in ("entrance", "basement")]
    for c, name in zip(controllers, ("entrance", "basement"), strict=True):
        c.ready()
        watch.wait(TOPICS.status(f"door-{name}"), b"online")
    discovery = discovery_messages(load_settings(config, environ={}))
    lock = "homeassistant/lock/aabent_twosite/{}_lock/config"
    assert _available(watch, discovery[lock.format("main")])
    assert _available(watch, discovery[lock.format("basement")])

    controllers[0].stop()  # the entrance Pi
    watch.wait(TOPICS.status("door-entrance"), b"offline")
    assert not _available(watch, discovery[lock.format("main")])
    assert _available(watch, discovery[lock.format("basement")])
    assert watch.latest[TOPICS.status("door-basement")] == b"online"
    # The building's figures stay available while any controller runs.
    assert _available(watch, discovery["homeassistant/sensor/aabent_twosite/occupancy/config"])
    # Each controller ran its own door only.
    assert any(line.endswith("doors main\n") for line in controllers[0].output)
    assert any(line.endswith("doors basement\n") for line in controllers[1].output)


def test_a_second_controller_on_the_same_data_folder_refuses_to_start(
    tmp_path: Path, own_broker: Broker, launch: Launch
) -> None:
    config = site_config(tmp_path, own_broker.port)
    first = launch(config, "entrance", "entrance")
    first.ready()
    second = launch(config, "entrance", "entrance")
    code, out = second.refused()
    assert code == 2
    lines = out.strip().splitlines()
    assert len(lines) == 1, out
    assert lines[0].startswith("aabent door: ")
    assert str(tmp_path / "entrance") in lines[0] and "another aabent door" in lines[0]
    assert first.proc.poll() is None  # the first keeps running


def test_a_cloned_controller_with_the_same_identity_refuses_to_start(
    tmp_path: Path, own_broker: Broker, watch: Retained, launch: Launch
) -> None:
    config = site_config(tmp_path, own_broker.port)
    first = launch(config, "entrance", "pi1")
    first.ready()
    watch.wait(TOPICS.status("door-entrance"), b"online")
    # A cloned Pi: the same config, its own data folder, another process.
    clone = launch(config, "entrance", "pi2")
    code, out = clone.refused()
    assert code == 2
    said = [line for line in out.splitlines() if line.startswith("aabent door: ")]
    assert len(said) == 1 and "Traceback" not in out, out
    assert "door-entrance of site twosite is already online" in said[0]
    # No fight: the first keeps its session, and its status never flapped to offline.
    time.sleep(1.5)
    assert first.proc.poll() is None
    assert watch.latest[TOPICS.status("door-entrance")] == b"online"
    assert "disconnected from the broker" not in "".join(first.output)


def test_a_controller_that_stopped_cleanly_can_be_started_again_at_once(
    tmp_path: Path, own_broker: Broker, watch: Retained, launch: Launch
) -> None:
    config = site_config(tmp_path, own_broker.port)
    for _ in range(2):  # the lock and the probe leave nothing behind
        c = launch(config, "entrance", "pi1")
        c.ready()
        watch.wait(TOPICS.status("door-entrance"), b"online")
        c.stop()
        watch.wait(TOPICS.status("door-entrance"), b"offline")
