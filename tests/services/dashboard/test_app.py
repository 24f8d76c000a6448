"""The dashboard over HTTP: login, cookies, CSRF, roles, throttling, pages, CSV (app.py, pages.py).

Runs the real app in-process through Starlette's TestClient, on a real database and broker.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, select
from starlette.testclient import TestClient

from services.bus.client import MqttBus
from services.bus.topics import Topics
from services.dashboard.app import asgi
from services.dashboard.server import build_dashboard
from services.dashboard.users import check_login, find_user
from services.settings import Settings
from services.store.dashboard import CommandAudit, Role
from services.store.engine import make_sessionmaker
from services.store.recorder import AlarmNotification, AlarmRecord, EventRecord
from tests.conftest import Broker
from tests.services.dashboard.conftest import PASSWORD, add_staff, site_settings


@pytest.fixture
def settings(tmp_path: Path, mqtt_broker: Broker) -> Settings:
    return site_settings(tmp_path, mqtt_broker)


@pytest.fixture
def app_client(settings: Settings, sqlite_db: Engine) -> Iterator[TestClient]:
    topics = Topics(settings.mqtt.prefix, settings.site.id)
    bus = MqttBus(settings.mqtt, "test-app", "dashboard-test", topics)
    ctx = build_dashboard(settings, sqlite_db, bus)
    bus.start()
    assert bus.wait_connected(5)
    sessions = make_sessionmaker(sqlite_db)
    add_staff(sessions, "vera", Role.VIEWER)
    add_staff(sessions, "otto", Role.OPERATOR)
    with TestClient(asgi(ctx), base_url="https://testserver") as client:
        yield client
    bus.stop()


def _login(client: TestClient, user: str, password: str = PASSWORD) -> int:
    page = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token is not None
    form = {"username": user, "password": password, "csrf": token.group(1)}
    return client.post("/login", data=form, follow_redirects=False).status_code


def _csrf(client: TestClient) -> str:
    found = re.search(r'data-csrf="([^"]+)"', client.get("/").text)
    assert found is not None
    return found.group(1)


def test_pages_need_a_login(app_client: TestClient) -> None:
    response = app_client.get("/", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login"
    snapshot = app_client.get(
        "/site/glostrup/live/snapshot", headers={"accept": "application/json"}
    )
    assert snapshot.status_code == 401
    assert app_client.get("/healthz").text == "ok"


def test_login_sets_a_strict_httponly_secure_cookie(app_client: TestClient) -> None:
    assert _login(app_client, "vera", "wrong password") == 401
    page = app_client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token is not None
    response = app_client.post(
        "/login",
        data={"username": "vera", "password": PASSWORD, "csrf": token.group(1)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    cookie = next(
        v for k, v in response.headers.multi_items() if k == "set-cookie" and "aabent_session" in v
    )
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Secure" in cookie
    live = app_client.get("/site/glostrup/")
    assert live.status_code == 200 and "Hovedindgang" in live.text
    assert "default-src 'self'" in live.headers["content-security-policy"]
    assert 'action="/site/glostrup/doors/main/command"' not in live.text  # a viewer gets no buttons


def test_login_form_without_its_token_is_refused(app_client: TestClient) -> None:
    response = app_client.post("/login", data={"username": "vera", "password": PASSWORD})
    assert response.status_code == 400


def test_guesses_from_one_address_throttle_that_address_only(
    app_client: TestClient, settings: Settings, sqlite_db: Engine
) -> None:
    for _ in range(5):
        assert _login(app_client, "otto", "wrong password") == 401
    assert _login(app_client, "otto") == 429  # the guessed name, from the guessing address
    assert _login(app_client, "vera") == 303  # a colleague at the same address logs in
    app = app_client.app
    with TestClient(app, base_url="https://testserver", client=("10.0.0.6", 50000)) as desk:
        assert _login(desk, "otto") == 303  # otto, from his own desk, during the attack


def test_viewer_cannot_command_and_changes_need_the_csrf_token(
    app_client: TestClient, sqlite_db: Engine
) -> None:
    form = {"action": "lock", "reason": "test"}
    assert _login(app_client, "vera") == 303
    csrf = _csrf(app_client)
    denied = app_client.post(
        "/site/glostrup/doors/main/command",
        data={**form, "csrf": csrf},
        headers={"accept": "application/json"},
    )
    assert denied.status_code == 403
    app_client.post("/logout", data={"csrf": csrf})
    assert _login(app_client, "otto") == 303
    assert app_client.post("/site/glostrup/doors/main/command", data=form).status_code == 403
    csrf = _csrf(app_client)
    sent = app_client.post(
        "/site/glostrup/doors/main/command",
        data={**form, "action": "unlock", "seconds": "30"},
        headers={"accept": "application/json", "x-csrf-token": csrf},
    )
    assert sent.status_code == 200
    with make_sessionmaker(sqlite_db)() as s:
        rows = s.scalars(select(CommandAudit)).all()
    assert [(r.username, r.action, r.seconds, r.reason) for r in rows] == [
        ("otto", "unlock", 30, "test")
    ]
    assert sent.json()["command_id"] == rows[0].command_id
    assert "otto" in app_client.get("/site/glostrup/commands").text


def test_operator_acknowledges_an_alarm_with_a_comment(
    app_client: TestClient, settings: Settings, sqlite_db: Engine
) -> None:
    sessions = make_sessionmaker(sqlite_db)
    now = datetime.now(UTC)
    with sessions() as s, s.begin():
        alarm = AlarmRecord(
            site=settings.site.id,
            kind="forced_open",
            source="main",
            severity="critical",
            raised_at=now,
            message="Door forced open",
        )
        s.add(alarm)
        s.flush()
        alarm_id = alarm.id
        s.add(
            AlarmNotification(
                alarm_id=alarm_id,
                channel="webhook",
                outcome="failed",
                attempt=4,
                error="500",
                ts=now,
            )
        )
        s.add(
            AlarmNotification(alarm_id=alarm_id, channel="email", outcome="sent", attempt=1, ts=now)
        )
    assert _login(app_client, "otto") == 303
    panel = app_client.get("/site/glostrup/alarms/panel")
    assert "Ikke leveret med webhook efter 4 forsøg" in panel.text
    assert "Sendt med e-mail" in panel.text
    assert "Døren er brudt op" in panel.text and "kritisk" in panel.text
    assert "Hovedindgang" in panel.text  # the door's name, not its code
    headers = {"accept": "application/json", "x-csrf-token": _csrf(app_client)}
    url = f"/site/glostrup/alarms/{alarm_id}/ack"
    assert app_client.post(url, data={"comment": " "}, headers=headers).status_code == 400
    assert app_client.post(url, data={"comment": "checked, door shut"}, headers=headers).is_success
    with sessions() as s:
        stored = s.get(AlarmRecord, alarm_id)
        assert stored is not None and stored.acknowledged_by == "otto"
        assert stored.comment == "checked, door shut"
    assert "Kvitteret af otto" in app_client.get("/site/glostrup/alarms/panel").text
    english = app_client.get("/language?lang=en&next=/site/glostrup/alarms/panel").text
    assert "Acknowledged by otto" in english and "Door forced open" in english


def test_statistics_event_log_and_year_pages_with_csv(
    app_client: TestClient, sqlite_db: Engine
) -> None:
    now = datetime.now(UTC)
    with make_sessionmaker(sqlite_db)() as s, s.begin():
        for i, etype in enumerate(["occupancy.in", "occupancy.in", "access.denied"]):
            s.add(
                EventRecord(
                    id=f"00000000-0000-4000-8000-00000000000{i}",
                    site="glostrup",
                    ts=now,
                    type=etype,
                    source="main",
                    reason="wrong_pin" if i == 2 else None,
                    credential=None,
                    command_id=None,
                    details={"inside": i + 1},
                    received=now,
                )
            )
    assert _login(app_client, "vera") == 303
    stats = app_client.get("/site/glostrup/stats")
    assert stats.status_code == 200 and "<svg" in stats.text
    csv_text = app_client.get("/site/glostrup/stats/export.csv?what=entries").text
    lines = csv_text.lstrip("\ufeff").splitlines()
    assert lines[0] == "start,card_entries,counted_entries"
    assert sum(int(line.split(",")[2]) for line in lines[1:]) == 2
    assert len(lines) == 31  # every day of the default 30, empty ones included
    peaks = app_client.get("/site/glostrup/stats/export.csv?what=peaks").text.splitlines()
    assert peaks[1].endswith(",2")
    log = app_client.get("/site/glostrup/events?type=access.denied")
    assert "Hovedindgang: adgang nægtet — forkert PIN-kode" in log.text
    assert 'data-type="occupancy.in"' not in log.text
    assert "wrong_pin" in log.text  # the code stays, on hover
    exported = app_client.get("/site/glostrup/events.csv?door=main").text.splitlines()
    assert len(exported) == 4
    year = app_client.get("/site/glostrup/year")
    assert year.status_code == 200 and 'id="visits">2<' in year.text
    year_csv = app_client.get("/site/glostrup/year?format=csv").text.splitlines()
    local_year = now.astimezone(ZoneInfo("Europe/Copenhagen")).year
    assert year_csv[1].startswith(f"{local_year},2,0,0.0,168.0,")  # open 24/7, never staffed
    assert app_client.get("/users").status_code == 403  # admins only


def test_several_alarms_acknowledged_at_once_with_one_comment_and_filtered(
    app_client: TestClient, settings: Settings, sqlite_db: Engine
) -> None:
    sessions = make_sessionmaker(sqlite_db)
    now = datetime.now(UTC)
    ids = []
    with sessions() as s, s.begin():
        for source, severity in (
            ("kiosk-foyer", "warning"),
            ("sim", "warning"),
            ("door-1", "critical"),
        ):
            alarm = AlarmRecord(
                site=settings.site.id,
                kind="offline",
                source=source,
                severity=severity,
                raised_at=now,
                message=f"{source} offline",
            )
            s.add(alarm)
            s.flush()
            ids.append(alarm.id)
    assert _login(app_client, "otto") == 303
    critical = app_client.get("/site/glostrup/alarms?severity=critical").text
    assert "door-1" in critical and "kiosk-foyer" not in critical
    headers = {"accept": "application/json", "x-csrf-token": _csrf(app_client)}
    form = {"alarm": [str(ids[0]), str(ids[1])], "comment": "genstart efter opdatering"}
    answer = app_client.post("/site/glostrup/alarms/ack", data=form, headers=headers)
    assert answer.is_success and answer.json()["acknowledged"] == ids[:2]
    with sessions() as s:
        rows = {a.id: a for a in s.scalars(select(AlarmRecord))}
    assert [rows[i].comment for i in ids] == ["genstart efter opdatering"] * 2 + [None]
    assert (
        app_client.post(
            "/site/glostrup/alarms/ack", data={"alarm": [], "comment": "x"}, headers=headers
        ).status_code
        == 400
    )


def test_an_admin_manages_staff_in_the_browser_and_everyone_changes_their_password(
    app_client: TestClient, sqlite_db: Engine
) -> None:
    sessions = make_sessionmaker(sqlite_db)
    add_staff(sessions, "ada", Role.ADMIN)
    assert _login(app_client, "vera") == 303
    headers = {"x-csrf-token": _csrf(app_client)}
    new = {"username": "bo", "role": "operator", "password": "x" * 12, "password_again": "x" * 12}
    assert app_client.post("/users/add", data=new, headers=headers).status_code == 403
    own = {"current": "wrong", "password": "y" * 12, "password_again": "y" * 12}
    assert app_client.post("/account/password", data=own, headers=headers).status_code == 400
    own["current"] = PASSWORD
    moved = app_client.post("/account/password", data=own, headers=headers, follow_redirects=False)
    assert moved.headers["location"] == "/login"
    assert app_client.get("/", follow_redirects=False).status_code == 303  # logged out
    assert _login(app_client, "vera", "y" * 12) == 303

    assert _login(app_client, "ada") == 303
    headers = {"x-csrf-token": _csrf(app_client)}
    assert app_client.post("/users/add", data=new, headers=headers).is_success
    weak = {**new, "username": "cai", "password": "short", "password_again": "short"}
    assert "mindst 10 tegn" in app_client.post("/users/add", data=weak, headers=headers).text
    assert app_client.post("/users/bo/role", data={"role": "viewer"}, headers=headers).is_success
    reset = {"password": "z" * 12, "password_again": "z" * 12}
    assert app_client.post("/users/bo/password", data=reset, headers=headers).is_success
    assert app_client.post("/users/ada/remove", headers=headers).status_code == 400  # not yourself
    with sessions() as s:
        bo = find_user(s, "bo")
        assert bo is not None and bo.role == "viewer"
        assert check_login(s, "bo", "z" * 12) is not None
    assert app_client.post("/users/bo/remove", headers=headers).is_success
    with sessions() as s:
        assert find_user(s, "bo") is None
    listed = app_client.get("/users").text
    assert 'data-user="ada"' in listed and 'data-user="bo"' not in listed


def test_staff_find_one_card_s_events_by_its_number_which_stays_out_of_urls(
    app_client: TestClient, settings: Settings, sqlite_db: Engine
) -> None:
    from services.core.credentials import Credential

    key = settings.site.site_key()
    card, other = key.pseudonym(Credential.from_text("10000001")), "0123456789ab"
    now = datetime.now(UTC)
    with make_sessionmaker(sqlite_db)() as s, s.begin():
        for i, credential in enumerate([card, other, card]):
            s.add(
                EventRecord(
                    id=f"00000000-0000-4000-8000-00000000010{i}",
                    site=settings.site.id,
                    ts=now,
                    type="access.denied",
                    source="main",
                    reason="wrong_pin",
                    credential=credential,
                    command_id=None,
                    details={},
                    received=now,
                )
            )
    assert _login(app_client, "vera") == 303
    headers = {"x-csrf-token": _csrf(app_client)}
    refused = app_client.post(
        "/site/glostrup/events/patron", data={"number": "10000001"}, headers=headers
    )
    assert refused.status_code == 403  # viewers see pseudonyms, they do not look people up
    assert _login(app_client, "otto") == 303
    headers = {"x-csrf-token": _csrf(app_client)}
    found = app_client.post(
        "/site/glostrup/events/patron",
        data={"number": " 10000001 "},
        headers=headers,
        follow_redirects=False,
    )
    location = found.headers["location"]
    assert f"credential={card}" in location and "10000001" not in location
    page = app_client.get(location).text
    assert page.count(f"<code>{card}</code>") == 2 and other not in page
    assert "10000001" not in page


def test_after_a_restart_the_feed_starts_with_the_recorded_events(
    settings: Settings, sqlite_db: Engine
) -> None:
    now = datetime.now(UTC)
    with make_sessionmaker(sqlite_db)() as s, s.begin():
        for i in range(3):
            s.add(
                EventRecord(
                    id=f"00000000-0000-4000-8000-00000000020{i}",
                    site=settings.site.id,
                    ts=now.replace(microsecond=0) - timedelta(minutes=3 - i),
                    type="door.opened",
                    source="main",
                    reason=None,
                    credential=None,
                    command_id=None,
                    details={},
                    received=now,
                )
            )
    bus = MqttBus(settings.mqtt, "test-feed", "dashboard-test", Topics("aabent", settings.site.id))
    feed = build_dashboard(settings, sqlite_db, bus).hub.snapshot()["feed"]
    assert [e["id"][-1] for e in feed] == ["2", "1", "0"]  # newest first, as live
