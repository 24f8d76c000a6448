"""The privacy timeout: 60 s of quiet, a 10 s warning, then the reset."""

from __future__ import annotations

import pytest

from kiosk.privacy import IdleGuard, IdleState, Phase


def test_quiet_for_the_idle_time_warns_then_expires() -> None:
    guard = IdleGuard(60, 10, now=100.0)
    assert guard.phase(159.9) == IdleState(Phase.ACTIVE)
    assert guard.phase(160.0) == IdleState(Phase.WARNING, 10)
    assert guard.phase(165.5) == IdleState(Phase.WARNING, 5)
    assert guard.phase(169.99).seconds_left == 1
    assert guard.phase(170.0) == IdleState(Phase.EXPIRED)


def test_a_touch_starts_the_count_again() -> None:
    guard = IdleGuard(60, 10, now=0.0)
    guard.touch(65.0)
    assert guard.phase(100.0).phase is Phase.ACTIVE
    assert guard.phase(125.0).phase is Phase.WARNING


def test_times_must_be_positive() -> None:
    with pytest.raises(ValueError):
        IdleGuard(0, 10, now=0.0)
