"""People counting with two beams, and occupancy against capacity."""

from __future__ import annotations

import pytest

from services.core.occupancy import Beam, BeamCounter, Direction, Occupancy

Change = tuple[Beam, bool, float]


def feed(counter: BeamCounter, changes: list[Change]) -> list[Direction]:
    """Feed beam changes in order; the passages counted."""
    counted = []
    for which, blocked, now in changes:
        result = counter.beam(which, blocked, now)
        if result is not None:
            counted.append(result)
    return counted


def walking_in(t: float) -> list[Change]:
    """A person crossing the outer beam, then the inner one, about 0.6 s in all."""
    return [("a", True, t), ("b", True, t + 0.2), ("a", False, t + 0.4), ("b", False, t + 0.6)]


def walking_out(t: float) -> list[Change]:
    """A person crossing the inner beam, then the outer one."""
    return [("b", True, t), ("a", True, t + 0.2), ("b", False, t + 0.4), ("a", False, t + 0.6)]


# --- BeamCounter --------------------------------------------------------------------------


def test_walking_in_counts_in_when_both_beams_clear() -> None:
    counter = BeamCounter()
    changes = walking_in(0.0)
    assert [counter.beam(*c) for c in changes] == [None, None, None, "in"]


def test_walking_out_counts_out_when_both_beams_clear() -> None:
    counter = BeamCounter()
    changes = walking_out(0.0)
    assert [counter.beam(*c) for c in changes] == [None, None, None, "out"]


def test_two_people_in_a_row_count_two() -> None:
    assert feed(BeamCounter(), walking_in(0.0) + walking_in(1.0)) == ["in", "in"]


def test_one_in_one_out_count_each() -> None:
    assert feed(BeamCounter(), walking_in(0.0) + walking_out(5.0)) == ["in", "out"]


def test_turning_back_halfway_in_counts_nothing() -> None:
    changes: list[Change] = [
        ("a", True, 0.0), ("b", True, 0.2), ("b", False, 0.5), ("a", False, 0.7),
    ]  # fmt: skip
    assert feed(BeamCounter(), changes) == []


def test_turning_back_halfway_out_counts_nothing() -> None:
    changes: list[Change] = [
        ("b", True, 0.0), ("a", True, 0.2), ("a", False, 0.5), ("b", False, 0.7),
    ]  # fmt: skip
    assert feed(BeamCounter(), changes) == []


def test_peeking_through_the_outer_beam_only_counts_nothing() -> None:
    assert feed(BeamCounter(), [("a", True, 0.0), ("a", False, 0.3)]) == []


def test_only_the_inner_beam_counts_nothing() -> None:
    assert feed(BeamCounter(), [("b", True, 0.0), ("b", False, 0.3)]) == []


def test_a_flickering_beam_inside_a_passage_still_counts_once() -> None:
    changes: list[Change] = [
        ("a", True, 0.0), ("a", False, 0.05), ("a", True, 0.1),  # a swinging bag
        ("b", True, 0.3), ("b", False, 0.35), ("b", True, 0.4),
        ("a", False, 0.6), ("b", False, 0.8),
    ]  # fmt: skip
    assert feed(BeamCounter(), changes) == ["in"]


def test_repeated_reports_are_not_changes() -> None:
    changes: list[Change] = [
        ("a", True, 0.0), ("a", True, 0.1), ("b", True, 0.2), ("b", True, 0.25),
        ("a", False, 0.4), ("a", False, 0.45), ("b", False, 0.6), ("b", False, 0.7),
    ]  # fmt: skip
    assert feed(BeamCounter(), changes) == ["in"]


def test_a_clear_report_on_clear_beams_counts_nothing() -> None:
    assert feed(BeamCounter(), [("a", False, 0.0), ("b", False, 0.1)]) == []


def test_going_in_then_backing_out_through_both_beams_counts_nothing() -> None:
    changes: list[Change] = [
        ("a", True, 0.0), ("b", True, 0.2), ("a", False, 0.4),  # almost in...
        ("a", True, 0.6), ("b", False, 0.8), ("a", False, 1.0),  # ...and back out
    ]  # fmt: skip
    assert feed(BeamCounter(), changes) == []


def test_a_stalled_sequence_times_out_and_counts_nothing() -> None:
    changes: list[Change] = [
        ("a", True, 0.0), ("b", True, 0.2), ("a", False, 3.0), ("b", False, 3.2),
    ]  # fmt: skip
    assert feed(BeamCounter(timeout_s=2.0), changes) == []


def test_a_gap_just_within_the_timeout_still_counts() -> None:
    changes: list[Change] = [
        ("a", True, 0.0), ("b", True, 2.0), ("a", False, 4.0), ("b", False, 6.0),
    ]  # fmt: skip
    assert feed(BeamCounter(timeout_s=2.0), changes) == ["in"]


def test_after_a_timeout_the_next_person_counts_again() -> None:
    stalled: list[Change] = [("a", True, 0.0), ("a", False, 10.0)]
    assert feed(BeamCounter(), stalled + walking_in(11.0)) == ["in"]


def test_a_long_pause_with_the_beams_clear_is_not_a_timeout() -> None:
    assert feed(BeamCounter(), walking_in(0.0) + walking_in(3600.0)) == ["in", "in"]


def test_two_people_close_together_in_count_two_when_beams_clear_between() -> None:
    changes = walking_in(0.0) + walking_in(0.65)
    assert feed(BeamCounter(), changes) == ["in", "in"]


def test_timeout_must_be_positive() -> None:
    with pytest.raises(ValueError, match="timeout"):
        BeamCounter(timeout_s=0)


# --- Occupancy ----------------------------------------------------------------------------


def test_starts_empty() -> None:
    occ = Occupancy(capacity=3)
    assert (occ.inside, occ.full) == (0, False)


def test_enter_and_leave_count() -> None:
    occ = Occupancy(capacity=10)
    occ.enter()
    occ.enter()
    occ.leave()
    assert occ.inside == 1


def test_leave_never_goes_negative() -> None:
    occ = Occupancy(capacity=10)
    occ.leave()
    occ.leave()
    assert occ.inside == 0
    occ.enter()
    assert occ.inside == 1


def test_enter_reports_full_once_when_capacity_is_reached() -> None:
    occ = Occupancy(capacity=2)
    assert occ.enter() is False
    assert occ.enter() is True
    assert occ.full is True
    assert occ.enter() is False  # over capacity (staffed hours, tailgating): not again
    assert occ.inside == 3


def test_full_again_after_dropping_below_capacity() -> None:
    occ = Occupancy(capacity=2)
    occ.enter()
    occ.enter()
    occ.leave()
    assert occ.full is False
    assert occ.enter() is True


def test_reset_empties_the_building() -> None:
    occ = Occupancy(capacity=2)
    occ.enter()
    occ.enter()
    occ.reset()
    assert (occ.inside, occ.full) == (0, False)
    assert occ.enter() is False


def test_can_resume_from_a_known_count() -> None:
    occ = Occupancy(capacity=5, inside=4)
    assert occ.enter() is True


@pytest.mark.parametrize(("capacity", "inside"), [(0, 0), (-1, 0), (5, -1)])
def test_rejects_impossible_numbers(capacity: int, inside: int) -> None:
    with pytest.raises(ValueError):
        Occupancy(capacity, inside)


def test_counter_feeds_occupancy() -> None:
    counter, occ = BeamCounter(), Occupancy(capacity=2)
    became_full = []
    for change in walking_in(0.0) + walking_in(2.0) + walking_out(4.0) + walking_in(6.0):
        match counter.beam(*change):
            case "in":
                became_full.append(occ.enter())
            case "out":
                occ.leave()
    assert occ.inside == 2
    assert became_full == [False, True, True]
