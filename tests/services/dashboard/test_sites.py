"""A municipality of branches on one dashboard: the overview, roles per site, commands only where
a user may operate (checked on the server), statistics per branch and summed, and the tailgating
count that a restart does not forget (sites.py, overview.py, users.py, web.py's guard).

The real app in-process (Starlette's TestClient) on a real database and broker; the other
branch's states are stored as the recorder stores them, and its door listens on the broker.
"""

from __future__ import annotations

import json
import queue
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from services.bus.client import MqttBus
from services.bus.topics import Topics
from services.core.events import Event, EventType
from services.dashboard.app import asgi
from services.dashboard.server import build_dashboard
from services.dashboard.sites import Access, SiteInfo, access_of, known_sites
from services.dashboard.users import UserError, find_user, set_site_role, site_roles
from services.settings import Settings
from services.store.dashboard import CommandAudit, Role, StaffSession
from services.store.engine import make_sessionmaker
from services.store.recorder import AlarmRecord, event_row, insert_events, put_state
from tests.conftest import Broker
from tests.services.dashboard.conftest import PASSWORD, add_staff, site_settings

OWN, OTHER, THIRD = "glostrup", "vallensbaek", "albertslund"


def test_access_per_site_is_the_row_else_the_role_and_an_admin_has_every_site() -> None:
    one_branch = Access(Role.OPERATOR)
    assert one_branch.at("any") is Role.OPERATOR  # no rows: as before, every site
    librarian = Access(Role.VIEWER, {OTHER: Role.OPERATOR, THIRD: Role.VIEWER})
    assert librarian.may(OTHER, Role.OPERATOR) and not librarian.may(THIRD, Role.OPERATOR)
    assert librarian.at(OWN) is None and not librarian.may(OWN, Role.VIEWER)
    assert librarian.visible([OWN, OTHER, THIRD]) == [OTHER, THIRD]
    assert librarian.operable([OWN, OTHER, THIRD]) == [OTHER]
    admin = Access(Role.ADMIN, {OTHER: Role.VIEWER})
    assert admin.may(OTHER, Role.OPERATOR) and admin.may(THIRD, Role.ADMIN)


def test_roles_per_site_are_stored_changed_and_taken_away_and_end_sessions(
    db: sessionmaker[Session],
) -> None:
    add_staff(db, "bo", Role.VIEWER)
    with db() as s, s.begin():
        user = find_user(s, "bo")
        assert user is not None
        s.add(
            StaffSession(
                token_hash="x" * 64,
                user_id=user.id,
                csrf="c",
                expires=datetime.now(UTC) + timedelta(hours=1),
            )
        )
        set_site_role(s, "bo", OTHER, Role.OPERATOR)
        set_site_role(s, "bo", THIRD, Role.VIEWER)
    with db() as s:
        user = find_user(s, "bo")
        assert user is not None
        assert access_of(s, user).sites == {OTHER: Role.OPERATOR, THIRD: Role.VIEWER}
        assert s.scalars(select(StaffSession)).all() == []  # logged out everywhere
    with db() as s, s.begin():
        set_site_role(s, "bo", THIRD, None)
        set_site_role(s, "bo", OTHER, Role.VIEWER)
        with pytest.raises(UserError):
            set_site_role(s, "bo", OTHER, Role.ADMIN)  # an admin is the municipality's
        with pytest.raises(UserError):
            set_site_role(s, "bo", "Not/A site", Role.VIEWER)
    with db() as s:
        assert list(site_roles(s).values()) == [{OTHER: "viewer"}]


def test_sites_are_known_from_the_stored_states_the_own_site_first(
    db: sessionmaker[Session],
) -> None:
    now = datetime.now(UTC)
    with db() as s, s.begin():
        put_state(s, OTHER, "occupancy", {"inside": 3}, now)
        put_state(s, "*", "retention", {}, now)  # the recorder's bookkeeping, no site
    with db() as s:
        found = known_sites(s, SiteInfo(OWN, "Glostrup Bibliotek"))
    assert found == [SiteInfo(OWN, "Glostrup Bibliotek"), SiteInfo(OTHER, OTHER)]


# --- over HTTP ----------------------------------------------------------------------------------


class _Branch:
    """The other branch's door on the broker: the commands it receives."""

    def __init__(self, settings: Settings, site: str) -> None:
        self.topics = Topics(settings.mqtt.prefix, site)
        self.bus = MqttBus(settings.mqtt, f"door-at-{site}", "door", self.topics)
        self.received: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self.bus.subscribe(self.topics.all_door_commands, lambda t, p: self.received.put((t, p)))
        self.bus.start()
        assert self.bus.wait_connected(5)


@pytest.fixture
def settings(tmp_path: Path, mqtt_broker: Broker) -> Settings:
    return site_settings(tmp_path, mqtt_broker)


@pytest.fixture
def sessions(sqlite_db: Engine) -> sessionmaker[Session]:
    return make_sessionmaker(sqlite_db)


@pytest.fixture
def municipality(
    settings: Settings, sqlite_db: Engine, sessions: sessionmaker[Session]
) -> Iterator[tuple[TestClient, _Branch, _Branch]]:
    now = datetime.now(UTC)
    with sessions() as s, s.begin():
        for site in (OTHER, THIRD):
            put_state(s, site, "door/front", {"lock": "locked", "contact": "closed"}, now)
            put_state(s, site, "opening", {"state": "self-service"}, now)
            put_state(s, site, "occupancy", {"inside": 4, "capacity": 40}, now)
        put_state(s, THIRD, "door/back", {"lock": "locked", "alarm": "forced_open"}, now)
        s.add(
            AlarmRecord(
                site=THIRD,
                kind="door_forced_open",
                source="back",
                severity="critical",
                raised_at=now,
                message="forced",
            )
        )
    add_staff(sessions, "ada", Role.ADMIN)
    add_staff(sessions, "otto", Role.OPERATOR)  # no rows: operator everywhere, as before
    add_staff(sessions, "lis", Role.VIEWER)
    with sessions() as s, s.begin():
        set_site_role(s, "lis", OTHER, Role.OPERATOR)  # Vallensbæk's librarian …
        set_site_role(s, "lis", THIRD, Role.VIEWER)  # … who watches Albertslund
    topics = Topics(settings.mqtt.prefix, settings.site.id)
    bus = MqttBus(settings.mqtt, "test-municipality", "dashboard-test", topics)
    other, third = _Branch(settings, OTHER), _Branch(settings, THIRD)
    ctx = build_dashboard(settings, sqlite_db, bus)
    bus.start()
    assert bus.wait_connected(5)
    with TestClient(asgi(ctx), base_url="https://testserver") as client:
        yield client, other, third
    for b in (bus, other.bus, third.bus):
        b.stop()


def _login(client: TestClient, user: str) -> None:
    page = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token is not None
    form = {"username": user, "password": PASSWORD, "csrf": token.group(1)}
    assert client.post("/login", data=form, follow_redirects=False).status_code == 303


def _csrf(client: TestClient) -> str:
    found = re.search(r'data-csrf="([^"]+)"', client.get("/").text)
    assert found is not None
    return found.group(1)


def _command(client: TestClient, site: str, door: str) -> int:
    form = {"action": "unlock", "seconds": "30", "reason": "delivery"}
    headers = {"accept": "application/json", "x-csrf-token": _csrf(client)}
    url = f"/site/{site}/doors/{door}/command"
    return client.post(url, data=form, headers=headers).status_code


def test_the_overview_shows_each_branch_the_user_may_see(
    municipality: tuple[TestClient, _Branch, _Branch],
) -> None:
    client, _other, _third = municipality
    _login(client, "ada")
    page = client.get("/").text
    assert all(f'data-site="{s}"' in page for s in (OWN, OTHER, THIRD))
    assert "Selvbetjening" in page and "4 af 40" in page
    assert "back: brudt op" in page and "1 kræver opmærksomhed (1 kritiske)" in page
    client.post("/logout", data={"csrf": _csrf(client)})
    _login(client, "lis")
    page = client.get("/").text
    assert f'data-site="{OWN}"' not in page
    assert f'data-site="{OTHER}"' in page and f'data-site="{THIRD}"' in page


def test_a_branch_operator_commands_her_branch_only_and_a_forged_command_is_refused(
    municipality: tuple[TestClient, _Branch, _Branch], sessions: sessionmaker[Session]
) -> None:
    client, other, third = municipality
    _login(client, "lis")
    assert _command(client, OTHER, "front") == 200
    topic, raw = other.received.get(timeout=5)
    assert topic == other.topics.door_command("front")
    assert json.loads(raw)["by"] == "staff:lis"
    # Watching Albertslund does not let her command it; her own server refuses the form she
    # built by hand, and nothing reaches that branch's door.
    assert _command(client, THIRD, "back") == 403
    assert _command(client, OWN, "main") == 404  # not hers to see at all
    assert client.get(f"/site/{OWN}/").status_code == 404
    other_page = client.get(f"/site/{OTHER}/", follow_redirects=True)
    assert other_page.status_code == 200 and 'id="door-front"' in other_page.text
    assert "plan-main" not in other_page.text  # the server's own floor plan stays its own
    with pytest.raises(queue.Empty):
        third.received.get(timeout=1)
    with sessions() as s:
        audited = [(r.site, r.door, r.username) for r in s.scalars(select(CommandAudit))]
    assert audited == [(OTHER, "front", "lis")]
    # Acknowledging another branch's alarm through her own branch's URL does nothing.
    with sessions() as s:
        alarm = s.scalars(select(AlarmRecord)).one()
    headers = {"accept": "application/json", "x-csrf-token": _csrf(client)}
    ack = client.post(
        f"/site/{OTHER}/alarms/{alarm.id}/ack", data={"comment": "x"}, headers=headers
    )
    assert ack.status_code == 404
    assert (
        client.post(
            f"/site/{THIRD}/alarms/{alarm.id}/ack", data={"comment": "x"}, headers=headers
        ).status_code
        == 403
    )


def test_an_operator_without_rows_and_the_admin_operate_every_branch(
    municipality: tuple[TestClient, _Branch, _Branch],
) -> None:
    client, _other, third = municipality
    _login(client, "otto")
    assert _command(client, THIRD, "back") == 200
    assert third.received.get(timeout=5)[0] == third.topics.door_command("back")
    assert _command(client, THIRD, "attic") == 400  # a door that branch does not have


def test_an_admin_gives_roles_per_branch_in_the_browser(
    municipality: tuple[TestClient, _Branch, _Branch], sessions: sessionmaker[Session]
) -> None:
    client, _other, _third = municipality
    _login(client, "ada")
    page = client.get("/users").text
    assert 'action="/users/lis/sites"' in page and f"{OTHER}: operatør" in page
    headers = {"x-csrf-token": _csrf(client)}
    done = client.post("/users/lis/sites", data={"site": THIRD, "role": "none"}, headers=headers)
    assert done.status_code == 200 and "Rollen i filialen er sat" in done.text
    with sessions() as s:
        assert site_roles(s) == {find_user(s, "lis").id: {OTHER: "operator"}}  # type: ignore[union-attr]
    bad = client.post("/users/lis/sites", data={"site": THIRD, "role": "admin"}, headers=headers)
    assert bad.status_code == 400


def test_statistics_per_branch_and_summed(
    municipality: tuple[TestClient, _Branch, _Branch], sessions: sessionmaker[Session]
) -> None:
    client, _other, _third = municipality
    now = datetime.now(UTC)
    with sessions() as s, s.begin():
        for site, n in ((OTHER, 3), (THIRD, 2), (OWN, 1)):
            events = [Event(EventType.OCCUPANCY_IN, "front", now, details={"inside": n})] * 1
            events += [
                Event(EventType.OCCUPANCY_IN, "front", now, details={"inside": i})
                for i in range(1, n)
            ]
            insert_events(s, [event_row(e, site, now) for e in events])
    _login(client, "lis")
    page = client.get("/municipality/stats").text
    rows = re.findall(r'<tr data-site="([^"]+)"[^>]*>(.*?)</tr>', page, re.S)
    counted = {site: re.findall(r'class="num">(\d+)<', cells)[0] for site, cells in rows}
    assert counted == {OTHER: "3", THIRD: "2", "*": "5"}  # not Glostrup: not hers to see
    csv = client.get("/municipality/stats?format=csv").text
    assert csv.splitlines()[0].lstrip("\ufeff").startswith("site,name,card_entries")
    year = client.get("/municipality/year").text
    assert "Hele kommunen" in year and f'data-site="{OWN}"' not in year


def test_the_tailgating_count_survives_a_restart(
    settings: Settings, sqlite_db: Engine, sessions: sessionmaker[Session]
) -> None:
    now = datetime.now(UTC)
    with sessions() as s, s.begin():
        tailgates = [Event(EventType.DOOR_TAILGATING, "main", now) for _ in range(3)]
        insert_events(s, [event_row(e, OWN, now) for e in tailgates])
    add_staff(sessions, "vera", Role.VIEWER)
    topics = Topics(settings.mqtt.prefix, settings.site.id)
    bus = MqttBus(settings.mqtt, "test-restart", "dashboard-test", topics)
    ctx = build_dashboard(settings, sqlite_db, bus)  # a server just started: nothing in memory
    with TestClient(asgi(ctx), base_url="https://testserver") as client:
        _login(client, "vera")
        snapshot = client.get(f"/site/{OWN}/live/snapshot", headers={"accept": "application/json"})
    assert snapshot.json()["tailgating"] == 3
