"""`make demo` end to end: its broker, the demo patrons, a simulated door and the scenario."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[3]


def test_demo_plays_its_scenario_and_prints_the_decisions(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "AABENT__MQTT__PORT": str(free_port()),
        "AABENT__SITE__DATA_DIR": str(tmp_path / "demo"),
        "AABENT__SITE__KEY_FILE": str(tmp_path / "demo" / "site.key"),
        "AABENT__DASHBOARD__PORT": str(free_port()),
    }
    done = subprocess.run(
        [sys.executable, "-m", "services.cli.demo", "--seconds", "2", "--no-kiosk"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
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
