"""The access decision at a bookable room's door: the booker in the slot, their companions,
nobody else outside staffed hours, staff groups by their own rules. Exhaustive over the
opening states, the booking's place in time and state, the credential and the companions."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.core.access import AccessRules, Decision, DoorContext, Reason, decide
from services.core.bans import Ban
from services.core.groups import AccessGroup, Membership, parse_windows
from services.core.local_lists import LocalAnswer
from services.core.patrons import Authentication, Patron, PinCheck
from services.core.rooms import Booking, BookingState, Room, RoomRules, Slot
from services.core.schedule import OpeningState

CPH = ZoneInfo("Europe/Copenhagen")
START = datetime(2026, 12, 2, 19, 0, tzinfo=CPH)
SLOT = Slot(START, START + timedelta(hours=2))
STUDY = Room("study", frozenset({"basement"}), RoomRules(no_show_minutes=15))
ADULT = Patron("P1", "Karen Blixen", birth_date=date(1985, 4, 17))
OK = Authentication(ADULT, PinCheck.OK)
RULES = AccessRules(max_companions=1)
STAFF = AccessGroup("staff", parse_windows("mon-sun 06:00-23:00"))


def booking(state: BookingState = BookingState.BOOKED, **kw: object) -> Booking:
    return Booking(7, "study", SLOT, "h", companions=2, state=state, **kw)  # type: ignore[arg-type]


def at_room(*bookings: Booking, companions: int = 0, **kw: object) -> LocalAnswer:
    return LocalAnswer(
        door="basement",
        room=STUDY,
        bookings=bookings,
        companions=companions,
        **kw,  # type: ignore[arg-type]
    )


def ctx(state: OpeningState) -> DoorContext:
    return DoorContext(opening=state)


# When the entry comes, and whether a booking whose booker has not come yet still holds then.
MOMENTS = {
    "before": (START - timedelta(minutes=1), False),
    "start": (START, True),
    "late_but_in_time": (START + timedelta(minutes=14), True),
    "no_show": (START + timedelta(minutes=15), False),
    "last_minute": (SLOT.end - timedelta(minutes=1), False),  # a no-show by then
    "end": (SLOT.end, False),
}


@pytest.mark.parametrize(
    ("moment", "state", "entered", "companions"),
    list(itertools.product(MOMENTS, list(BookingState), (False, True), (0, 2, 3))),
)
def test_the_booker_in_self_service_every_case(
    moment: str, state: BookingState, entered: bool, companions: int
) -> None:
    now, in_time = MOMENTS[moment]
    came = START + timedelta(minutes=1) if entered else None
    in_slot = SLOT.start <= now < SLOT.end
    holding = in_slot and (
        state is BookingState.USED or (state is BookingState.BOOKED and (entered or in_time))
    )
    local = at_room(booking(state, entered=came), companions=companions)
    got = decide(now, OK, ctx(OpeningState.SELF_SERVICE), RULES, local)
    if not holding:
        assert got == Decision.denied(Reason.ROOM_NOT_BOOKED)
    elif companions > 2:
        assert got == Decision.denied(Reason.TOO_MANY_COMPANIONS)
    else:
        assert got == Decision.grant(Reason.BOOKING)


@pytest.mark.parametrize("moment", list(MOMENTS))
def test_staffed_hours_stand_the_room_open_for_everyone(moment: str) -> None:
    now, _ = MOMENTS[moment]
    nobody = Authentication(None, PinCheck.NOT_GIVEN)
    got = decide(now, nobody, ctx(OpeningState.STAFFED), RULES, at_room())
    assert got == Decision.grant(Reason.STAFFED)


def test_a_closed_building_stays_closed_for_a_booker() -> None:
    got = decide(START, OK, ctx(OpeningState.CLOSED), RULES, at_room(booking()))
    assert got == Decision.denied(Reason.CLOSED)


def test_another_patron_is_refused_outside_staffed_hours() -> None:
    # Their own bookings are of other slots (the lookup gives a credential its own only).
    other = Booking(8, "study", Slot(SLOT.end, SLOT.end + timedelta(hours=2)), "h2")
    for bookings in ((), (other,)):
        got = decide(START, OK, ctx(OpeningState.SELF_SERVICE), RULES, at_room(*bookings))
        assert got == Decision.denied(Reason.ROOM_NOT_BOOKED)


def test_a_booking_of_another_room_does_not_open_this_one() -> None:
    cellar = Booking(9, "cellar", SLOT, "h")
    got = decide(START, OK, ctx(OpeningState.SELF_SERVICE), RULES, at_room(cellar))
    assert got == Decision.denied(Reason.ROOM_NOT_BOOKED)


@pytest.mark.parametrize("pin", [PinCheck.OK, PinCheck.WRONG, PinCheck.NOT_GIVEN])
def test_staff_pass_by_their_group_rules_without_a_booking(pin: PinCheck) -> None:
    local = at_room(memberships=(Membership(STAFF),), member_pin=pin)
    nobody = Authentication(None, PinCheck.NOT_GIVEN)
    got = decide(START, nobody, ctx(OpeningState.SELF_SERVICE), RULES, local)
    expected = {
        PinCheck.OK: Decision.grant(Reason.MEMBER),
        PinCheck.WRONG: Decision.denied(Reason.WRONG_PIN),
        PinCheck.NOT_GIVEN: Decision.denied(Reason.PIN_REQUIRED),
    }[pin]
    assert got == expected


def test_a_group_for_other_doors_does_not_open_the_room() -> None:
    front = AccessGroup("front", parse_windows("mon-sun 06:00-23:00"), doors=frozenset({"main"}))
    local = at_room(memberships=(Membership(front),), member_pin=PinCheck.OK)
    got = decide(START, OK, ctx(OpeningState.SELF_SERVICE), RULES, local)
    assert got == Decision.denied(Reason.ROOM_NOT_BOOKED)


@pytest.mark.parametrize(
    ("auth", "reason"),
    [
        (Authentication(ADULT, PinCheck.WRONG), Reason.WRONG_PIN),
        (Authentication(ADULT, PinCheck.NOT_GIVEN), Reason.PIN_REQUIRED),
        (Authentication(None, PinCheck.NOT_GIVEN), Reason.UNKNOWN_CARD),
        (
            Authentication(None, PinCheck.NOT_GIVEN, reachable=False),
            Reason.LIBRARY_SYSTEM_UNREACHABLE,
        ),
    ],
)
def test_a_booker_is_still_held_to_the_card_and_pin(auth: Authentication, reason: Reason) -> None:
    got = decide(START, auth, ctx(OpeningState.SELF_SERVICE), RULES, at_room(booking()))
    assert got == Decision.denied(reason)


def test_a_ban_wins_over_a_booking() -> None:
    local = at_room(booking(), bans=(Ban("h", until=None),))
    got = decide(START, OK, ctx(OpeningState.SELF_SERVICE), RULES, local)
    assert got == Decision.denied(Reason.BANNED)


def test_a_full_building_does_not_keep_a_booker_out_of_the_room_inside_it() -> None:
    full = DoorContext(opening=OpeningState.SELF_SERVICE, occupancy=RULES.capacity)
    assert decide(START, OK, full, RULES, at_room(booking())) == Decision.grant(Reason.BOOKING)


def test_an_ordinary_door_keeps_the_sites_companion_rule() -> None:
    ordinary = LocalAnswer(door="main", companions=2)
    got = decide(START, OK, ctx(OpeningState.SELF_SERVICE), RULES, ordinary)
    assert got == Decision.denied(Reason.TOO_MANY_COMPANIONS)
    assert decide(START, OK, ctx(OpeningState.SELF_SERVICE), RULES, LocalAnswer(door="main")) == (
        Decision.grant()
    )
