"""The closing ``make demo`` plays: the branch's evening on the simulated door controller.

The controller's clock runs ahead (``aabent door --simulate --clock-offset``) so that it reads
two minutes before closing when the demo starts, whatever the hour. Then, as config/demo.toml
says: the closing announcement (a recording the demo ships) and the public PCs off; at closing
the sweep finds the patrons of the scenario still inside and refuses to arm; staff answer
"swept — arm now" (the same command as ``aabent building swept`` and the dashboard's Tonight
page); the simulated alarm panel reports armed. Each step is printed as it happens.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from typing import Any, Protocol

from services.bus.topics import Topics
from services.cli.building import command_body

# config/demo.toml's self-service hours end at 22:00 every day (tests/services/cli/test_demo.py
# holds the two together); the closing's first steps come two minutes before.
CLOSING = time(22, 0)
LEAD = timedelta(minutes=2)
NOON = time(12, 0)  # without the closing: a quiet day in the middle of the opening hours
CLOSING_TIMEOUT_S = 200.0  # up to two minutes to closing, and a busy machine


class Log(Protocol):
    """The demo's event log (services/cli/demo.py): marks, and waits for an event type."""

    def mark(self) -> int:
        """Where the log stands now."""

    def wait_for(self, prefix: str, since: int, timeout: float) -> bool:
        """True once an event whose type starts with ``prefix`` came after ``since``."""

    def details(self, prefix: str, since: int) -> dict[str, Any]:
        """The details of the first such event after ``since`` ({} if none)."""


class Publisher(Protocol):
    """The demo's bus, as far as the story needs it."""

    def publish(self, topic: str, payload: bytes) -> Any:
        """Send ``payload``; returns something with ``wait(timeout)``."""


def clock_offset_min(now: datetime, *, closing: bool = True) -> int:
    """Whole minutes to run the controller's clock ahead so that it reads two minutes before
    closing (``closing``) or noon, seconds as ``now``'s (local wall time)."""
    wall = now.replace(tzinfo=None)  # the controller adds the offset to its wall clock
    hm = (datetime.combine(now.date(), CLOSING) - LEAD).time() if closing else NOON
    target = wall.replace(hour=hm.hour, minute=hm.minute)
    if target < wall:
        target += timedelta(days=1)
    return round((target - wall).total_seconds() / 60)


def swept_command(now: datetime) -> bytes:
    """The JSON of "swept — arm now", as ``aabent building swept`` sends it."""
    args = argparse.Namespace(
        action="swept", by="staff:demo", reason="checked on the cameras: the building is empty"
    )
    return json.dumps(command_body(args, now)).encode()


def play_closing(
    bus: Publisher,
    topics: Topics,
    log: Log,
    say: Callable[[str], None],
    offset_min: int,
    start: int = 0,
) -> bool:
    """Tell the closing as it happens (events from ``start`` on); True if it ended armed.

    Staff's command carries the controller's time (``offset_min`` ahead), as the demo's
    dashboard, run with the same offset, would send it: a real-time one is refused as stale."""

    def wait(prefix: str, since: int, timeout: float = 20.0) -> bool:
        if log.wait_for(prefix, since, timeout):
            return True
        say(f"  (no {prefix} within {timeout:.0f} s)")
        return False

    say("> the branch's clock reads 21:58: the closing begins")
    if not (wait("closing.announced", start, CLOSING_TIMEOUT_S) and wait("equipment.", start)):
        return False
    say("  (the announcement is a recording in config/demo-audio; the public PCs are off)")
    say("> 22:00 — closed. The sweep counts who is still inside before the alarm is armed")
    if not wait("alarm.arm_refused", start, CLOSING_TIMEOUT_S):
        return False
    inside = log.details("alarm.arm_refused", start).get("inside")
    say(f"  Karen and her friend are still inside ({inside} counted): the alarm is NOT armed")
    say("> staff check the cameras and press 'swept — arm now'")
    since = log.mark()
    now = datetime.now(UTC) + timedelta(minutes=offset_min)
    bus.publish(topics.building_command, swept_command(now)).wait(5)
    if not wait("building.swept", since):
        return False
    say("> the alarm panel confirms")
    since = log.mark()
    bus.publish(topics.sim("site", "panel_armed"), b"on").wait(5)
    if not wait("alarm.armed", since):
        return False
    say("> armed: the branch is closed for the night (a card at the door now: alarm_armed)")
    return True
