"""A door process hands the GIL over sooner than CPython's default.

The PIN's scrypt (about 2 ms) runs without the GIL, and must take it back to return. With the
default switch interval (5 ms) a Python thread that is busy meanwhile (the MQTT client, the
outbox) keeps it that long: measured here, a 2.2 ms scrypt beside one busy thread took 8.2 ms
(p50), and 3.6 ms with 0.5 ms. The door is bound by latency, not by throughput, so the shorter
interval is worth its few more switches.
"""

from __future__ import annotations

import sys

DOOR_SWITCH_INTERVAL_S = 0.0005


def favour_latency(interval_s: float = DOOR_SWITCH_INTERVAL_S) -> None:
    """Let a thread waiting for the GIL have it after ``interval_s`` (process-wide)."""
    sys.setswitchinterval(interval_s)
