"""The "Tonight" page in-process (tonight.py, tonight_view.py, building_orders.py): the plan's
steps with outcomes from stored events and the retained state; orders audited and published."""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from starlette.testclient import TestClient

from services.bus.client import MqttBus
from services.bus.topics import Topics
from services.dashboard.app import asgi
from services.dashboard.server import build_dashboard
from services.dashboard.web import Dashboard
from services.settings import Settings
from services.store.dashboard import CommandAudit, Role
from services.store.engine import make_sessionmaker
from services.store.recorder import EventRecord
from tests.conftest import Broker
from tests.services.dashboard.conftest import PASSWORD, add_staff, site_settings

DAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
SITE = "glostrup"  # the example settings' site
EVENING = {f"AABENT__SCHEDULE__SELF_SERVICE__{d}": "07:00-22:00" for d in DAYS}


@pytest.fixture
def settings(tmp_path: Path, mqtt_broker: Broker) -> Settings:
    return site_settings(tmp_path, mqtt_broker, AABENT__BUILDING__ENABLED="true", **EVENING)


@pytest.fixture
def built(settings: Settings, sqlite_db: Engine) -> Iterator[tuple[Dashboard, TestClient]]:
    topics = Topics(settings.mqtt.prefix, settings.site.id)
    bus = MqttBus(settings.mqtt, "test-tonight", "dashboard-test", topics)
    ctx = build_dashboard(settings, sqlite_db, bus)
    bus.start()
    assert bus.wait_connected(5)
    sessions = make_sessionmaker(sqlite_db)
    add_staff(sessions, "vera", Role.VIEWER)
    add_staff(sessions, "otto", Role.OPERATOR)
    with TestClient(asgi(ctx), base_url="https://testserver") as client:
        yield ctx, client
    bus.stop()


def _login(client: TestClient, user: str) -> str:
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text)
    assert token is not None
    form = {"username": user, "password": PASSWORD, "csrf": token.group(1)}
    assert client.post("/login", data=form, follow_redirects=False).status_code == 303
    found = re.search(r'data-csrf="([^"]+)"', client.get(f"/site/{SITE}/tonight").text)
    assert found is not None
    return found.group(1)


def _steps(html: str) -> list[tuple[str, str]]:
    return re.findall(r'data-step="([^"]+)" data-outcome="([^"]+)"', html)


def _event(ctx: Dashboard, etype: str, step: str, **details: object) -> None:
    with ctx.sessions() as session, session.begin():
        session.add(
            EventRecord(
                id=str(uuid.uuid4()),
                site=ctx.settings.site.id,
                ts=datetime.now(UTC),
                type=etype,
                source="site",
                details={"step": step, **details},
                received=datetime.now(UTC),
            )
        )


def test_steps_show_outcomes_from_stored_events_and_the_retained_state(
    built: tuple[Dashboard, TestClient],
) -> None:
    ctx, client = built
    _login(client, "vera")
    steps = _steps(client.get(f"/site/{SITE}/tonight").text)
    closing = [key for key, _ in steps if "/closes/" in key]
    assert len(closing) == len(ctx.settings.building.sequences.closes)
    assert any("/opens/" in key for key, _ in steps)  # and tomorrow's opening
    announce, arm = closing[0], closing[-1]
    _event(ctx, "closing.announced", announce, message="closing_15")
    _event(ctx, "alarm.arm_refused", arm, inside=2)
    _event(ctx, "lights.changed", "some-other-evening/closes/4")  # names no step shown
    ctx.buildings.update(
        ctx.settings.site.id,
        json.dumps({"phase": "sweep", "inside": 2, "panel": {"armed": False}}).encode(),
    )
    html = client.get(f"/site/{SITE}/tonight").text
    outcomes = dict(_steps(html))
    assert outcomes[announce] == "done"
    assert outcomes[arm] == "waiting"
    assert "(2 talt inde)" in html
    assert 'id="phase">venter på gennemgang' in html
    assert 'id="inside">2<' in html
    assert "frakoblet" in html
    assert 'id="orders"' not in html  # a viewer sees no orders


def test_an_order_is_audited_and_sent_on_the_building_command_topic(
    built: tuple[Dashboard, TestClient], settings: Settings
) -> None:
    ctx, client = built
    topics = Topics(settings.mqtt.prefix, settings.site.id)
    heard: list[dict[str, object]] = []
    got = threading.Event()

    def on_command(_topic: str, payload: bytes) -> None:
        heard.append(json.loads(payload))
        got.set()

    listener = MqttBus(settings.mqtt, "test-tonight-listener", "listener", topics)
    listener.subscribe(topics.building_command, on_command)
    listener.start()
    try:
        assert listener.wait_connected(5)
        csrf = _login(client, "otto")
        form = {"csrf": csrf, "action": "extend", "minutes": "20", "reason": "Book club runs late"}
        response = client.post(f"/site/{SITE}/tonight/order", data=form, follow_redirects=False)
        assert response.status_code == 303
        assert got.wait(5)
    finally:
        listener.stop()
    assert heard[0]["action"] == "extend" and heard[0]["minutes"] == 20
    assert heard[0]["by"] == "staff:otto"
    with ctx.sessions() as session:
        audit = session.scalars(select(CommandAudit)).one()
    assert (audit.door, audit.action, audit.seconds) == ("site", "extend", 1200)
    assert audit.command_id == heard[0]["id"] and audit.reason == "Book club runs late"
    page = client.get(response.headers["location"]).text
    assert "Book club runs late" in page and "forlæng 20 min." in page


@pytest.mark.parametrize(
    ("form", "status"),
    [
        ({"action": "extend", "minutes": "0", "reason": "x"}, 400),
        ({"action": "announce", "message": "no_such", "reason": "x"}, 400),
        ({"action": "swept", "reason": " "}, 400),
        ({"action": "explode", "reason": "x"}, 400),
    ],
)
def test_orders_the_controller_would_refuse_are_not_sent(
    built: tuple[Dashboard, TestClient], form: dict[str, str], status: int
) -> None:
    ctx, client = built
    csrf = _login(client, "otto")
    assert (
        client.post(f"/site/{SITE}/tonight/order", data={"csrf": csrf, **form}).status_code
        == status
    )
    with ctx.sessions() as session:
        assert session.scalars(select(CommandAudit)).first() is None


def test_a_viewer_may_not_order_and_a_form_needs_its_csrf_token(
    built: tuple[Dashboard, TestClient],
) -> None:
    _ctx, client = built
    csrf = _login(client, "vera")
    form = {"csrf": csrf, "action": "swept", "reason": "checked"}
    assert client.post(f"/site/{SITE}/tonight/order", data=form).status_code == 403
    client.cookies.clear()
    _login(client, "otto")
    assert (
        client.post(f"/site/{SITE}/tonight/order", data={**form, "csrf": "stale"}).status_code
        == 403
    )


def test_without_a_broker_an_order_is_not_sent_but_audited_as_not_delivered(
    settings: Settings, sqlite_db: Engine
) -> None:
    topics = Topics(settings.mqtt.prefix, settings.site.id)
    bus = MqttBus(settings.mqtt, "test-tonight-offline", "dashboard-test", topics)  # never started
    ctx = build_dashboard(settings, sqlite_db, bus)
    add_staff(make_sessionmaker(sqlite_db), "otto", Role.OPERATOR)
    with TestClient(asgi(ctx), base_url="https://testserver") as client:
        csrf = _login(client, "otto")
        form = {"csrf": csrf, "action": "swept", "reason": "checked on camera"}
        response = client.post(f"/site/{SITE}/tonight/order", data=form)
    assert response.status_code == 503 and "Ikke leveret" in response.text
    with ctx.sessions() as session:
        audit = session.scalars(select(CommandAudit)).one()
    assert (audit.action, audit.result, audit.result_reason) == (
        "swept",
        "undelivered",
        "no connection to the broker",
    )


def test_an_order_nobody_answers_becomes_not_delivered(
    tmp_path: Path, mqtt_broker: Broker, sqlite_db: Engine
) -> None:
    quick = site_settings(
        tmp_path, mqtt_broker, AABENT__BUILDING__ENABLED="true", AABENT__MQTT__COMMAND_MAX_AGE_S="1"
    )
    topics = Topics(quick.mqtt.prefix, quick.site.id)
    bus = MqttBus(quick.mqtt, "test-tonight-unanswered", "dashboard-test", topics)
    ctx = build_dashboard(quick, sqlite_db, bus)
    bus.start()
    assert bus.wait_connected(5)
    add_staff(make_sessionmaker(sqlite_db), "otto", Role.OPERATOR)
    try:
        with TestClient(asgi(ctx), base_url="https://testserver") as client:
            csrf = _login(client, "otto")
            form = {"csrf": csrf, "action": "announce", "message": "closed", "reason": "test"}
            assert (
                client.post(
                    f"/site/{SITE}/tonight/order", data=form, follow_redirects=False
                ).status_code
                == 303
            )

            def settled() -> str:
                with ctx.sessions() as session:
                    return session.scalars(select(CommandAudit.result)).one()

            deadline = datetime.now(UTC) + timedelta(seconds=15)
            while settled() == "pending" and datetime.now(UTC) < deadline:
                time.sleep(0.2)  # the app's own expiry task runs every second
            assert settled() == "undelivered"
            assert "ikke leveret: intet svar fra døren" in client.get(f"/site/{SITE}/tonight").text
    finally:
        bus.stop()
