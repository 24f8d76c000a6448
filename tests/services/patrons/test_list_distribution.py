"""The lists from the server to two door controllers over a real Mosquitto with the site's ACL.

One controller is offline while staff change the lists; it catches up from the retained
snapshot when it comes back, and both decide from their own SQLite copy, across restarts.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from services.bus.client import MqttBus
from services.bus.topics import Topics
from services.core.credentials import Credential, SiteKey
from services.core.groups import parse_windows
from services.patrons import access_lists as lists
from services.patrons.list_distribution import ListPublisher, ListReceiver
from services.patrons.local_lookup import LocalLists
from services.store.access_lists import ListAudit
from services.store.engine import make_engine, make_sessionmaker
from services.store.schema import create_schema
from tests.conftest import Broker
from tests.services.bus.test_acl import _mqtt, site  # noqa: F401  (the module's broker)

TOPICS = Topics("aabent", "glostrup")
KEY = SiteKey(b"k" * 32)
CARD = Credential.from_text("12345678")
Database = Callable[[str], sessionmaker[Session]]


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    engines = []

    def make(name: str) -> sessionmaker[Session]:
        engines.append(make_engine(f"sqlite:///{tmp_path / name}.sqlite"))
        create_schema(engines[-1])
        return make_sessionmaker(engines[-1])

    yield make
    for engine in engines:
        engine.dispose()


class Controller:
    """A door controller's list half: its bus login, its receiver, its own database."""

    def __init__(self, broker: tuple[Broker, Path], user: str, db: sessionmaker[Session]):
        self.lists = LocalLists(db, KEY)
        self.receiver = ListReceiver(db, self.lists)
        self.bus = MqttBus(_mqtt(broker, user), f"{user}-{uuid.uuid4().hex[:6]}", user, TOPICS)
        self.bus.subscribe(TOPICS.lists, self.receiver.on_message)
        self.bus.start()
        assert self.bus.wait_connected(10)

    def wait_version(self, version: int, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.receiver.version() == version:
                return True
            time.sleep(0.05)
        return False

    def settled_version(self, quiet: float = 0.5) -> int:
        """The version once nothing has changed for ``quiet`` seconds."""
        while True:
            seen = self.receiver.version()
            time.sleep(quiet)
            if self.receiver.version() == seen:
                return seen

    def stop(self) -> None:
        self.bus.stop()
        self.receiver.close()


def staff_edit(db: sessionmaker[Session], change: Callable[[Session], object]) -> None:
    with db.begin() as session:
        change(session)


def test_two_controllers_one_offline_during_the_change(
    site: tuple[Broker, Path],  # noqa: F811
    database: Database,
) -> None:
    server_db = database("server")
    server_bus = MqttBus(
        _mqtt(site, "server"), f"server-{uuid.uuid4().hex[:6]}", "recorder", TOPICS
    )
    server_bus.start()
    assert server_bus.wait_connected(10)
    publisher = ListPublisher(server_db, server_bus.publish_state, TOPICS.lists)
    entrance_db, cellar_db = database("entrance"), database("cellar")
    entrance = Controller(site, "door-entrance", entrance_db)
    try:
        staff_edit(server_db, lambda s: lists.ban(s, KEY, "anne", CARD, until=None, reason="x"))
        assert publisher.publish_if_changed() == 1
        assert publisher.publish_if_changed() is None  # nothing new: nothing sent
        assert entrance.wait_version(1)
        # The cellar's controller is offline while staff add a group and a member.
        spec = lists.GroupSpec("staff", parse_windows("mon-sun 06:00-23:00"))
        staff_edit(server_db, lambda s: lists.define_group(s, "anne", spec))
        staff_edit(
            server_db,
            lambda s: lists.add_member(s, KEY, "anne", "staff", CARD, name="Bo"),
        )
        assert publisher.publish_if_changed() == 3
        assert entrance.wait_version(3)
        cellar = Controller(site, "door-cellar", cellar_db)  # back: the retained snapshot
        try:
            assert cellar.wait_version(3)
            card_hash = KEY.credential_hash(CARD)
            for door in (entrance, cellar):
                answer = door.lists.answer(card_hash, None, "main")
                assert len(answer.bans) == 1 and answer.memberships[0].group.name == "staff"
        finally:
            cellar.stop()
    finally:
        entrance.stop()
        server_bus.stop()
    # A restart keeps the copy: a new controller process reads the same file.
    assert ListReceiver(cellar_db).version() == 3
    assert LocalLists(cellar_db, KEY).answer(KEY.credential_hash(CARD), None, "main").bans


def test_no_kiosk_or_door_can_write_the_lists(
    site: tuple[Broker, Path],  # noqa: F811
    database: Database,
) -> None:
    cellar = Controller(site, "door-cellar", database("cellar"))
    try:
        before = cellar.settled_version()  # whatever an earlier test left retained
        forged = b'{"version": 999999, "groups": [], "bans": [], "codes": [], "signups": []}'
        for user in ("kiosk", "door-entrance", "door-cellar", "sim", "homeassistant"):
            bus = MqttBus(_mqtt(site, user), f"{user}-{uuid.uuid4().hex[:6]}", user, TOPICS)
            bus.start()
            assert bus.wait_connected(10)
            # Mosquitto acknowledges a denied publish too (MQTT 3.1.1 cannot say no).
            assert bus.publish(TOPICS.lists, forged, retain=True).wait(10)
            bus.stop()
        assert not cellar.wait_version(999999, timeout=1.0)
        assert cellar.receiver.version() == before
    finally:
        cellar.stop()


def test_the_server_ends_bans_that_are_over_and_the_doors_drop_them(
    database: Database,
) -> None:
    """The publisher's loop ends expired bans on the server (audited per ban, by pseudonym),
    and the next snapshot no longer carries them, so no door's copy keeps them either."""
    server_db = database("server")
    now = [datetime.now(UTC)]
    sent: list[bytes] = []
    publisher = ListPublisher(
        server_db,
        lambda _topic, payload: sent.append(payload),
        TOPICS.lists,
        clock=lambda: now[0],
    )
    other = Credential.from_text("87654321")
    ends = now[0] + timedelta(hours=1)
    staff_edit(server_db, lambda s: lists.ban(s, KEY, "anne", CARD, until=ends, reason="fight"))
    staff_edit(server_db, lambda s: lists.ban(s, KEY, "anne", other, until=None, reason="x"))
    assert publisher.expire() == 0 and publisher.publish_if_changed() == 2
    door_db = database("door")
    door = LocalLists(door_db, KEY)
    receiver = ListReceiver(door_db, door)
    assert receiver.apply(sent[-1]) and door.answer(KEY.credential_hash(CARD), None, "").bans
    now[0] = ends + timedelta(seconds=1)
    assert publisher.expire() == 1
    assert publisher.expire() == 0  # not looked at again within the minute
    assert publisher.publish_if_changed() == 3
    assert receiver.apply(sent[-1])
    assert door.answer(KEY.credential_hash(CARD), None, "").bans == ()
    assert door.answer(KEY.credential_hash(other), None, "").bans  # a lasting ban stays
    with server_db() as s:
        assert lists.counts(s)["bans"] == 1
        audit = s.scalars(select(ListAudit).where(ListAudit.action == "ban.expire")).one()
    assert audit.subject == KEY.pseudonym(CARD) and "fight" in audit.detail
    receiver.close()
