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


EVENING = (
    EventType.CLOSING_ANNOUNCED,
    EventType.LIGHTS_CHANGED,
    EventType.EQUIPMENT_CHANGED,
    EventType.ADMISSION_STOPPED,
    EventType.ALARM_ARMED,
    EventType.ALARM_DISARMED,
    EventType.ALARM_ARM_REFUSED,
    EventType.ALARM_NO_FEEDBACK,
    EventType.ALARM_INTRUSION,
    EventType.ALARM_PANEL_FAULT,
    EventType.BUILDING_SWEPT,
    EventType.BUILDING_EXTENDED,
    EventType.BUILDING_STEP_SKIPPED,
    EventType.COMMAND_DONE,  # the controller's answer to a building command
)


@pytest.mark.parametrize("etype", EVENING, ids=str)
def test_the_site_topic_carries_the_building_s_evening(etype: EventType) -> None:
    """The evening's events (people still inside, an intrusion) are the building's: refusing
    them would keep the most important alarms of an unstaffed night from staff."""
    item = decode(TOPICS, TOPICS.site_event, event(etype, "site").to_json(), MAX)
    assert isinstance(item, EventItem)


def test_a_door_forced_while_armed_is_that_door_s_intrusion_but_never_its_sweep() -> None:
    intrusion = event(EventType.ALARM_INTRUSION, "main")
    assert isinstance(
        decode(TOPICS, TOPICS.door_event("main"), intrusion.to_json(), MAX), EventItem
    )
    for forged in (EventType.ALARM_ARMED, EventType.BUILDING_SWEPT, EventType.LIGHTS_CHANGED):
        assert _refusal(TOPICS.door_event("main"), event(forged, "main").to_json()) is (
            Refusal.FORBIDDEN
        )
