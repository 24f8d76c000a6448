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
from services.patrons import list_snapshot
from services.patrons.list_distribution import ListPublisher, ListReceiver
from services.patrons.local_lookup import LocalLists
from services.settings.mqtt import MqttSettings
from services.store.access_lists import ListAudit
from services.store.engine import make_engine, make_sessionmaker
from services.store.schema import create_schema
from tests.conftest import Broker
from tests.services.bus.test_acl import _mqtt, site  # noqa: F401  (the module's broker)

TOPICS = Topics("aabent", "glostrup")
SITE = "glostrup"
KEY = SiteKey(b"k" * 32)
CARD = Credential.from_text("12345678")
Database = Callable[[str], sessionmaker[Session]]


def lists_topic(where: str) -> str:
    return Topics("aabent", where).lists


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
    publisher = ListPublisher(server_db, server_bus.publish_state, lists_topic, SITE)
    entrance_db, cellar_db = database("entrance"), database("cellar")
    entrance = Controller(site, "door-entrance", entrance_db)
    try:
        staff_edit(
            server_db, lambda s: lists.ban(s, KEY, "anne", CARD, until=None, reason="x", site=SITE)
        )
        assert publisher.publish_if_changed() == {SITE: 1}
        assert publisher.publish_if_changed() == {}  # nothing new: nothing sent
        assert entrance.wait_version(1)
        # The cellar's controller is offline while staff add a group and a member.
        spec = lists.GroupSpec("staff", parse_windows("mon-sun 06:00-23:00"))
        staff_edit(server_db, lambda s: lists.define_group(s, "anne", spec, site=SITE))
        staff_edit(
            server_db,
            lambda s: lists.add_member(s, KEY, "anne", "staff", CARD, name="Bo", site=SITE),
        )
        assert publisher.publish_if_changed() == {SITE: 3}
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
        lists_topic,
        SITE,
        clock=lambda: now[0],
    )
    other = Credential.from_text("87654321")
    ends = now[0] + timedelta(hours=1)
    staff_edit(
        server_db, lambda s: lists.ban(s, KEY, "anne", CARD, until=ends, reason="fight", site=SITE)
    )
    staff_edit(
        server_db, lambda s: lists.ban(s, KEY, "anne", other, until=None, reason="x", site=SITE)
    )
    assert publisher.expire() == 0 and publisher.publish_if_changed() == {SITE: 2}
    door_db = database("door")
    door = LocalLists(door_db, KEY)
    receiver = ListReceiver(door_db, door)
    assert receiver.apply(sent[-1]) and door.answer(KEY.credential_hash(CARD), None, "").bans
    now[0] = ends + timedelta(seconds=1)
    assert publisher.expire() == 1
    assert publisher.expire() == 0  # not looked at again within the minute
    assert publisher.publish_if_changed() == {SITE: 3}
    assert receiver.apply(sent[-1])
    assert door.answer(KEY.credential_hash(CARD), None, "").bans == ()
    assert door.answer(KEY.credential_hash(other), None, "").bans  # a lasting ban stays
    with server_db() as s:
        assert lists.counts(s)["bans"] == 1
        audit = s.scalars(select(ListAudit).where(ListAudit.action == "ban.expire")).one()
    assert audit.subject == KEY.pseudonym(CARD) and "fight" in audit.detail
    receiver.close()


def test_a_municipality_server_gives_each_branch_its_own_lists_and_every_branch_its_bans(
    mqtt_broker: Broker,
    database: Database,
) -> None:
    """Two branches on one server: branch B's door controller gets B's group and the
    municipality's ban, never A's group; a change at B republishes B's snapshot only, and a
    municipality ban every branch's."""
    a, b = "glostrup", "vallensbaek"
    server_db = database("server")
    server_bus = MqttBus(
        MqttSettings(port=mqtt_broker.port), f"server-{uuid.uuid4().hex[:6]}", "recorder", TOPICS
    )
    server_bus.start()
    assert server_bus.wait_connected(10)
    sent: list[str] = []

    def publish(topic: str, payload: bytes) -> object:
        sent.append(topic)
        return server_bus.publish_state(topic, payload)

    prefix = f"muni{uuid.uuid4().hex[:6]}"  # retained snapshots of other tests stay out

    def topic_of(where: str) -> str:
        return Topics(prefix, where).lists

    publisher = ListPublisher(server_db, publish, topic_of, a, others=lambda _s: [b])
    doors = {where: database(f"door-{where}") for where in (a, b)}
    receivers = {where: ListReceiver(db, LocalLists(db, KEY)) for where, db in doors.items()}
    buses = []
    for where, receiver in receivers.items():
        bus = MqttBus(
            MqttSettings(port=mqtt_broker.port),
            f"door-{where}-{uuid.uuid4().hex[:6]}",
            "door-1",
            Topics(prefix, where),
        )
        bus.subscribe(topic_of(where), receiver.on_message)
        bus.start()
        assert bus.wait_connected(10)
        buses.append(bus)
    banned, cleaner = Credential.from_text("30000003"), Credential.from_text("40000004")
    spec = lists.GroupSpec("Rengøring", parse_windows("mon-sun 05:00-07:00"))
    try:
        for where in (a, b):
            name = f"{spec.name} {where}"
            staff_edit(
                server_db,
                lambda s, n=name, w=where: lists.define_group(
                    s, "anne", lists.GroupSpec(n, spec.windows), site=w
                ),
            )
        staff_edit(
            server_db,
            lambda s: lists.add_member(
                s, KEY, "anne", f"{spec.name} {b}", cleaner, name="Bo", site=b
            ),
        )
        staff_edit(
            server_db,
            lambda s: lists.ban(s, KEY, "anne", banned, until=None, reason="x", site=None),
        )
        versions = publisher.publish_if_changed()
        assert versions == {a: 2, b: 3}  # each branch's own edits plus the municipality's one
        assert sorted(sent) == [topic_of(a), topic_of(b)]
        assert _wait(lambda: receivers[b].version() == 3 and receivers[a].version() == 2)
        at_b = receivers[b].lists
        assert at_b is not None
        assert at_b.answer(KEY.credential_hash(banned), None, "main").bans  # municipality ban
        member = at_b.answer(KEY.credential_hash(cleaner), None, "main").memberships
        assert [m.group.name for m in member] == [f"{spec.name} {b}"]
        with doors[b]() as s:
            copy = list_snapshot.take(s)
        assert [g["name"] for g in copy["groups"]] == [f"{spec.name} {b}"]  # not A's group
        at_a = receivers[a].lists
        assert at_a is not None
        assert at_a.answer(KEY.credential_hash(banned), None, "main").bans
        assert not at_a.answer(KEY.credential_hash(cleaner), None, "main").memberships
        # A change at B: B's snapshot only.
        sent.clear()
        staff_edit(server_db, lambda s: lists.sign_up(s, KEY, "anne", cleaner, site=b, via="desk"))
        assert publisher.publish_if_changed() == {b: 4} and sent == [topic_of(b)]
        # A branch ban at A: A's only; lifting the municipality ban: every branch's.
        staff_edit(
            server_db,
            lambda s: lists.ban(s, KEY, "anne", cleaner, until=None, reason="y", site=a),
        )
        assert publisher.publish_if_changed() == {a: 3}
        staff_edit(server_db, lambda s: lists.lift_bans(s, KEY, "anne", banned, site=None))
        assert publisher.publish_if_changed() == {a: 4, b: 5}
        assert _wait(lambda: receivers[b].version() == 5 and receivers[a].version() == 4)
        assert not at_b.answer(KEY.credential_hash(banned), None, "").bans
        assert not at_b.answer(KEY.credential_hash(cleaner), None, "").bans  # A's ban, not B's
        assert at_a.answer(KEY.credential_hash(cleaner), None, "").bans
    finally:
        for bus in buses:
            bus.stop()
        for receiver in receivers.values():
            receiver.close()
        server_bus.stop()


def _wait(check: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False
