"""``aabent kiosk``'s module: no Kivy for the other commands."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_commands_other_than_the_kiosk_never_load_kivy() -> None:
    probe = (
        "import sys; from services.cli.main import build_parser; build_parser(); "
        "import kiosk.cli, kiosk.wiring; print('kivy' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
