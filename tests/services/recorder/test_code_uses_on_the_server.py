"""The server learns how often its one-time codes were used: the controllers' retained counts.

Each door controller publishes the uses made at its doors, retained, on
``<site>/code_uses/<controller>``; the recorder keeps each controller's last count and raises the
code's ``uses`` to their sum, so `aabent codes list` and the dashboard's codes page say "2/3".
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from services.bus.client import MqttBus
from services.bus.topics import Topics
from services.core.credentials import SiteKey
from services.patrons.access_lists import issue_code
from services.recorder.batch import BatchContext, Received, write_batch
from services.recorder.inbox import Refusal, Refused, StateItem, decode_any
from services.recorder.recorder import Recorder
from services.store.access_lists import PadCodeRecord
from services.store.base import Base
from services.store.engine import make_sessionmaker
from tests.conftest import Broker
from tests.services.recorder.conftest import T0, make_settings, wait_until

MAX = 65536
B = Topics("aabent", "albertslund")
KEY = SiteKey(b"c" * 32)
CTX = BatchContext(
    site="central",
    site_name="Kommunen",
    retention_days=30,
    own_status="status/recorder",
    self_resolved=timedelta(minutes=5),
)


def counts(code_hash: str, n: int) -> bytes:
    return json.dumps({"controller": "x", "uses": {code_hash: n}}).encode()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    """The server's whole schema: the recorder beside the access lists, as on a server."""
    Base.metadata.create_all(engine)
    return make_sessionmaker(engine)


@pytest.fixture
def code(sessions: sessionmaker[Session]) -> str:
    """A code of three uses at Albertslund; its keyed hash."""
    with sessions.begin() as session:
        issue_code(
            session,
            KEY,
            "staff",
            "Tømreren",
            site="albertslund",
            valid_from=T0 - timedelta(days=1),
            valid_until=T0 + timedelta(days=7),
            max_uses=3,
        )
    with sessions() as session:
        return session.scalars(select(PadCodeRecord.code_hash)).one()


def uses(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return session.scalars(select(PadCodeRecord.uses)).one()


def test_a_controller_s_counts_are_a_state_checked_on_the_way_in() -> None:
    topic = B.code_uses("door-front")
    assert decode_any("aabent", topic, counts("ab" * 32, 2), MAX) == (
        "albertslund",
        StateItem("code_uses/door-front", {"uses": {"ab" * 32: 2}}),
    )
    for bad in (b'{"uses": [1]}', b'{"uses": {"h": -1}}', b'{"uses": {"h": true}}', b"[]"):
        with pytest.raises(Refused) as refused:
            decode_any("aabent", topic, bad, MAX)
        assert refused.value.reason in (Refusal.STATE, Refusal.JSON)


def state(controller: str, code_hash: str, n: int) -> Received:
    payload = {"uses": {code_hash: n}}
    return Received(StateItem(f"code_uses/{controller}", payload), T0, "albertslund")


def test_the_uses_are_the_sum_over_the_controllers_and_never_go_down(
    sessions: sessionmaker[Session], code: str
) -> None:
    with sessions.begin() as session:
        write_batch(session, [state("door-front", code, 1), state("door-back", code, 1)], CTX)
    assert uses(sessions) == 2
    with sessions.begin() as session:
        write_batch(session, [state("door-front", code, 1)], CTX)  # heard again: no change
    assert uses(sessions) == 2
    with sessions.begin() as session:
        write_batch(session, [state("door-back", code, 0)], CTX)  # an older copy: no loss
    assert uses(sessions) == 2
    with sessions.begin() as session:
        write_batch(session, [state("door-front", code, 2), state("door-back", code, 1)], CTX)
    assert uses(sessions) == 3


def test_another_site_s_counts_do_not_touch_this_site_s_code(
    sessions: sessionmaker[Session], code: str
) -> None:
    elsewhere = Received(StateItem("code_uses/door-front", {"uses": {code: 3}}), T0, "glostrup")
    with sessions.begin() as session:
        write_batch(session, [elsewhere], CTX)
    assert uses(sessions) == 0


def test_the_recorder_takes_the_counts_from_the_broker(
    own_broker: Broker,
    sessions: sessionmaker[Session],
    code: str,
    central_recorder: tuple[Recorder, MqttBus],
) -> None:
    door = MqttBus(make_settings("x", own_broker.port).mqtt, "door-front", "door-front", B)
    door.start()
    assert door.wait_connected(10)
    try:
        assert door.publish_state(B.code_uses("door-front"), counts(code, 2)).wait(10)
        assert door.publish_state(B.code_uses("door-back"), counts(code, 1)).wait(10)
        assert wait_until(lambda: uses(sessions) == 3)
    finally:
        door.stop()
