"""One recorder for a municipality: every site's messages, each row keyed by its topic's site.

The contract holds per site (a kiosk of one branch cannot write a door event of another), the
sites announce themselves (retained ``site``) into the ``sites`` table, and alarms are raised and
cleared per site: a fire cleared at one branch does not clear the fire of another.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from services.bus.client import MqttBus
from services.bus.topics import Route, TopicKind, Topics, every_site, route_any
from services.core.events import EventType
from services.recorder.batch import BatchContext, Received, write_batch
from services.recorder.inbox import EventItem, Refusal, Refused, SiteItem, StateItem, decode_any
from services.recorder.recorder import Recorder
from services.store.recorder import AlarmRecord, ComponentState, EventRecord, SiteRecord
from tests.conftest import Broker
from tests.services.recorder.conftest import T0, event, make_settings, wait_until

MAX = 65536
A, B = Topics("aabent", "glostrup"), Topics("aabent", "albertslund")
ABOUT = {"name": "Albertslund Bibliotek", "doors": ["main", "side"], "capacity": 80}
CTX = BatchContext(
    site="central",
    site_name="Kommunen",
    retention_days=30,
    own_status="status/recorder",
    self_resolved=timedelta(minutes=5),
)


def test_a_topic_of_any_site_is_parsed_with_its_site() -> None:
    assert every_site("aabent") == "aabent/+/#"
    found = route_any("aabent", B.door_event("main"))
    assert found is not None and found == (B, Route(TopicKind.DOOR_EVENT, "main"))
    assert route_any("aabent", "aabent/glostrup/nonsense") is None
    assert route_any("aabent", "other/glostrup/event") is None
    assert route_any("aabent", "aabent//event") is None
    with pytest.raises(ValueError):
        every_site("aa/+")


def test_the_contract_holds_per_site() -> None:
    opened = event(EventType.DOOR_OPENED, "main")
    assert decode_any("aabent", B.door_event("main"), opened.to_json(), MAX) == (
        "albertslund",
        EventItem(opened),
    )
    forged = event(EventType.DOOR_FORCED_OPEN, "foyer")  # a kiosk's user, another branch's door
    with pytest.raises(Refused) as refused:
        decode_any("aabent", B.kiosk_event("foyer"), forged.to_json(), MAX)
    assert refused.value.reason is Refusal.FORBIDDEN
    fire_from_door = event(EventType.FIRE_ALARM, "main")
    with pytest.raises(Refused) as refused:
        decode_any("aabent", A.door_event("main"), fire_from_door.to_json(), MAX)
    assert refused.value.reason is Refusal.FORBIDDEN


def test_a_site_description_is_checked_field_by_field() -> None:
    payload = json.dumps(ABOUT | {"opening": {"state": "self-service", "until": None}}).encode()
    site, item = decode_any("aabent", B.site_description, payload, MAX) or ("", None)
    assert site == "albertslund" and isinstance(item, SiteItem)
    assert decode_any("aabent", B.site_description, b"", MAX) == ("albertslund", SiteItem(None))
    for bad in (
        {"doors": ["main"]},
        ABOUT | {"name": ""},
        ABOUT | {"doors": "main"},
        ABOUT | {"doors": [1]},
        ABOUT | {"capacity": -1},
        ABOUT | {"capacity": True},
        ABOUT | {"opening": "open"},
    ):
        with pytest.raises(Refused) as refused:
            decode_any("aabent", B.site_description, json.dumps(bad).encode(), MAX)
        assert refused.value.reason is Refusal.STATE, bad


def test_one_batch_of_two_sites_keeps_rows_states_and_alarms_apart(
    sessions: sessionmaker[Session],
) -> None:
    fire_a, fire_b = event(EventType.FIRE_ALARM, "site"), event(EventType.FIRE_ALARM, "site")
    cleared_a = event(EventType.FIRE_CLEARED, "site", T0 + timedelta(minutes=1))
    about = ABOUT | {"opening": {"state": "closed", "until": None}}
    batch = [
        Received(SiteItem(about), T0, "albertslund"),
        Received(EventItem(fire_a), T0, "glostrup"),
        Received(EventItem(fire_b), T0, "albertslund"),
        Received(StateItem("occupancy", {"inside": 3}), T0, "glostrup"),
        Received(StateItem("occupancy", {"inside": 9}), T0, "albertslund"),
        Received(EventItem(cleared_a), T0, "glostrup"),
    ]
    with sessions.begin() as session:
        outcome = write_batch(session, batch, CTX)
    assert outcome.stored == 3
    names = {n.site: n.site_name for n in outcome.raised}
    # the announced name where there is one, the site id where there is none
    assert names == {"glostrup": "glostrup", "albertslund": "Albertslund Bibliotek"}
    with sessions() as session:
        sites = {e.id: e.site for e in session.scalars(select(EventRecord))}
        states = {(s.site, s.key): s.payload for s in session.scalars(select(ComponentState))}
        alarms = {a.site: a.cleared_at for a in session.scalars(select(AlarmRecord))}
        [branch] = session.scalars(select(SiteRecord))
    assert sites == {fire_a.id: "glostrup", fire_b.id: "albertslund", cleared_a.id: "glostrup"}
    assert states == {
        ("glostrup", "occupancy"): {"inside": 3},
        ("albertslund", "occupancy"): {"inside": 9},
    }
    assert alarms["glostrup"] is not None and alarms["albertslund"] is None
    assert (branch.site, branch.name, branch.doors, branch.capacity, branch.opening) == (
        "albertslund",
        "Albertslund Bibliotek",
        ["main", "side"],
        80,
        "closed",
    )
    later = T0 + timedelta(hours=1)
    opened = ABOUT | {"name": "Albertslund", "opening": {"state": "staffed", "until": None}}
    with sessions.begin() as session:
        write_batch(session, [Received(SiteItem(opened), later, "albertslund")], CTX)
    with sessions() as session:
        [branch] = session.scalars(select(SiteRecord))
    assert (branch.name, branch.opening, branch.announced) == ("Albertslund", "staffed", later)
    with sessions.begin() as session:  # the branch's announcement cleared: it was taken away
        write_batch(session, [Received(SiteItem(None), later, "albertslund")], CTX)
    with sessions() as session:
        assert session.scalars(select(SiteRecord)).all() == []


def test_the_recorder_with_all_sites_records_every_branch_on_the_broker(
    own_broker: Broker,
    sessions: sessionmaker[Session],
    central_recorder: tuple[Recorder, MqttBus],
) -> None:
    recorder, _ = central_recorder
    door = MqttBus(make_settings("x", own_broker.port).mqtt, "door-both", "door-1", A)
    door.start()
    assert door.wait_connected(10)
    events = {A.door_event("main"): event(EventType.DOOR_OPENED, "main")}
    events[B.door_event("side")] = event(EventType.DOOR_OPENED, "side")
    events[B.kiosk_event("foyer")] = event(EventType.FIRE_ALARM, "foyer")  # refused
    for topic, e in events.items():
        assert door.publish(topic, e.to_json()).wait(10)
    assert door.publish_state(B.site_description, json.dumps(ABOUT).encode()).wait(10)
    assert wait_until(lambda: recorder.stored == 2 and recorder.rejected.get("forbidden") == 1)
    assert recorder.wait_idle(10)
    door.stop()
    with sessions() as session:
        rows = {(e.site, e.source) for e in session.scalars(select(EventRecord))}
        [branch] = session.scalars(select(SiteRecord))
    assert rows == {("glostrup", "main"), ("albertslund", "side")}
    assert branch.site == "albertslund" and branch.name == ABOUT["name"]


def test_a_municipality_server_publishes_the_lists_of_every_branch_it_knows(
    sessions: sessionmaker[Session],
) -> None:
    """Its own site, each that announced itself (the ``sites`` table) and each
    ``[branches.<site>]``; a branch's server publishes its own site's only."""
    from services.recorder.service import RecorderService

    with sessions() as s, s.begin():
        s.add(
            SiteRecord(
                site="albertslund",
                name="Albertslund Bibliotek",
                doors=["main"],
                description={},
                announced=T0,
            )
        )
    branches = {"vallensbaek": {"name": "Vallensbæk Bibliotek"}}
    central = make_settings("glostrup", recorder={"all_sites": True}, branches=branches)
    alone = make_settings("glostrup", branches=branches)
    with sessions() as s:
        assert RecorderService(central, sessions).lists.sites(s) == [
            "glostrup",
            "albertslund",
            "vallensbaek",
        ]
        assert RecorderService(alone, sessions).lists.sites(s) == ["glostrup"]
