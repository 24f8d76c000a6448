"""Bookable rooms, pure: the slots of the horizon, the booking rules, the no-show release."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.core.holidays import DanishHolidays
from services.core.hours import OpeningHours, parse_intervals
from services.core.rooms import (
    Booking,
    BookingRefusal,
    BookingState,
    Room,
    RoomRules,
    Slot,
    admitting_booking,
    booking_refusal,
    day_slots,
    free_slots,
    holds,
    is_no_show,
    no_shows,
)
from services.core.schedule import DayHours, Schedule

CPH = ZoneInfo("Europe/Copenhagen")
# Wednesday 2 December 2026; self-service 07-22 every day, staffed 10-18 on weekdays.
NOW = datetime(2026, 12, 2, 8, 30, tzinfo=CPH)
WEEK = (parse_intervals("07:00-22:00"),) * 7
STAFFED = (parse_intervals("10:00-18:00"),) * 5 + ((), ())
SCHEDULE = Schedule(
    OpeningHours(WEEK, STAFFED), CPH, DanishHolidays(lambda years: {y: {} for y in years})
)
STUDY = Room("study", frozenset({"basement"}), RoomRules(slot_minutes=60))
ALICE, BOB = "hash-alice", "hash-bob"


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=CPH)


def slot(day: int, hour: int, minutes: int = 60) -> Slot:
    start = at(day, hour)
    return Slot(start, start + timedelta(minutes=minutes))


def days(n: int = 14) -> list[DayHours]:
    return [SCHEDULE.day(NOW.date() + timedelta(days=i)) for i in range(n)]


def booking(s: Slot, booker: str = ALICE, **kw: object) -> Booking:
    return Booking(1, "study", s, booker, **kw)  # type: ignore[arg-type]


def test_self_service_only_slots_leave_out_the_staffed_hours() -> None:
    starts = [s.start.time() for s in day_slots(SCHEDULE.day(NOW.date()), STUDY.rules, CPH)]
    assert starts == [time(h) for h in (7, 8, 9, 18, 19, 20, 21)]


def test_a_room_bookable_in_staffed_hours_too_has_the_whole_open_day() -> None:
    rules = RoomRules(slot_minutes=90, self_service_only=False)
    slots = list(day_slots(SCHEDULE.day(NOW.date()), rules, CPH))
    assert slots[0] == Slot(at(2, 7), at(2, 8, 30))
    assert slots[-1].end <= at(2, 22) and len(slots) == 10


def test_a_slot_that_does_not_fit_before_the_staff_come_is_not_offered() -> None:
    rules = RoomRules(slot_minutes=120)
    starts = [s.start.time() for s in day_slots(SCHEDULE.day(NOW.date()), rules, CPH)]
    assert starts == [time(7), time(18), time(20)]  # 09:00-11:00 would run into staffed hours


def test_free_slots_cover_today_and_thirteen_days_more_and_skip_what_is_over() -> None:
    free = free_slots(STUDY, days(20), [], NOW, CPH)
    assert free[0] == slot(2, 8)  # under way: bookable for the rest of it; 07:00 is over
    assert free[-1].start.date() == date(2026, 12, 15)
    assert {s.start.date() for s in free} == {NOW.date() + timedelta(days=i) for i in range(14)}


def test_weekend_slots_run_all_day_without_staff() -> None:
    saturday = [s for s in free_slots(STUDY, days(), [], NOW, CPH) if s.start.date().day == 5]
    assert len(saturday) == 15


def test_a_held_booking_takes_its_slot_and_a_cancelled_or_released_one_frees_it() -> None:
    evening = slot(2, 19)
    for state, taken in (
        (BookingState.BOOKED, True),
        (BookingState.USED, True),
        (BookingState.CANCELLED, False),
        (BookingState.RELEASED, False),
    ):
        free = free_slots(STUDY, days(), [booking(evening, state=state)], NOW, CPH)
        assert (evening not in free) is taken, state


def test_a_no_show_frees_the_rest_of_the_slot() -> None:
    b = booking(slot(2, 8))
    assert slot(2, 8) not in free_slots(STUDY, days(), [b], at(2, 8, 10), CPH)
    assert slot(2, 8) in free_slots(STUDY, days(), [b], at(2, 8, 15), CPH)


def test_another_rooms_bookings_take_nothing_here() -> None:
    other = Booking(1, "cellar", slot(2, 19), ALICE)
    assert slot(2, 19) in free_slots(STUDY, days(), [other], NOW, CPH)


OFFERED = [s for d in days() for s in day_slots(d, STUDY.rules, CPH)]


def refusal(s: Slot, who: str = ALICE, companions: int = 0, bookings: tuple[Booking, ...] = ()):  # type: ignore[no-untyped-def]
    return booking_refusal(STUDY, s, who, companions, bookings, OFFERED, NOW, CPH)


def test_a_free_slot_may_be_booked() -> None:
    assert refusal(slot(3, 19), companions=5) is None


@pytest.mark.parametrize(
    "s",
    [
        slot(2, 7),  # over
        slot(2, 12),  # staffed hours
        slot(2, 19, 90),  # not the room's length
        Slot(at(2, 19, 30), at(2, 20, 30)),  # not on the grid
        slot(16, 19),  # beyond 14 days
        slot(2, 23),  # closed
    ],
)
def test_what_is_not_one_of_the_rooms_slots_is_not_offered(s: Slot) -> None:
    assert refusal(s) is BookingRefusal.NOT_OFFERED


def test_a_slot_someone_holds_is_taken() -> None:
    assert refusal(slot(3, 19), BOB, bookings=(booking(slot(3, 19)),)) is BookingRefusal.TAKEN


def test_too_many_companions_are_refused() -> None:
    assert refusal(slot(3, 19), companions=6) is BookingRefusal.TOO_MANY_COMPANIONS
    assert refusal(slot(3, 19), companions=-1) is BookingRefusal.TOO_MANY_COMPANIONS


def test_the_week_allows_two_bookings_per_booker_and_cancelled_ones_do_not_count() -> None:
    wed_and_thu = (booking(slot(2, 19)), booking(slot(3, 19)))
    assert refusal(slot(4, 19), bookings=wed_and_thu) is BookingRefusal.WEEK_FULL
    assert refusal(slot(4, 19), BOB, bookings=wed_and_thu) is None
    assert refusal(slot(8, 19), bookings=wed_and_thu) is None  # next ISO week
    cancelled = (booking(slot(2, 19), state=BookingState.CANCELLED), booking(slot(3, 19)))
    assert refusal(slot(4, 19), bookings=cancelled) is None


def test_no_show_after_the_minutes_unless_the_booker_came() -> None:
    b = booking(slot(2, 19))
    assert not is_no_show(b, STUDY.rules, at(2, 19, 14))
    assert is_no_show(b, STUDY.rules, at(2, 19, 15))
    came = booking(slot(2, 19), entered=at(2, 19, 5))
    assert not is_no_show(came, STUDY.rules, at(2, 19, 30)) and holds(
        came, STUDY.rules, at(2, 19, 30)
    )
    assert no_shows(STUDY, [b, came], at(2, 19, 20)) == [b]


@pytest.mark.parametrize("state", list(BookingState))
def test_only_a_booked_booking_can_be_a_no_show(state: BookingState) -> None:
    b = booking(slot(2, 19), state=state)
    assert is_no_show(b, STUDY.rules, at(2, 19, 40)) is (state is BookingState.BOOKED)


def test_the_booking_that_opens_the_door_is_the_one_under_way() -> None:
    b = booking(slot(2, 19))
    assert admitting_booking(STUDY, [b], at(2, 19, 5)) == b
    assert admitting_booking(STUDY, [b], at(2, 18, 59)) is None
    assert admitting_booking(STUDY, [b], at(2, 20)) is None  # the end is exclusive
    assert admitting_booking(STUDY, [b], at(2, 19, 20)) is None  # released: no-show
    other_room = Room("cellar", frozenset({"cellar"}))
    assert admitting_booking(other_room, [b], at(2, 19, 5)) is None


def test_a_slot_booked_while_under_way_waits_for_its_booker_from_the_booking() -> None:
    late = booking(slot(2, 19), made=at(2, 19, 30))
    assert not is_no_show(late, STUDY.rules, at(2, 19, 40))
    assert is_no_show(late, STUDY.rules, at(2, 19, 45))
    early = booking(slot(2, 19), made=at(1, 12))
    assert is_no_show(early, STUDY.rules, at(2, 19, 15))


def test_a_booking_of_another_length_takes_every_slot_it_touches_and_no_more() -> None:
    # Bookings made before the room's slot length changed: one long, one short inside it.
    long = booking(Slot(at(2, 18, 30), at(2, 20, 30)))
    short = booking(Slot(at(2, 19, 0), at(2, 19, 30)))
    free = {s.start.hour for s in free_slots(STUDY, days(1), [long, short], NOW, CPH)}
    assert free == {8, 9, 21}  # 18, 19 and 20 are touched; 20:30 ends before 21:00
