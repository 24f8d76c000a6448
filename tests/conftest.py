"""Real parts for the tests: a Mosquitto broker on a free port, SQLite files and PostgreSQL."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, text

from services.store.engine import make_engine

X11_DIR = Path("/tmp/.X11-unix")
PG_URL = os.environ.get("AABENT_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
ARTIFACTS = Path(__file__).parent / "artifacts"


def open_site_toml(port: int) -> str:
    """The head of a test site's settings file: site ``testsite``, its files under ``var``, open
    for self-service around the clock (so a test passes at any hour) and its broker on ``port``."""
    days = "\n".join(
        f'{d} = "00:00-24:00"' for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    )
    return f"""
[site]
id = "testsite"
data_dir = "var"
key_file = "var/site.key"
[schedule]
public_holidays_closed = false
[schedule.self_service]
{days}
[mqtt]
port = {port}
"""


def free_port() -> int:
    """A TCP port nobody listens on right now (loopback)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    """Block until something accepts on 127.0.0.1:port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


def wait_for(check: Callable[[], object], what: str, timeout: float = 5.0) -> None:
    """Poll ``check`` every millisecond until it holds; the assertion names ``what``."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.001)


def start_xvfb(first_display: int = 90) -> tuple[subprocess.Popen[bytes], str]:
    """A real X server (Xvfb, 1280x800, 24 bit) on a free display number, and that display.

    Raises RuntimeError naming the problem when Xvfb is missing or no display could be had.
    """
    if shutil.which("Xvfb") is None:
        raise RuntimeError("Xvfb is not installed: run `make test`, which installs it")
    for number in range(first_display, first_display + 100):
        socket_path = X11_DIR / f"X{number}"
        if Path(f"/tmp/.X{number}-lock").exists() or socket_path.exists():
            continue
        proc = subprocess.Popen(
            ["Xvfb", f":{number}", "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while proc.poll() is None and time.monotonic() < deadline:
            if socket_path.exists():
                return proc, f":{number}"
            time.sleep(0.05)
        proc.kill()  # lost a race for the number, or too slow: try the next one
        proc.wait()
    raise RuntimeError(f"Xvfb did not start on any display from :{first_display}")


@dataclass
class Broker:
    """A real Mosquitto process; ``restart`` keeps the port, as a broker reboot would."""

    port: int
    config: Path | None = None
    host: str = "127.0.0.1"
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self) -> None:
        """Start (or start again) and wait until it accepts connections."""
        if shutil.which("mosquitto") is None:
            pytest.fail("mosquitto is not installed: run `make test`, which installs it")
        args = ["mosquitto", "-c", str(self.config)] if self.config else ["mosquitto"]
        if not self.config:
            args += ["-p", str(self.port)]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port)

    def stop(self) -> None:
        """Stop the broker process (SIGTERM, then SIGKILL)."""
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def restart(self) -> None:
        """Stop and start on the same port."""
        self.stop()
        self.start()


@pytest.fixture(scope="session")
def mqtt_broker() -> Iterator[Broker]:
    """One Mosquitto for the session, on a free loopback port."""
    broker = Broker(port=free_port())
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
def own_broker() -> Iterator[Broker]:
    """A Mosquitto of this test's own, for tests that stop or restart it."""
    broker = Broker(port=free_port())
    broker.start()
    yield broker
    broker.stop()


def _postgres_reachable() -> str | None:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return None
    except OSError as exc:
        return f"PostgreSQL not reachable at 127.0.0.1:5432 ({exc})"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty database: a SQLite file, or a fresh schema in the PostgreSQL ``test`` database.

    Without a reachable PostgreSQL the second run skips with the reason, unless
    ``AABENT_REQUIRE_POSTGRES=1`` (CI on these machines), where it fails.
    """
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'test.sqlite'}")
        yield eng
        eng.dispose()
        return
    problem = _postgres_reachable()
    if problem:
        if os.environ.get("AABENT_REQUIRE_POSTGRES") == "1":
            pytest.fail(problem)
        pytest.skip(problem)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    eng = make_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"})
    yield eng
    eng.dispose()
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def artifacts() -> Path:
    """Where screenshots and other things a person may look at are saved (gitignored)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


class Queries:
    """Every SQL statement the engine runs, counted (a real engine event, not a stand-in)."""

    def __init__(self, engine: Engine) -> None:
        self.count = 0
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, *_args: Any) -> None:
        self.count += 1
