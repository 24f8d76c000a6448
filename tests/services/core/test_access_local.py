"""The access decision with the door's own lists: groups, bans, sign-up, companions, codes."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.core.access import (
    AccessRules,
    Decision,
    DoorContext,
    DoorMode,
    Reason,
    decide,
)
from services.core.bans import Ban
from services.core.codes import PadCode
from services.core.groups import AccessGroup, Membership, WhenArmed, parse_windows
from services.core.local_lists import LocalAnswer
from services.core.patrons import Authentication, Patron, PatronStatus, PinCheck
from services.core.schedule import OpeningState

CPH = ZoneInfo("Europe/Copenhagen")
TUESDAY_2PM = datetime(2026, 12, 1, 14, 0, tzinfo=CPH)
DAWN = datetime(2026, 12, 1, 6, 0, tzinfo=CPH)
ADULT = Patron("P1", "Karen Blixen", birth_date=date(1985, 4, 17))
OK = Authentication(ADULT, PinCheck.OK)
NOBODY = Authentication(None, PinCheck.NOT_GIVEN)
AWAY = Authentication(None, PinCheck.NOT_GIVEN, reachable=False)
SELF = DoorContext(opening=OpeningState.SELF_SERVICE)
CLOSED = DoorContext(opening=OpeningState.CLOSED)
STAFFED = DoorContext(opening=OpeningState.STAFFED)
RULES = AccessRules()

CLEANERS = AccessGroup("cleaners", parse_windows("mon-fri 05:30-07:30"))
IT_CAFE = AccessGroup("IT-café", parse_windows("tue 13:00-16:00"), pin_required=False)
CELLAR = AccessGroup("study", parse_windows("tue 13:00-16:00"), doors=frozenset({"cellar"}))
BAN = Ban("h", until=None)


def member(group: AccessGroup, pin: PinCheck = PinCheck.OK, **kw: object) -> LocalAnswer:
    return LocalAnswer(door="main", memberships=(Membership(group),), member_pin=pin, **kw)  # type: ignore[arg-type]


# --- groups --------------------------------------------------------------------------------


def test_a_cleaner_enters_the_closed_building_inside_the_window() -> None:
    assert decide(DAWN, NOBODY, CLOSED, RULES, member(CLEANERS)) == Decision.grant(Reason.MEMBER)


def test_outside_the_window_the_closed_building_stays_closed_for_a_member() -> None:
    late = DAWN.replace(hour=8)
    assert decide(late, NOBODY, CLOSED, RULES, member(CLEANERS)).reason is Reason.CLOSED


def test_a_member_outside_the_window_is_decided_as_a_patron() -> None:
    late = TUESDAY_2PM.replace(hour=17)
    assert decide(late, OK, SELF, RULES, member(IT_CAFE)) == Decision.grant()
    assert decide(late, NOBODY, SELF, RULES, member(IT_CAFE)).reason is Reason.UNKNOWN_CARD


def test_a_member_passes_without_any_directory_answer() -> None:
    assert decide(DAWN, AWAY, CLOSED, RULES, member(CLEANERS)).reason is Reason.MEMBER


def test_the_group_pin_rule_asks_the_members_own_pin() -> None:
    assert decide(DAWN, NOBODY, CLOSED, RULES, member(CLEANERS, PinCheck.WRONG)).reason is (
        Reason.WRONG_PIN
    )
    assert decide(DAWN, NOBODY, CLOSED, RULES, member(CLEANERS, PinCheck.NOT_GIVEN)).reason is (
        Reason.PIN_REQUIRED
    )
    no_pin = member(IT_CAFE, PinCheck.NOT_GIVEN)
    assert decide(TUESDAY_2PM, NOBODY, SELF, RULES, no_pin).reason is Reason.MEMBER


@pytest.mark.parametrize(
    ("ctx", "reason"),
    [
        (replace(CLOSED, pin_locked_out=True), Reason.PIN_LOCKED_OUT),
        (replace(CLOSED, pin_blocked=True), Reason.PIN_BLOCKED),
        (replace(CLOSED, reader_throttled=True), Reason.READER_THROTTLED),
        (replace(CLOSED, fire_alarm=True), Reason.FIRE_ALARM),
        (replace(CLOSED, mode=DoorMode.LOCKDOWN), Reason.LOCKDOWN),
        (replace(CLOSED, mode=DoorMode.OUT_OF_SERVICE), Reason.OUT_OF_SERVICE),
    ],
)
def test_members_meet_the_same_lockouts_and_building_states(
    ctx: DoorContext, reason: Reason
) -> None:
    assert decide(DAWN, NOBODY, ctx, RULES, member(CLEANERS)).reason is reason


def test_members_pass_a_full_building() -> None:
    full = replace(SELF, occupancy=RULES.capacity)
    assert decide(TUESDAY_2PM, OK, full, RULES).reason is Reason.BUILDING_FULL
    assert decide(TUESDAY_2PM, OK, full, RULES, member(IT_CAFE)).reason is Reason.MEMBER


def test_a_group_of_other_doors_does_not_open_this_one() -> None:
    at_main = member(CELLAR)
    assert decide(TUESDAY_2PM, NOBODY, SELF, RULES, at_main).reason is Reason.UNKNOWN_CARD
    at_cellar = replace(at_main, door="cellar")
    assert decide(TUESDAY_2PM, NOBODY, SELF, RULES, at_cellar).reason is Reason.MEMBER


def test_staffed_hours_open_for_everyone_members_or_not() -> None:
    assert decide(TUESDAY_2PM, NOBODY, STAFFED, RULES, member(IT_CAFE)).reason is Reason.STAFFED


# --- bans ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "auth",
    [
        OK,  # the local registry or the library system said yes
        Authentication(ADULT, PinCheck.OK, reachable=False),  # the SIP2 offline cache said yes
        AWAY,
        NOBODY,
    ],
)
def test_a_ban_wins_over_every_directory_answer(auth: Authentication) -> None:
    banned = LocalAnswer(door="main", bans=(BAN,))
    assert decide(TUESDAY_2PM, auth, SELF, RULES, banned) == Decision.denied(Reason.BANNED)


def test_a_ban_wins_over_a_group_inside_its_window() -> None:
    banned = replace(member(CLEANERS), bans=(BAN,))
    assert decide(DAWN, NOBODY, CLOSED, RULES, banned).reason is Reason.BANNED


def test_a_ban_wins_over_a_wrong_pin_so_the_pin_is_not_learnt() -> None:
    banned = LocalAnswer(door="main", bans=(BAN,))
    wrong = Authentication(ADULT, PinCheck.WRONG)
    assert decide(TUESDAY_2PM, wrong, SELF, RULES, banned).reason is Reason.BANNED


def test_an_expired_ban_no_longer_counts() -> None:
    ended = LocalAnswer(door="main", bans=(Ban("h", until=TUESDAY_2PM - timedelta(minutes=1)),))
    assert decide(TUESDAY_2PM, OK, SELF, RULES, ended) == Decision.grant()


def test_a_ban_of_another_door_leaves_this_one_open() -> None:
    elsewhere = LocalAnswer(door="main", bans=(Ban("h", None, doors=frozenset({"cellar"})),))
    assert decide(TUESDAY_2PM, OK, SELF, RULES, elsewhere) == Decision.grant()


def test_a_ban_does_not_close_staffed_hours_or_beat_a_fire() -> None:
    banned = LocalAnswer(door="main", bans=(BAN,))
    assert decide(TUESDAY_2PM, OK, STAFFED, RULES, banned).reason is Reason.STAFFED
    fire = replace(SELF, fire_alarm=True)
    assert decide(TUESDAY_2PM, OK, fire, RULES, banned).reason is Reason.FIRE_ALARM


# --- sign-up -------------------------------------------------------------------------------

SIGNUP = replace(RULES, signup_required=True)


def test_without_signup_the_door_says_sign_up_at_the_kiosk() -> None:
    assert decide(TUESDAY_2PM, OK, SELF, SIGNUP).reason is Reason.SIGNUP_REQUIRED
    signed = LocalAnswer(door="main", signed_up=True)
    assert decide(TUESDAY_2PM, OK, SELF, SIGNUP, signed) == Decision.grant()


def test_signup_is_asked_only_of_a_patron_who_would_otherwise_enter() -> None:
    expired = Authentication(replace(ADULT, status=PatronStatus.EXPIRED), PinCheck.OK)
    assert decide(TUESDAY_2PM, expired, SELF, SIGNUP).reason is Reason.PATRON_EXPIRED
    wrong = Authentication(ADULT, PinCheck.WRONG)
    assert decide(TUESDAY_2PM, wrong, SELF, SIGNUP).reason is Reason.WRONG_PIN


def test_signup_is_not_asked_of_group_members() -> None:
    assert decide(TUESDAY_2PM, NOBODY, SELF, SIGNUP, member(IT_CAFE)).reason is Reason.MEMBER


# --- companions ----------------------------------------------------------------------------

TWO_ALLOWED = replace(RULES, max_companions=2)


def test_companions_up_to_the_sites_limit_come_in() -> None:
    two = LocalAnswer(door="main", companions=2)
    assert decide(TUESDAY_2PM, OK, SELF, TWO_ALLOWED, two) == Decision.grant()
    three = LocalAnswer(door="main", companions=3)
    assert decide(TUESDAY_2PM, OK, SELF, TWO_ALLOWED, three).reason is Reason.TOO_MANY_COMPANIONS


def test_no_companions_where_the_site_allows_none() -> None:
    one = LocalAnswer(door="main", companions=1)
    assert decide(TUESDAY_2PM, OK, SELF, RULES, one).reason is Reason.TOO_MANY_COMPANIONS


def test_companions_count_against_capacity() -> None:
    two = LocalAnswer(door="main", companions=2)
    nearly_full = replace(SELF, occupancy=RULES.capacity - 2)
    assert decide(TUESDAY_2PM, OK, nearly_full, TWO_ALLOWED, two).reason is Reason.BUILDING_FULL
    room = replace(SELF, occupancy=RULES.capacity - 3)
    assert decide(TUESDAY_2PM, OK, room, TWO_ALLOWED, two) == Decision.grant()


# --- codes ---------------------------------------------------------------------------------

CARPENTER = PadCode(
    "c", "carpenter", valid_from=DAWN, valid_until=DAWN + timedelta(hours=10), max_uses=2
)


def typed(code: PadCode | None, door: str = "main") -> LocalAnswer:
    return LocalAnswer(door=door, code_typed=True, code=code)


@pytest.mark.parametrize(
    ("answer", "ctx", "reason"),
    [
        (typed(CARPENTER), SELF, Reason.CODE),
        (typed(CARPENTER), CLOSED, Reason.CODE),  # its window is its own
        (typed(None), SELF, Reason.UNKNOWN_CODE),
        (typed(replace(CARPENTER, uses=2)), SELF, Reason.CODE_USED_UP),
        (
            typed(replace(CARPENTER, valid_from=TUESDAY_2PM + timedelta(hours=1))),
            SELF,
            Reason.CODE_NOT_VALID_NOW,
        ),
        (typed(replace(CARPENTER, valid_until=TUESDAY_2PM)), SELF, Reason.CODE_NOT_VALID_NOW),
        (typed(replace(CARPENTER, doors=frozenset({"cellar"}))), SELF, Reason.NOT_THIS_DOOR),
        (typed(CARPENTER), replace(SELF, reader_throttled=True), Reason.READER_THROTTLED),
        (typed(CARPENTER), replace(SELF, fire_alarm=True), Reason.FIRE_ALARM),
        (typed(CARPENTER), replace(SELF, mode=DoorMode.LOCKDOWN), Reason.LOCKDOWN),
        (typed(CARPENTER), STAFFED, Reason.STAFFED),
    ],
)
def test_a_code_at_the_pad(answer: LocalAnswer, ctx: DoorContext, reason: Reason) -> None:
    assert decide(TUESDAY_2PM, NOBODY, ctx, RULES, answer).reason is reason


def test_no_local_answer_is_the_old_decision() -> None:
    assert decide(TUESDAY_2PM, OK, SELF, RULES) == decide(
        TUESDAY_2PM, OK, SELF, RULES, LocalAnswer()
    )


# --- the intruder alarm armed (the group's WhenArmed rule) ---------------------------------

ARMED = DoorContext(opening=OpeningState.CLOSED, building_hold=Reason.ALARM_ARMED)
MAY_DISARM = replace(CLEANERS, when_armed=WhenArmed.DISARM)


def test_while_armed_a_member_who_may_disarm_is_not_yet_granted_but_disarms_first() -> None:
    decision = decide(DAWN, NOBODY, ARMED, RULES, member(MAY_DISARM))
    assert decision == Decision.denied(Reason.DISARM_FIRST) and not decision.granted


def test_while_armed_a_member_of_a_refuse_group_is_refused_with_its_own_reason() -> None:
    assert decide(DAWN, NOBODY, ARMED, RULES, member(CLEANERS)).reason is Reason.MAY_NOT_DISARM


def test_while_armed_every_patron_and_every_code_is_refused() -> None:
    open_armed = replace(ARMED, opening=OpeningState.SELF_SERVICE)
    assert decide(TUESDAY_2PM, OK, open_armed, RULES).reason is Reason.ALARM_ARMED
    code = PadCode("c", "carpenter", DAWN, DAWN + timedelta(hours=3))
    typed = LocalAnswer(door="main", code_typed=True, code=code)
    assert decide(DAWN, NOBODY, ARMED, RULES, typed).reason is Reason.ALARM_ARMED
    # A member outside their window is a patron here: refused like one.
    late = replace(open_armed, opening=OpeningState.SELF_SERVICE)
    assert decide(TUESDAY_2PM, OK, late, RULES, member(MAY_DISARM)).reason is Reason.ALARM_ARMED


def test_while_armed_a_disarming_member_still_needs_the_pin_and_no_ban() -> None:
    assert decide(DAWN, NOBODY, ARMED, RULES, member(MAY_DISARM, PinCheck.WRONG)).reason is (
        Reason.WRONG_PIN
    )
    banned = member(MAY_DISARM, bans=(BAN,))
    assert decide(DAWN, NOBODY, ARMED, RULES, banned).reason is Reason.BANNED
    locked = replace(ARMED, pin_locked_out=True)
    assert decide(DAWN, NOBODY, locked, RULES, member(MAY_DISARM)).reason is Reason.PIN_LOCKED_OUT


def test_a_fire_or_a_lockdown_wins_over_the_disarm_rule() -> None:
    fire = replace(ARMED, fire_alarm=True)
    lockdown = replace(ARMED, mode=DoorMode.LOCKDOWN)
    assert decide(DAWN, NOBODY, fire, RULES, member(MAY_DISARM)).reason is Reason.FIRE_ALARM
    assert decide(DAWN, NOBODY, lockdown, RULES, member(MAY_DISARM)).reason is Reason.LOCKDOWN


def test_members_on_their_own_hours_pass_the_last_entry_hold_and_patrons_do_not() -> None:
    last = DoorContext(opening=OpeningState.SELF_SERVICE, building_hold=Reason.LAST_ENTRY)
    at_tuesday = member(replace(IT_CAFE, when_armed=WhenArmed.DISARM))
    assert decide(TUESDAY_2PM, NOBODY, last, RULES, at_tuesday).reason is Reason.MEMBER
    assert decide(TUESDAY_2PM, OK, last, RULES).reason is Reason.LAST_ENTRY
    outside_hours = member(replace(IT_CAFE, windows=parse_windows("mon 08:00-09:00")))
    assert decide(TUESDAY_2PM, NOBODY, last, RULES, outside_hours).reason is Reason.LAST_ENTRY
