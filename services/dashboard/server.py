"""``aabent server``: the recorder and the staff dashboard in one process.

The recorder (``services.recorder``) stores every event; the dashboard serves staff over HTTP
with its own MQTT subscription for the live view, so a slow database never delays what staff
see. Both share one database engine. uvicorn owns the main thread and its signals.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

import uvicorn
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.templating import Jinja2Templates

from services.bus.client import MqttBus
from services.bus.topics import Topics
from services.dashboard.app import asgi
from services.dashboard.auth import LoginThrottle, SessionStore, load_or_create_secret
from services.dashboard.commands import Commander, command_view
from services.dashboard.feed import recent_feed
from services.dashboard.floorplan import load_plan
from services.dashboard.i18n import Catalogue
from services.dashboard.live import LiveHub
from services.dashboard.sites import doors_of
from services.dashboard.tonight_view import BuildingStates
from services.dashboard.web import TEMPLATES, Dashboard
from services.runtime.holiday_file import site_schedule
from services.runtime.systemd_notify import notify, start_watchdog
from services.settings import Settings, door_component
from services.store.engine import make_sessionmaker

log = logging.getLogger(__name__)


class Startable(Protocol):
    """The part of the recorder the server drives."""

    def start(self) -> None:
        """Begin recording."""

    def stop(self) -> None:
        """Flush and stop."""


RecorderFactory = Callable[[Settings, Engine], Startable]
NO_OFFSET = timedelta()


def default_recorder(settings: Settings, engine: Engine) -> Startable | None:
    """The recorder as ``aabent recorder`` runs it, on the server's engine and its own bus, if
    this installation has ``services.recorder``; None otherwise."""
    try:
        from services.recorder.service import RecorderService
    except ImportError as exc:
        log.warning("no recorder (%s); the server runs the dashboard only", exc)
        return None
    tz = ZoneInfo(settings.site.timezone)
    return RecorderService(settings, make_sessionmaker(engine), clock=lambda: datetime.now(tz))


def _templates(tz: ZoneInfo) -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(TEMPLATES))

    def localtime(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
        return "" if value is None else value.astimezone(tz).strftime(fmt)

    def local(value: datetime | None) -> datetime | None:
        return None if value is None else value.astimezone(tz)

    templates.env.filters["localtime"] = localtime
    templates.env.filters["local"] = local
    return templates


def doors_at(sessions: sessionmaker[Session], settings: Settings, site: str) -> set[str]:
    """The doors a command may go to at ``site``: the settings' at the server's own site, the
    ones the store holds a state of at any other branch."""
    if site == settings.site.id:
        return set(settings.doors)
    with sessions() as session:
        return set(doors_of(session, site))


def build_dashboard(
    settings: Settings, engine: Engine, bus: MqttBus, clock_offset: timedelta = NO_OFFSET
) -> Dashboard:
    """The dashboard's context, wired to ``bus`` and ``engine``; its clock ``clock_offset``
    ahead when it serves a simulated door running ahead (the demo's evening)."""
    tz = ZoneInfo(settings.site.timezone)
    d = settings.dashboard
    sessions = make_sessionmaker(engine)
    topics = bus.topics
    hub = LiveHub(
        topics,
        {k: v.name or k for k, v in settings.doors.items()},
        d.feed_size,
        connected=lambda: bus.connected,
        door_components={k: door_component(settings.controller_of(k)) for k in settings.doors},
        wall=lambda: datetime.now(tz),
    )

    def clock() -> datetime:
        return datetime.now(tz) + clock_offset

    commander = Commander(
        lambda topic, raw: bus.publish(topic, raw, qos=1),
        topics,
        sessions,
        lambda site: doors_at(sessions, settings, site),
        clock,
        settings.mqtt.command_max_age_s,
        connected=lambda: bus.connected,
    )
    with sessions() as session:
        hub.preload(recent_feed(session, settings.site.id, d.feed_size))
    hub.add_event_listener(commander.outcome)
    commander.add_listener(
        lambda audit: hub.publish("command", command_view(audit), audit.site or settings.site.id)
    )
    hub.attach(bus.subscribe)
    buildings = BuildingStates()
    buildings.attach(topics, bus.subscribe)
    secret = load_or_create_secret(d.secret_file or settings.site.data_dir / "dashboard.secret")
    return Dashboard(
        settings=settings,
        sessions=sessions,
        logins=SessionStore(
            secret, timedelta(hours=d.session_hours), timedelta(minutes=d.idle_minutes)
        ),
        throttle=LoginThrottle(d.login_max_failures, timedelta(minutes=d.login_window_minutes)),
        hub=hub,
        commander=commander,
        schedule=site_schedule(settings),
        clock=clock,
        templates=_templates(tz),
        catalogue=Catalogue.load(),
        site_key=settings.site.site_key(),
        plan=load_plan(settings.floorplan_path, set(settings.doors)),
        buildings=buildings,
    )


@dataclass
class Server:
    """Everything ``aabent server`` runs: MQTT bus, recorder, dashboard and its HTTP server."""

    settings: Settings
    engine: Engine
    recorder_factory: Callable[[Settings, Engine], Startable | None] = default_recorder
    bus: MqttBus | None = None
    clock_offset: timedelta = NO_OFFSET
    recorder: Startable | None = None
    dashboard: Dashboard | None = None
    http: uvicorn.Server | None = None
    stopped: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def build(self) -> None:
        """Bus, dashboard and recorder, wired; nothing connects yet."""
        s = self.settings
        topics = Topics(s.mqtt.prefix, s.site.id)
        self.bus = MqttBus(s.mqtt, f"aabent-dashboard-{s.site.id}", "dashboard", topics)
        self.dashboard = build_dashboard(s, self.engine, self.bus, self.clock_offset)
        self.recorder = self.recorder_factory(s, self.engine)
        d = s.dashboard
        config = uvicorn.Config(
            asgi(self.dashboard),
            host=d.host,
            port=d.port,
            proxy_headers=True,
            forwarded_allow_ips=d.forwarded_allow_ips,
            ssl_certfile=str(d.tls_cert_file) if d.tls_cert_file else None,
            ssl_keyfile=str(d.tls_key_file) if d.tls_key_file else None,
            log_config=None,  # keep the process's own logging setup
            timeout_graceful_shutdown=2,  # open SSE streams would otherwise hold the exit
        )
        self.http = uvicorn.Server(config)

    def start_background(self) -> None:
        """Connect, start recording and serve HTTP from a thread (tests, benchmarks)."""
        self._start_parts()
        assert self.http is not None
        self._thread = threading.Thread(target=self.http.run, name="http", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self.http.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the dashboard's HTTP server did not start")
            time.sleep(0.02)

    def _start_parts(self) -> None:
        if self.http is None:
            self.build()
        assert self.bus is not None
        self.bus.start()
        if self.recorder is not None:
            self.recorder.start()

    def serve(self) -> None:
        """Run until SIGTERM/SIGINT (uvicorn handles them in the main thread), then stop."""
        self._start_parts()
        assert self.http is not None and self.bus is not None
        bus, http = self.bus, self.http
        ready = threading.Thread(target=self._announce, name="sd-notify", daemon=True)
        ready.start()
        start_watchdog(lambda: bus.connected or http.started, self.stopped)
        try:
            http.run()
        finally:
            self.stop()

    def _announce(self) -> None:
        while self.http is not None and not self.http.started and not self.stopped.is_set():
            time.sleep(0.05)
        if not self.stopped.is_set():
            notify("READY=1")
            log.info("dashboard on %s:%s", self.settings.dashboard.host, self.port)

    @property
    def port(self) -> int:
        """The port served (the configured one)."""
        return self.settings.dashboard.port

    def stop(self) -> None:
        """Stop HTTP, the recorder (it flushes) and the bus."""
        if self.stopped.is_set():
            return
        notify("STOPPING=1")
        self.stopped.set()
        if self.http is not None:
            self.http.should_exit = True
        if self._thread is not None:
            self._thread.join(5)
        if self.recorder is not None:
            self.recorder.stop()
        if self.bus is not None:
            self.bus.stop()


def run_server(settings: Settings, *, clock_offset_min: int = 0) -> int:
    """``aabent server``: open and migrate the database, then serve until stopped."""
    from services.store.schema import open_database

    engine = open_database(settings.database_url, settings.site.id)
    Server(settings, engine, clock_offset=timedelta(minutes=clock_offset_min)).serve()
    engine.dispose()
    return 0


__all__ = ["Server", "build_dashboard", "default_recorder", "run_server"]
