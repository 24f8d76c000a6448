"""A group member at the door while the intruder alarm is armed: the group's rule, in the core.

A member of a DISARM group makes the building disarm the panel and the door opens only once the
panel's armed feedback has gone off (never while it still reports armed: the siren); a member of
a REFUSE group, a patron and a code are refused with their reason."""

from __future__ import annotations

from dataclasses import replace

from hardware.core import effects as fx
from hardware.core import inputs as ci
from hardware.signals import WAIT
from services.core.events import EventType
from services.core.groups import AccessGroup, Membership, WhenArmed, parse_windows
from services.core.local_lists import LocalAnswer
from services.core.patrons import PinCheck
from tests.hardware.core_rig import CoreRig, looked
from tests.hardware.evening_rig import at, build, building_settings, panel_orders

CLEANERS = AccessGroup(
    "cleaners", parse_windows("mon-sun 05:00-07:30"), when_armed=WhenArmed.DISARM
)
GUARDS = replace(CLEANERS, name="guards", when_armed=WhenArmed.REFUSE)


def armed_at_dawn() -> CoreRig:
    """05:30 the morning after EVENING: the building armed overnight, no disarm planned yet."""
    return build(start=at(build(), 5, 30, days=1), armed=True)


def member_swipes(rig: CoreRig, group: AccessGroup) -> list[fx.Effect]:
    rig.card()
    rig.pin()
    local = LocalAnswer(memberships=(Membership(group),), member_pin=PinCheck.OK)
    return rig.answer(replace(looked(PinCheck.NOT_GIVEN), local=local))


def test_a_member_who_may_disarm_waits_for_the_panel_then_the_door_opens() -> None:
    rig = armed_at_dawn()
    rig.clear()
    out = member_swipes(rig, CLEANERS)
    assert panel_orders(rig) == [False]
    assert rig.locked["main"]  # the panel still reports armed: the door stays locked
    assert fx.Signal("main", WAIT) in out
    assert not rig.events(EventType.ACCESS_GRANTED)
    rig.advance(1)
    assert rig.locked["main"]
    out = rig.feed(ci.PanelChanged("armed", False))
    assert isinstance(out[0], fx.SetRelay) and not out[0].locked  # opened now, relays first
    assert rig.last(EventType.ACCESS_GRANTED).reason == "member"
    disarmed = rig.last(EventType.ALARM_DISARMED)
    assert disarmed.reason == "member" and disarmed.details["door"] == "main"


def test_no_feedback_refuses_the_member_and_tells_staff() -> None:
    rig = armed_at_dawn()
    rig.clear()
    member_swipes(rig, CLEANERS)
    timeout = building_settings().building.feedback_timeout_s
    rig.advance(timeout + 1)
    assert rig.locked["main"]
    assert rig.last(EventType.ACCESS_DENIED).reason == "alarm_armed"
    assert rig.last(EventType.ALARM_NO_FEEDBACK).reason == "disarm"
    rig.feed(ci.PanelChanged("armed", False))  # late: nobody waits any more
    assert rig.locked["main"] and not rig.events(EventType.ACCESS_GRANTED)


def test_a_fire_while_the_member_waits_wins() -> None:
    rig = armed_at_dawn()
    member_swipes(rig, CLEANERS)
    rig.feed(ci.FireChanged(True))
    rig.clear()
    rig.feed(ci.PanelChanged("armed", False))
    assert rig.last(EventType.ACCESS_DENIED).reason == "fire_alarm"


def test_a_member_of_a_refuse_group_is_refused_and_nothing_is_disarmed() -> None:
    rig = armed_at_dawn()
    rig.clear()
    member_swipes(rig, GUARDS)
    assert rig.last(EventType.ACCESS_DENIED).reason == "may_not_disarm"
    assert panel_orders(rig) == [] and rig.locked["main"]


def test_a_patron_is_refused_while_armed_and_only_the_morning_plan_disarms() -> None:
    rig = build(start=at(build(), 7, 0, 30, days=1), armed=True)  # open, disarm not confirmed
    before = panel_orders(rig)
    rig.clear()
    rig.swipe()
    assert rig.last(EventType.ACCESS_DENIED).reason == "alarm_armed"
    assert rig.locked["main"] and panel_orders(rig) == [] and before == [False]
