"""The PIN lockout policy: card locks, card blocks, reader throttling and attack alarms."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.core.lockout import BLOCK_WINDOW, CardLock, LockoutPolicy, ReaderLock
from services.settings import AccessSettings

T0 = datetime(2024, 11, 4, 20, 0, tzinfo=ZoneInfo("Europe/Copenhagen"))
POLICY = LockoutPolicy()


def at(minutes: float) -> datetime:
    """T0 plus ``minutes``."""
    return T0 + timedelta(minutes=minutes)


def fails(*minutes: float) -> list[datetime]:
    """Failure times at these minutes after T0."""
    return [at(m) for m in minutes]


# --- settings -----------------------------------------------------------------------------


def test_defaults_match_the_default_settings() -> None:
    assert AccessSettings().lockout_policy() == LockoutPolicy()


def test_built_from_site_settings() -> None:
    settings = AccessSettings(
        pin_lockout_failures=3,
        pin_lockout_minutes=5,
        pin_block_failures_24h=6,
        reader_attack_cards=4,
        reader_attack_window_minutes=20,
        reader_throttle_seconds=60,
    )
    assert settings.lockout_policy() == LockoutPolicy(3, 5, 6, 4, 20, 60)


@pytest.mark.parametrize(
    "bad",
    [{"lock_after": 0}, {"lock_minutes": 0}, {"block_after_24h": 0},
     {"attack_cards": 1}, {"attack_window_minutes": 0}, {"throttle_seconds": -1}],
)  # fmt: skip
def test_rejects_impossible_thresholds(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=next(iter(bad))):
        LockoutPolicy(**bad)  # type: ignore[arg-type]


# --- card: lock after consecutive failures ------------------------------------------------


def test_no_failures_no_lock() -> None:
    assert POLICY.card_state([], None, T0) == CardLock(locked_until=None, blocked=False)


def test_four_failures_do_not_lock() -> None:
    assert POLICY.card_state(fails(0, 1, 2, 3), None, at(3)) == CardLock(None, False)


def test_five_consecutive_failures_lock_for_15_minutes() -> None:
    state = POLICY.card_state(fails(0, 1, 2, 3, 4), None, at(4))
    assert state == CardLock(locked_until=at(19), blocked=False)


def test_the_lock_holds_until_15_minutes_after_the_fifth_failure() -> None:
    history = fails(0, 1, 2, 3, 4)
    assert POLICY.card_state(history, None, at(18.99)).locked_until == at(19)
    assert POLICY.card_state(history, None, at(19)).locked_until is None


def test_a_failure_after_the_lock_locks_again_from_then() -> None:
    history = fails(0, 1, 2, 3, 4, 20)
    assert POLICY.card_state(history, None, at(20)).locked_until == at(35)


def test_a_correct_pin_ends_the_run() -> None:
    history = fails(0, 1, 2, 3, 5)
    assert POLICY.card_state(history, at(4), at(5)).locked_until is None


def test_five_in_a_row_after_a_correct_pin_lock() -> None:
    history = fails(0, 1, 2, 10, 11, 12, 13, 14)
    assert POLICY.card_state(history, at(5), at(14)).locked_until == at(29)


def test_a_failure_at_the_same_instant_as_the_success_is_not_after_it() -> None:
    history = fails(0, 1, 2, 3, 4)
    assert POLICY.card_state(history, at(4), at(4)).locked_until is None


def test_failures_older_than_24_hours_do_not_count_towards_the_run() -> None:
    history = [*fails(0, 1, 2, 3), at(24 * 60 + 30)]
    assert POLICY.card_state(history, None, at(24 * 60 + 30)).locked_until is None


def test_failures_after_now_are_ignored() -> None:
    assert POLICY.card_state(fails(0, 1, 2, 3, 4), None, at(3)).locked_until is None


def test_order_of_the_history_does_not_matter() -> None:
    assert POLICY.card_state(fails(4, 0, 3, 1, 2), None, at(4)).locked_until == at(19)


def test_the_times_are_compared_across_time_zones() -> None:
    history = [ts.astimezone(UTC) for ts in fails(0, 1, 2, 3, 4)]
    assert POLICY.card_state(history, None, at(10)).locked_until == at(19)


# --- card: block after many failures in 24 hours ------------------------------------------


def test_ten_failures_within_24_hours_block() -> None:
    history = fails(*(i * 60 for i in range(10)))  # one an hour: never five in a lock window
    assert POLICY.card_state(history, None, at(9 * 60)).blocked is True


def test_nine_failures_within_24_hours_do_not_block() -> None:
    history = fails(*(i * 60 for i in range(9)))
    assert POLICY.card_state(history, None, at(9 * 60)).blocked is False


def test_correct_pins_in_between_do_not_prevent_the_block() -> None:
    history = fails(0, 1, 2, 3, 5, 6, 7, 8, 10, 11)
    state = POLICY.card_state(history, at(9), at(11))
    assert state == CardLock(locked_until=None, blocked=True)


def test_failures_spread_over_more_than_24_hours_do_not_block() -> None:
    history = fails(*(i * 180 for i in range(10)))  # every three hours: 27 hours in all
    assert POLICY.card_state(history, None, at(9 * 180)).blocked is False


def test_the_block_window_is_24_hours() -> None:
    assert timedelta(hours=24) == BLOCK_WINDOW
    history = fails(*range(10))
    assert POLICY.card_state(history, None, at(24 * 60 - 0.01)).blocked is True
    assert POLICY.card_state(history, None, at(24 * 60)).blocked is False


def test_ten_quick_failures_both_lock_and_block() -> None:
    state = POLICY.card_state(fails(*range(10)), None, at(9))
    assert state == CardLock(locked_until=at(24), blocked=True)


# --- reader: attack across many cards -----------------------------------------------------


def test_no_failures_no_throttle() -> None:
    assert POLICY.reader_state([], T0) == ReaderLock(throttled_until=None, attack=False)


def test_failures_on_four_cards_are_not_an_attack() -> None:
    recent = [(at(i), f"card{i}") for i in range(4)]
    assert POLICY.reader_state(recent, at(4)) == ReaderLock(None, False)


def test_failures_on_five_cards_within_ten_minutes_are_an_attack() -> None:
    recent = [(at(i), f"card{i}") for i in range(5)]
    state = POLICY.reader_state(recent, at(4))
    assert state == ReaderLock(throttled_until=at(4) + timedelta(seconds=30), attack=True)


def test_one_card_failing_many_times_is_not_an_attack() -> None:
    recent = [(at(i / 10), "clumsy") for i in range(20)]
    assert POLICY.reader_state(recent, at(2)).attack is False


def test_five_cards_spread_over_more_than_the_window_are_not_an_attack() -> None:
    recent = [(at(i * 3), f"card{i}") for i in range(5)]  # 0..12 minutes
    assert POLICY.reader_state(recent, at(12)).attack is False


def test_the_throttle_ends_30_seconds_after_the_latest_failure() -> None:
    recent = [(at(i), f"card{i}") for i in range(5)]
    assert POLICY.reader_state(recent, at(4.49)).throttled_until is not None
    assert POLICY.reader_state(recent, at(4.5)) == ReaderLock(None, attack=True)


def test_the_alarm_stands_while_the_failures_are_in_the_window() -> None:
    recent = [(at(i), f"card{i}") for i in range(5)]
    assert POLICY.reader_state(recent, at(9.99)).attack is True
    assert POLICY.reader_state(recent, at(10)).attack is False


def test_each_failure_during_an_attack_throttles_again() -> None:
    recent = [(at(i), f"card{i}") for i in range(5)] + [(at(6), "card0")]
    assert POLICY.reader_state(recent, at(6)).throttled_until == at(6.5)


def test_no_throttle_when_throttle_seconds_is_zero() -> None:
    policy = LockoutPolicy(throttle_seconds=0)
    recent = [(at(i), f"card{i}") for i in range(5)]
    assert policy.reader_state(recent, at(4)) == ReaderLock(None, attack=True)


def test_reader_failures_after_now_are_ignored() -> None:
    recent = [(at(i), f"card{i}") for i in range(5)]
    assert POLICY.reader_state(recent, at(3)).attack is False


def test_attack_threshold_and_window_follow_the_policy() -> None:
    policy = LockoutPolicy(attack_cards=3, attack_window_minutes=1)
    recent = [(at(0), "a"), (at(0.5), "b"), (at(0.9), "c")]
    assert policy.reader_state(recent, at(0.9)).attack is True
    assert policy.reader_state(recent, at(1.0)).attack is False
    assert policy.attack_window == timedelta(minutes=1)
