"""A whole simulated branch for the browser tests and the latency benchmark.

Real parts only: the given Mosquitto, ``aabent door --simulate`` as its own process (MockFactory
pins, pty readers, the demo patrons), and ``aabent server`` in this process (recorder and
dashboard on a SQLite file), serving on a loopback port for headless Chromium.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from services.bus.client import MqttBus
from services.bus.topics import Topics
from services.dashboard.server import Server
from services.settings import DEFAULT_CONFIG, Settings, load_settings
from services.store.dashboard import Role
from services.store.engine import make_engine, make_sessionmaker
from tests.conftest import Broker, free_port
from tests.services.dashboard.conftest import add_staff, create_tables

ROOT = Path(__file__).resolve().parents[3]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
ALL_DAY = "00:00-24:00"
DAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")


def site_env(data_dir: Path, broker: Broker, site: str) -> dict[str, str]:
    """AABENT__ overrides: open around the clock without staff, on the test broker."""
    return {
        "AABENT__SITE__ID": site,
        "AABENT__SITE__DATA_DIR": str(data_dir),
        "AABENT__SITE__KEY_FILE": str(data_dir / "site.key"),
        "AABENT__MQTT__PORT": str(broker.port),
        "AABENT__DASHBOARD__PORT": str(free_port()),
        "AABENT__SCHEDULE__PUBLIC_HOLIDAYS_CLOSED": "false",
        "AABENT__SCHEDULE__EXCEPTIONS": "[]",
        "AABENT__RECORDER__HOMEASSISTANT_DISCOVERY": "false",
        **{f"AABENT__SCHEDULE__SELF_SERVICE__{d}": ALL_DAY for d in DAYS},
        **{f"AABENT__SCHEDULE__STAFFED__{d}": '""' for d in DAYS},
    }


@dataclass
class Site:
    """The running branch: its settings, the server, a bus to play the world, the URL."""

    settings: Settings
    server: Server
    world: MqttBus
    door: subprocess.Popen[bytes]
    url: str
    engine: Engine
    log: list[str] = field(default_factory=list)

    @property
    def topics(self) -> Topics:
        """The site's topics."""
        return self.world.topics

    def sim(self, door: str, what: str, payload: bytes) -> None:
        """Play a simulated input at the door controller (swipe, contact, walk, …)."""
        assert self.world.publish(self.topics.sim(door, what), payload).wait(5)


def _aabent(*args: str) -> list[str]:
    return [sys.executable, "-m", "services.cli.main", "-c", str(DEFAULT_CONFIG), *args]


def _start_door(env: dict[str, str], log: list[str]) -> subprocess.Popen[bytes]:
    full = {**os.environ, **env, "PYTHONUNBUFFERED": "1"}
    imported = subprocess.run(
        _aabent("patrons", "import", str(ROOT / "config" / "demo-patrons.csv")),
        env=full,
        cwd=ROOT,
        capture_output=True,
        timeout=60,
    )
    assert imported.returncode == 0, imported.stderr.decode()
    door = subprocess.Popen(
        _aabent("door", "--simulate"),
        env=full,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    ready = threading.Event()

    def read() -> None:
        assert door.stdout is not None
        for raw in door.stdout:
            line = raw.decode(errors="replace").rstrip()
            log.append(line)
            if "door controller ready" in line:
                ready.set()

    threading.Thread(target=read, name="door-log", daemon=True).start()
    if not ready.wait(30):
        door.kill()
        raise RuntimeError("aabent door --simulate did not start:\n" + "\n".join(log[-30:]))
    return door


@contextmanager
def running_site(
    tmp: Path, broker: Broker, site: str = "browser", extra: dict[str, str] | None = None
) -> Iterator[Site]:
    """Door process, server and a world bus; staff ``otto`` (operator), ``vera`` (viewer).

    ``extra`` adds or overrides AABENT__ settings (e.g. another schedule, the building)."""
    env = {**site_env(tmp / "var", broker, site), **(extra or {})}
    settings = load_settings(DEFAULT_CONFIG, environ=env)
    engine = make_engine(f"sqlite:///{tmp / 'server.sqlite'}")
    create_tables(engine)
    sessions = make_sessionmaker(engine)
    add_staff(sessions, "otto", Role.OPERATOR)
    add_staff(sessions, "vera", Role.VIEWER)
    log: list[str] = []
    server = Server(settings, engine)
    server.start_background()
    door = _start_door(env, log)
    topics = Topics(settings.mqtt.prefix, settings.site.id)
    world = MqttBus(settings.mqtt, f"world-{site}", "world", topics)
    world.start()
    assert world.wait_connected(5)
    url = f"http://127.0.0.1:{settings.dashboard.port}"
    try:
        yield Site(settings, server, world, door, url, engine, log)
    finally:
        world.stop()
        door.terminate()
        try:
            door.wait(10)
        except subprocess.TimeoutExpired:
            door.kill()
        server.stop()
        engine.dispose()


def launch_chromium(playwright: Any) -> Any:
    """Debian's Chromium, headless, driven by Playwright (no downloaded browser)."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def wait_until(check: Any, timeout: float = 10.0, every: float = 0.05) -> None:
    """Poll ``check()`` until true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"not true after {timeout}s: {check}")
        time.sleep(every)
