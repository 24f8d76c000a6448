"""Online/offline with hysteresis, and the monitor that asks 99 SC Status every few seconds."""

from __future__ import annotations

import time

import pytest

from services.sip2.health import Health, HealthMonitor
from tests.services.sip2.conftest import Acs, tcp_client
from tests.services.sip2.faults import SilentServer


def recorder() -> tuple[Health, list[tuple[bool, str]]]:
    """A Health with rise 3 and the list its flips are written to."""
    flips: list[tuple[bool, str]] = []
    return Health(rise=3, on_change=lambda online, why: flips.append((online, why))), flips


def test_the_first_failure_takes_it_offline_once() -> None:
    health, flips = recorder()
    assert health.online
    health.failure("no reply in 1.50 s")
    health.failure("no reply in 1.50 s")
    assert not health.online and flips == [(False, "no reply in 1.50 s")]


def test_it_is_online_again_only_after_three_good_answers_in_a_row() -> None:
    health, flips = recorder()
    health.failure("down")
    health.success()
    health.success()
    assert not health.online
    health.success()
    assert health.online and [online for online, _ in flips] == [False, True]


def test_a_flapping_system_does_not_flap_the_doors() -> None:
    health, flips = recorder()
    for outcome in "F SS F SS F S F SS".replace(" ", ""):
        health.success() if outcome == "S" else health.failure("flap")
    assert not health.online and len(flips) == 1


def test_rise_must_be_positive() -> None:
    with pytest.raises(ValueError):
        Health(rise=0)


def test_the_monitor_counts_a_silent_system_as_a_failure(silent: SilentServer) -> None:
    health, flips = recorder()
    monitor = HealthMonitor(tcp_client(silent.port), health, timeout_s=0.1)
    assert monitor.check_once() is False
    assert not health.online and "no reply" in flips[0][1]


def test_the_monitor_thread_brings_it_back_online_after_three_good_checks(acs: Acs) -> None:
    health, flips = recorder()
    health.failure("was down")
    monitor = HealthMonitor(tcp_client(acs.port), health, interval_s=0.02)
    monitor.start()
    try:
        deadline = time.monotonic() + 2
        while not health.online and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        monitor.stop()
    assert health.online and [online for online, _ in flips] == [False, True]
