"""The overview's "Serveren" section (recorder_health.py, overview.html): each recorder's health
row as the recorder writes it (services/recorder/health.py), its numbers, and the flags for a
recorder gone silent, a writer stuck and a bus that reconnected out of a stall.

The real app in-process (Starlette's TestClient) on a real SQLite file and broker.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from services.bus.client import MqttBus
from services.bus.topics import Topics
from services.dashboard.app import asgi
from services.dashboard.server import build_dashboard
from services.dashboard.users import set_site_role
from services.recorder.health import HealthReporter, health_key
from services.settings import Settings
from services.store.dashboard import Role
from services.store.engine import make_sessionmaker
from tests.conftest import Broker
from tests.services.dashboard.conftest import PASSWORD, add_staff, site_settings

TZ = ZoneInfo("Europe/Copenhagen")
COUNTERS = {
    "stored": 1234,
    "duplicates": 3,
    "rejected": {"json": 2, "oversized": 1},
    "queued": 0,
    "waiting_s": 0.0,
    "stalls": 0,
}


@pytest.fixture
def settings(tmp_path: Path, mqtt_broker: Broker) -> Settings:
    return site_settings(tmp_path, mqtt_broker)


@pytest.fixture
def sessions(sqlite_db: Engine) -> sessionmaker[Session]:
    made = make_sessionmaker(sqlite_db)
    add_staff(made, "lis", Role.VIEWER)
    with made() as s, s.begin():
        set_site_role(s, "lis", "elsewhere", Role.VIEWER)  # not even a viewer of this site
    return made


@pytest.fixture
def client(
    settings: Settings, sqlite_db: Engine, sessions: sessionmaker[Session]
) -> Iterator[TestClient]:
    bus = MqttBus(settings.mqtt, "test-overview-health", "dashboard-test", Topics("aabent", "x"))
    ctx = build_dashboard(settings, sqlite_db, bus)
    with TestClient(asgi(ctx), base_url="https://testserver") as test_client:
        page = test_client.get("/login")
        token = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert token is not None
        form = {"username": "lis", "password": PASSWORD, "csrf": token.group(1)}
        assert test_client.post("/login", data=form, follow_redirects=False).status_code == 303
        yield test_client


def _report(
    sessions: sessionmaker[Session],
    settings: Settings,
    at: datetime,
    *counters: Mapping[str, object],
    instance: str = "",
) -> None:
    """The recorder's reporter writing ``counters`` (one report each) at ``at``."""
    values = iter(counters)
    reporter = HealthReporter(
        sessions,
        settings.site.id,
        health_key("recorder", instance),
        lambda: next(values),
        every_s=settings.recorder.health_every_s,
        clock=lambda: at,
        instance=instance,
    )
    for _ in counters:
        assert reporter.report()


def _section(page: str) -> str:
    found = re.search(r'<section class="card" id="server-health">(.*?)</section>', page, re.S)
    assert found is not None
    return found.group(1)


def test_a_recorder_reporting_shows_its_numbers_to_any_staff_member(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    now = datetime.now(TZ)
    _report(sessions, settings, now - timedelta(seconds=5), COUNTERS)
    page = client.get("/").text
    section = _section(page)
    assert "Serveren" in section
    assert f'data-recorder="{settings.site.id}/recorder"' in section
    assert '<dd data-field="stored">1234</dd>' in section
    assert '<dd data-field="queued">0</dd>' in section
    assert '<dd data-field="stalls">0</dd>' in section
    assert 'title="json: 2, oversized: 1">3</dd>' in section
    assert (now - timedelta(seconds=5)).strftime("%H:%M:%S") in section  # the site's time
    assert "data-flag" not in section and "needs" not in section


def test_a_silent_recorder_is_flagged_with_its_last_report(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    last = datetime.now(TZ) - timedelta(seconds=settings.recorder.health_stale_s + 5)
    _report(sessions, settings, last, COUNTERS)
    section = _section(client.get("/").text)
    assert f"Optageren har ikke meldt sig siden {last:%H:%M}" in section or (
        "Optageren har ikke meldt sig siden i går" in section  # just after midnight
    )
    assert 'data-flag="silent"' in section


def test_a_stuck_writer_and_a_reconnecting_bus_are_flagged(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    now = datetime.now(TZ)
    stuck = {**COUNTERS, "queued": 17, "waiting_s": settings.mqtt.stall_s + 20}
    _report(sessions, settings, now, COUNTERS, {**COUNTERS, "stalls": 2}, instance="b")
    _report(sessions, settings, now, stuck, instance="a")
    section = _section(client.get("/").text)
    a = section.index(f'data-recorder="{settings.site.id}/recorder/a"')
    b = section.index(f'data-recorder="{settings.site.id}/recorder/b"')
    first, second = section[a:b], section[b:]
    assert 'data-flag="stuck"' in first and "17 beskeder har ventet 30 sek." in first
    assert 'data-flag="reconnecting"' not in first
    assert 'data-flag="reconnecting"' in second and '<dd data-field="stalls">2</dd>' in second
    assert 'data-flag="stuck"' not in second

    client.cookies.set("aabent_lang", "en")
    english = _section(client.get("/").text)
    assert "The server" in english and "17 messages have waited 30 s" in english
