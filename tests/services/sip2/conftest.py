"""Real parts for the SIP2 tests: the pysip2 test library system as a process, a fault proxy
(and TLS terminator) in front of it, a local FBS over HTTPS, a library system that never answers."""

from __future__ import annotations

import ssl
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine

from services.core.credentials import SiteKey
from services.core.events import Event
from services.sip2.client import Backoff, Sip2Client
from services.sip2.directory import Sip2Directory
from services.sip2.requests import Terminal
from services.sip2.transport import TcpTransport, Transport
from services.store.base import Base
from services.store.engine import make_engine
from services.store.sip2_cache import CachedPatron
from tests.services.sip2.faults import FaultProxy, SilentServer
from tests.services.sip2.fbs_server import FbsServer
from tests.services.sip2.library import INSTITUTION, LOGIN, TODAY
from tests.services.sip2.rogue_server import RogueAcs

ROOT = Path(__file__).resolve().parents[3]
ZONE = ZoneInfo("Europe/Copenhagen")
FBS_LOGIN = ("aabent-door", "fbs-pa$$word&<x>")  # XML-special characters on purpose


@dataclass
class Acs:
    """A pysip2 ACS process; ``restart`` keeps the port, as a library system reboot would."""

    charset: str = "utf-8"
    login: tuple[str, str] | None = None
    port: int = 0
    proc: subprocess.Popen[str] | None = field(default=None, repr=False)

    def start(self) -> None:
        """Start and wait for READY."""
        args = [
            sys.executable,
            "-m",
            "tests.services.sip2.acs_server",
            "--port",
            str(self.port),
            "--charset",
            self.charset,
            "--today",
            TODAY.isoformat(),
        ]
        if self.login:
            args += ["--login", ":".join(self.login)]
        self.proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith("READY "):
            self.stop()
            pytest.fail(f"the test ACS did not start: {line!r}")
        self.port = int(line.split()[1])

    def stop(self) -> None:
        """Kill the process (a crash, not a goodbye)."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def restart(self) -> None:
        """Stop and start on the same port."""
        self.stop()
        self.start()


def _acs(charset: str = "utf-8", login: tuple[str, str] | None = None) -> Iterator[Acs]:
    acs = Acs(charset, login)
    acs.start()
    yield acs
    acs.stop()


@pytest.fixture(scope="session")
def acs() -> Iterator[Acs]:
    """The test library system, UTF-8, no login required, for the whole session."""
    yield from _acs()


@pytest.fixture(scope="session")
def acs_login() -> Iterator[Acs]:
    """A test library system that requires a 93 login (user/password ``LOGIN``)."""
    yield from _acs(login=LOGIN)


@pytest.fixture(scope="session", params=["latin-1", "cp850"])
def acs_charset(request: pytest.FixtureRequest) -> Iterator[Acs]:
    """The test library system speaking latin-1 or cp850."""
    yield from _acs(charset=request.param)


@pytest.fixture
def own_acs() -> Iterator[Acs]:
    """A test library system of this test's own, for tests that kill or restart it."""
    yield from _acs()


@pytest.fixture
def proxy(acs: Acs) -> Iterator[FaultProxy]:
    """A fault proxy in front of the session ACS."""
    p = FaultProxy(acs.port)
    yield p
    p.stop()


@pytest.fixture
def silent() -> Iterator[SilentServer]:
    """A library system that accepts connections and never answers."""
    s = SilentServer()
    yield s
    s.stop()


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (openssl CLI): ``(cert, key)``."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture(scope="session")
def server_tls(tls_files: tuple[Path, Path]) -> ssl.SSLContext:
    """The server side of that certificate."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*tls_files)
    return context


@pytest.fixture(scope="session")
def client_tls(tls_files: tuple[Path, Path]) -> ssl.SSLContext:
    """A verifying client context that trusts only that certificate."""
    return ssl.create_default_context(cafile=str(tls_files[0]))


@pytest.fixture
def tls_proxy(acs: Acs, server_tls: ssl.SSLContext) -> Iterator[FaultProxy]:
    """TLS in front of the session ACS, as stunnel in front of Koha."""
    p = FaultProxy(acs.port, tls=server_tls)
    yield p
    p.stop()


@pytest.fixture(scope="session")
def fbs_server(acs: Acs, server_tls: ssl.SSLContext) -> Iterator[FbsServer]:
    """A local FBS for agency DK-761500 over HTTPS, in front of the session ACS."""
    server = FbsServer(acs.port, server_tls, INSTITUTION, *FBS_LOGIN)
    yield server
    server.stop()


def tcp_client(port: int, *, transport: Transport | None = None, **kwargs: object) -> Sip2Client:
    """A client for the test ACS on ``port`` with a quick back-off (tests reconnect often)."""
    options: dict[str, object] = {
        "timeout_s": 1.0,
        "backoff": Backoff(base_s=0.01, cap_s=0.05),
        "clock": clock_at(),
    }
    options.update(kwargs)
    return Sip2Client(
        transport or TcpTransport("127.0.0.1", port),
        Terminal(INSTITUTION),
        **options,  # type: ignore[arg-type]
    )


def clock_at(moment: datetime | None = None) -> Callable[[], datetime]:
    """A clock fixed at ``moment`` (default: 10:00 on the library's test day)."""
    fixed = moment or datetime(TODAY.year, TODAY.month, TODAY.day, 10, 0, tzinfo=ZONE)
    return lambda: fixed


class Clock:
    """A clock the test moves: ``clock.advance(days=15)``."""

    def __init__(self) -> None:
        self.now = datetime(TODAY.year, TODAY.month, TODAY.day, 10, 0, tzinfo=ZONE)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        """Move time forward."""
        self.now += timedelta(**delta)


@pytest.fixture
def cache_engine(tmp_path: Path) -> Iterator[Engine]:
    """A door controller's SQLite file with just the SIP2 cache table."""
    engine = make_engine(f"sqlite:///{tmp_path / 'door.sqlite'}")
    Base.metadata.create_all(engine, tables=[CachedPatron.__table__])  # type: ignore[list-item]
    yield engine
    engine.dispose()


SITE_KEY = SiteKey(b"k" * 32)


@dataclass
class DoorRig:
    """A directory wired like a door controller's, with its events and clock at hand."""

    directory: Sip2Directory
    events: list[Event]
    clock: Clock
    client: Sip2Client


@contextmanager
def rig_on(
    port: int, engine: Engine, *, timeout_s: float = 0.3, **client: Any
) -> Iterator[DoorRig]:
    """A Sip2Directory wired like a door controller's, for the server on ``port``; ``client``
    options go to the client. Health checks are not started."""
    events: list[Event] = []
    clock = Clock()
    directory = Sip2Directory(
        tcp_client(port, clock=clock, **client),
        engine=engine,
        site_key=SITE_KEY,
        on_event=events.append,
        clock=clock,
        timeout_s=timeout_s,
        probe_s=0.1,
        account_timeout_s=0.5,
        health_rise=3,
    )
    try:
        yield DoorRig(directory, events, clock, directory.client)
    finally:
        directory.close()


@pytest.fixture
def door_rig(proxy: FaultProxy, cache_engine: Engine) -> Iterator[DoorRig]:
    """A door's directory on the session ACS through a fault proxy."""
    with rig_on(proxy.port, cache_engine) as rig:
        yield rig


@pytest.fixture
def rogue() -> Iterator[RogueAcs]:
    """The misbehaving library system (honest until the test sets ``rogue.rogue``'s fields)."""
    server = RogueAcs()
    yield server
    server.stop()


def rogue_door(server: RogueAcs, engine: Engine, **client: Any) -> AbstractContextManager[DoorRig]:
    """A door's directory on the rogue server (a longer timeout: it takes its time)."""
    return rig_on(server.port, engine, timeout_s=0.5, **client)
