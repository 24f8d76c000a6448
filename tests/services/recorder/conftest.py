"""Fixtures of the recorder tests: its tables on SQLite and PostgreSQL, settings, event makers."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast

import pytest
from sqlalchemy import Engine, Table
from sqlalchemy.orm import Session, sessionmaker

from services.bus.client import MqttBus
from services.bus.topics import Topics
from services.core.events import Event, EventType
from services.recorder.recorder import COMPONENT, Recorder
from services.settings import Settings
from services.store.base import Base
from services.store.engine import make_sessionmaker
from services.store.lockouts import CardStanding, PinFailure
from services.store.recorder import RECORDER_TABLES
from tests.conftest import Broker

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday, 10:00 in Copenhagen
TABLES = (*RECORDER_TABLES, *(cast(Table, m.__table__) for m in (PinFailure, CardStanding)))


@pytest.fixture
def sessions(engine: Engine) -> Iterator[sessionmaker[Session]]:
    """Sessions on a database holding the recorder's tables (and the PIN failures it purges)."""
    Base.metadata.create_all(engine, tables=list(TABLES))
    yield make_sessionmaker(engine)


@pytest.fixture
def site() -> str:
    """A site id of this test's own, so tests on one broker never see each other."""
    return f"s{uuid.uuid4().hex[:10]}"


def make_settings(site: str, port: int = 1883, **sections: Any) -> Settings:
    """Settings for ``site`` on a local broker; ``sections`` override whole TOML sections."""
    data: dict[str, Any] = {
        "site": {"id": site, "name": "Testbibliotek"},
        "mqtt": {"host": "127.0.0.1", "port": port, "keepalive": 5},
    }
    for name, value in sections.items():
        data[name] = data.get(name, {}) | value
    return Settings.model_validate(data)


def event(
    etype: EventType,
    source: str = "main",
    ts: datetime = T0,
    *,
    reason: str | None = None,
    credential: str | None = None,
    **details: Any,
) -> Event:
    """An event as a door would send it."""
    return Event(etype, source, ts, reason=reason, credential=credential, details=details)


class WebhookServer:
    """A real HTTP server on loopback that records POSTed JSON; the first ``fail`` answer 500."""

    def __init__(self, fail: int = 0) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.fail = fail
        self.calls = 0
        self._cond = threading.Condition()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with server._cond:
                    server.calls += 1
                    failing = server.calls <= server.fail
                    if not failing:
                        server.bodies.append(json.loads(body))
                        server.headers.append(dict(self.headers.items()))
                    server._cond.notify_all()
                self.send_response(500 if failing else 204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()

    def wait_for(self, count: int, timeout: float = 10.0) -> bool:
        """Block until ``count`` bodies arrived."""
        with self._cond:
            return self._cond.wait_for(lambda: len(self.bodies) >= count, timeout)

    def close(self) -> None:
        """Stop serving."""
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def webhook() -> Iterator[WebhookServer]:
    """A webhook receiver on a free loopback port."""
    server = WebhookServer()
    yield server
    server.close()


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Poll ``predicate`` until it holds; False after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


@pytest.fixture
def central_recorder(
    own_broker: Broker, sessions: sessionmaker[Session]
) -> Iterator[tuple[Recorder, MqttBus]]:
    """A municipality's recorder (``all_sites``) on its own broker, and its bus."""
    settings = make_settings("central", own_broker.port, recorder={"all_sites": True})
    bus = MqttBus(
        settings.mqtt,
        "recorder-central",
        COMPONENT,
        Topics("aabent", "central"),
        persistent_session=True,
        manual_ack=True,
    )
    recorder = Recorder(settings, sessions, bus, clock=lambda: datetime.now(UTC))
    recorder.start()
    bus.start()
    assert bus.wait_connected(10)
    yield recorder, bus
    recorder.stop()
    bus.stop()
