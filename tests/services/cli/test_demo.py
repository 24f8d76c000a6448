"""`make demo` end to end: its broker, the demo patrons, a simulated door, the scenario and the
branch's closing (announcements from the recordings it ships, PCs off, a patron still inside,
the sweep alarm, "swept — arm now", armed)."""

from __future__ import annotations

import array
import os
import subprocess
import sys
import wave
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from services.cli.demo import CONFIG
from services.cli.demo_evening import CLOSING, clock_offset_min
from services.settings import load_settings
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[3]
TZ = ZoneInfo("Europe/Copenhagen")


def _loudest(path: Path) -> tuple[float, int]:
    """The recording's length in seconds and its loudest sample (16-bit PCM)."""
    with wave.open(str(path)) as w:
        assert w.getsampwidth() == 2
        frames = w.readframes(w.getnframes())
        seconds = w.getnframes() / w.getframerate()
    samples = array.array("h", frames)
    return seconds, max(abs(s) for s in samples)


def test_demo_plays_its_scenario_and_its_closing_and_prints_the_decisions(tmp_path: Path) -> None:
    speaker = tmp_path / "speaker.wav"
    env = {
        **os.environ,
        "AABENT__MQTT__PORT": str(free_port()),
        "AABENT__SITE__DATA_DIR": str(tmp_path / "demo"),
        "AABENT__SITE__KEY_FILE": str(tmp_path / "demo" / "site.key"),
        "AABENT__DASHBOARD__PORT": str(free_port()),
        "AABENT__BUILDING__AUDIO__DEVICE": f"file:{speaker}",
    }
    done = subprocess.run(
        [sys.executable, "-m", "services.cli.demo", "--seconds", "2", "--no-kiosk"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=400,
    )
    out = done.stdout
    assert done.returncode == 0, done.stderr[-2000:]
    assert "sim swipe 10000001 --pin 1234" in out
    assert "access.granted (granted)" in out
    assert "access.denied (under_age)" in out
    assert "access.denied (wrong_pin)" in out
    assert "access.denied (patron_blocked)" in out
    assert "door.tailgating" in out
    assert "fire.alarm" in out and "fire.cleared" in out
    assert "Staff dashboard: http://127.0.0.1:" in out
    events = out.split("Ctrl-C stops everything.")[-1]
    assert "10000001" not in events  # events carry pseudonyms only

    steps = [  # each caused by the one before it
        "closing.announced  [message=closing_soon]",  # two minutes before, from a recording
        "equipment.changed  [names=['public_pcs']]",  # the public PCs off
        "the closing begins",
        "closing.announced  [message=closed]",
        "alarm.arm_refused (people_inside)  [inside=2]",  # the scenario's two are inside
        "Karen and her friend are still inside (2 counted): the alarm is NOT armed",
        "'swept — arm now'",
        "building.swept",
        "lights.changed  [names=['hall']]",
        "alarm.armed",
        "armed: the branch is closed for the night",
    ]
    at = [events.find(step) for step in steps]
    assert -1 not in at, [s for s, i in zip(steps, at, strict=True) if i < 0]
    assert at == sorted(at), "the closing's steps came out of order"
    assert "command.done (checked on the cameras: the building is empty)  [action=swept]" in events
    # The last announcement went through the speaker's path: a real, non-silent recording.
    seconds, loudest = _loudest(speaker)
    assert seconds > 2.0 and loudest > 1000


@pytest.mark.parametrize(
    ("now", "reads"),
    [
        (datetime(2026, 12, 2, 1, 5, 17, tzinfo=TZ), datetime(2026, 12, 2, 21, 58, 17)),
        (datetime(2026, 12, 2, 21, 58, 3, tzinfo=TZ), datetime(2026, 12, 2, 21, 58, 3)),
        (datetime(2026, 12, 2, 23, 30, 0, tzinfo=TZ), datetime(2026, 12, 3, 21, 58, 0)),
        (datetime(2026, 3, 29, 1, 0, 0, tzinfo=TZ), datetime(2026, 3, 29, 21, 58, 0)),  # DST day
    ],
)
def test_the_controller_s_clock_reads_two_minutes_before_closing(
    now: datetime, reads: datetime
) -> None:
    offset = clock_offset_min(now)
    # The controller adds the offset to its wall clock (hardware/service.py).
    assert now.replace(tzinfo=None) + timedelta(minutes=offset) == reads


def test_the_demo_s_closing_is_where_its_schedule_closes() -> None:
    hours = load_settings(CONFIG).schedule.self_service
    days = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    ends = {getattr(hours, day).split("-")[-1] for day in days}
    assert ends == {CLOSING.strftime("%H:%M")}


def test_the_demo_s_announcements_are_recordings_it_ships() -> None:
    messages = load_settings(CONFIG).building.messages
    shipped = [
        path
        for name in ("closing_soon", "closed")
        for path in (messages[name].recording_da, messages[name].recording_en)
    ]
    for path in shipped:
        assert path is not None and path.is_relative_to(ROOT / "config" / "demo-audio")
        seconds = subprocess.run(
            ["sox", "--i", "-D", str(path)], capture_output=True, text=True, check=True
        ).stdout
        assert float(seconds) > 2.0, path
