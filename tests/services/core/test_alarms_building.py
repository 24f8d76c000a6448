"""The building's evening raises staff alarms: people inside, intrusion, a silent panel."""

from __future__ import annotations

from datetime import timedelta

from services.core.alarms import AlarmKind, Clear, Raise, Severity, from_event
from services.core.events import EventType
from tests.services.recorder.conftest import T0, event

NOW = T0 + timedelta(minutes=5)


def test_people_inside_refuse_the_arm_until_swept_or_armed() -> None:
    refused = event(EventType.ALARM_ARM_REFUSED, "site", reason="people_inside", inside=2)
    [raised] = from_event(refused, set())
    assert isinstance(raised, Raise) and raised.kind is AlarmKind.INSIDE_AFTER_CLOSING
    assert raised.severity is Severity.CRITICAL and raised.message.startswith("2 ")
    keys = {(AlarmKind.INSIDE_AFTER_CLOSING, "site")}
    assert from_event(refused, keys) == []  # a retry does not raise it again
    for ends in (EventType.BUILDING_SWEPT, EventType.ALARM_ARMED):
        assert from_event(event(ends, "site", NOW), keys) == [
            Clear(AlarmKind.INSIDE_AFTER_CLOSING, "site", NOW)
        ]


def test_an_intrusion_is_critical_and_names_the_door() -> None:
    [raised] = from_event(
        event(EventType.ALARM_INTRUSION, "main", reason="door_forced_open"), set()
    )
    assert isinstance(raised, Raise) and raised.kind is AlarmKind.INTRUSION
    assert raised.severity is Severity.CRITICAL and "main" in raised.message


def test_no_panel_feedback_is_critical_until_the_panel_confirms() -> None:
    [raised] = from_event(event(EventType.ALARM_NO_FEEDBACK, "site", reason="disarm"), set())
    assert isinstance(raised, Raise) and raised.kind is AlarmKind.PANEL
    assert "frakobling" in raised.message
    keys = {(AlarmKind.PANEL, "site")}
    assert from_event(event(EventType.ALARM_DISARMED, "site", NOW), keys) == [
        Clear(AlarmKind.PANEL, "site", NOW)
    ]
