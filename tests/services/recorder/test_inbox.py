"""What a message is worth recording, and the reasons a message is refused (pure)."""

from __future__ import annotations

import json

import pytest

from services.bus.topics import Topics
from services.core.events import EventType
from services.recorder.inbox import EventItem, Refusal, Refused, StateItem, decode
from tests.services.recorder.conftest import event

TOPICS = Topics("aabent", "glo")
MAX = 65536


def _refusal(topic: str, payload: bytes) -> Refusal:
    with pytest.raises(Refused) as info:
        decode(TOPICS, topic, payload, MAX)
    return info.value.reason


def test_events_from_doors_the_site_and_kiosks_are_recorded() -> None:
    for topic, e in (
        (TOPICS.door_event("main"), event(EventType.DOOR_OPENED)),
        (TOPICS.site_event, event(EventType.FIRE_ALARM, "site")),
        (TOPICS.kiosk_event("k1"), event(EventType.ACTIVITY_CHECKIN, "k1")),
    ):
        item = decode(TOPICS, topic, e.to_json(), MAX)
        assert isinstance(item, EventItem) and item.event == e


def test_states_get_their_component_states_key() -> None:
    state = json.dumps({"lock": "locked"}).encode()
    assert decode(TOPICS, TOPICS.door_state("main"), state, MAX) == StateItem(
        "door/main", {"lock": "locked"}
    )
    assert decode(TOPICS, TOPICS.opening, b'{"state":"closed"}', MAX) == StateItem(
        "opening", {"state": "closed"}
    )
    assert decode(TOPICS, TOPICS.occupancy, b'{"inside":3}', MAX) == StateItem(
        "occupancy", {"inside": 3}
    )
    assert decode(TOPICS, TOPICS.status("door"), b"offline", MAX) == StateItem(
        "status/door", {"status": "offline"}
    )


def test_a_cleared_retained_state_forgets_it() -> None:
    assert decode(TOPICS, TOPICS.door_state("old"), b"", MAX) == StateItem("door/old", None)


def test_commands_and_simulated_inputs_are_not_recorded() -> None:
    assert decode(TOPICS, TOPICS.door_command("main"), b'{"id": 1}', MAX) is None
    assert decode(TOPICS, TOPICS.sim("main", "contact"), b"open", MAX) is None


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"{not json", Refusal.JSON),
        (b"\xff\xfe", Refusal.JSON),
        (b"[1, 2]", Refusal.EVENT),
        (b'{"id": "x"}', Refusal.EVENT),
        (b'{"details": {"x": NaN}}', Refusal.JSON),
        (b'{"details": {"x": 1e999}}', Refusal.JSON),
        (b'{"source": "main\\u0000"}', Refusal.EVENT),
        (b"[" * 30000 + b"]" * 30000, Refusal.JSON),  # too deep to parse
    ],
)
def test_malformed_events_are_refused_with_a_reason(payload: bytes, reason: Refusal) -> None:
    assert _refusal(TOPICS.door_event("main"), payload) is reason


def test_an_event_with_an_unknown_type_or_a_time_outside_utc_is_refused() -> None:
    data = event(EventType.DOOR_OPENED).to_payload()
    assert _refusal(TOPICS.door_event("main"), json.dumps(data | {"type": "x"}).encode()) is (
        Refusal.EVENT
    )
    early = data | {"ts": "0001-01-01T00:00:00+01:00"}
    assert _refusal(TOPICS.door_event("main"), json.dumps(early).encode()) is Refusal.EVENT


def test_oversized_messages_are_refused_before_parsing() -> None:
    payload = json.dumps({"details": {"x": "a" * MAX}}).encode()
    assert _refusal(TOPICS.door_event("main"), payload) is Refusal.OVERSIZED


def test_topics_outside_the_contract_and_bad_states_are_refused() -> None:
    assert _refusal("aabent/glo/door/main/other", b"{}") is Refusal.TOPIC
    assert _refusal(TOPICS.status("door"), b"maybe") is Refusal.STATUS
    assert _refusal(TOPICS.door_state("main"), b'"locked"') is Refusal.STATE
