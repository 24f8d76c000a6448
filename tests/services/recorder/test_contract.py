"""Each event topic accepts only what its component may emit (services/recorder/contract.py)."""

from __future__ import annotations

import pytest

from services.core.events import EventType
from services.recorder.inbox import EventItem, Refusal, decode
from tests.services.recorder.conftest import event
from tests.services.recorder.test_inbox import MAX, TOPICS, _refusal


@pytest.mark.parametrize(
    "etype", [EventType.DOOR_FORCED_OPEN, EventType.OCCUPANCY_IN, EventType.FIRE_ALARM]
)
def test_a_kiosk_topic_refuses_door_and_building_events(etype: EventType) -> None:
    forged = event(etype, "foyer")
    assert _refusal(TOPICS.kiosk_event("foyer"), forged.to_json()) is Refusal.FORBIDDEN


def test_a_kiosk_emits_its_own_check_ins_and_pin_events_only() -> None:
    for etype in (EventType.ACTIVITY_CHECKIN, EventType.PIN_BLOCKED, EventType.READER_ATTACK):
        item = decode(TOPICS, TOPICS.kiosk_event("foyer"), event(etype, "foyer").to_json(), MAX)
        assert isinstance(item, EventItem)
    other = event(EventType.ACTIVITY_CHECKIN, "k2")  # in another kiosk's name
    assert _refusal(TOPICS.kiosk_event("foyer"), other.to_json()) is Refusal.FORBIDDEN


def test_a_door_topic_carries_that_door_s_events_only() -> None:
    assert isinstance(
        decode(TOPICS, TOPICS.door_event("main"), event(EventType.DOOR_OPENED).to_json(), MAX),
        EventItem,
    )
    for forged in (
        event(EventType.DOOR_OPENED, "back"),  # another door's name
        event(EventType.ACTIVITY_CHECKIN),  # a kiosk's event
        event(EventType.FIRE_ALARM),  # the building's
    ):
        assert _refusal(TOPICS.door_event("main"), forged.to_json()) is Refusal.FORBIDDEN


def test_the_site_topic_carries_building_events_from_the_site() -> None:
    for etype in (EventType.FIRE_ALARM, EventType.OPENING_CHANGED, EventType.OCCUPANCY_RESET):
        assert isinstance(
            decode(TOPICS, TOPICS.site_event, event(etype, "site").to_json(), MAX), EventItem
        )
    for forged in (event(EventType.DOOR_FORCED_OPEN, "site"), event(EventType.FIRE_ALARM)):
        assert _refusal(TOPICS.site_event, forged.to_json()) is Refusal.FORBIDDEN
