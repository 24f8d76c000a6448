"""A subcommand whose package is not installed says which one and exits 3, without a traceback.

Each command runs in a process of its own where an import hook makes the package really absent:
importing it raises Python's own ModuleNotFoundError, as on a door Pi without the kiosk extra.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]

# Installed before aabent is imported: every import of a blocked package (or a submodule of it)
# fails exactly as it does where the package was never installed.
HOOK = """
import importlib.abc, sys
BLOCKED = set(sys.argv[1].split(","))
class Absent(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None
sys.meta_path.insert(0, Absent())
for loaded in [m for m in sys.modules if m.split(".")[0] in BLOCKED]:
    del sys.modules[loaded]
from services.cli.main import main
sys.exit(main(sys.argv[2:]))
"""


def run_without(packages: str, args: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env_dir = json.dumps(str(tmp_path))
    env = {
        "AABENT__SITE__DATA_DIR": env_dir,
        "AABENT__SITE__KEY_FILE": json.dumps(str(tmp_path / "site.key")),
        "PATH": "/usr/bin:/bin",
    }
    return subprocess.run(
        [sys.executable, "-c", HOOK, packages, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("blocked", "args", "package", "extra"),
    [
        ("kivy", ["kiosk"], "kivy", "kiosk"),
        ("gpiozero", ["door"], "gpiozero", "door"),
        ("pymarc", ["catalogue", "import", "config/demo-catalogue.mrc"], "pymarc", "server"),
        ("icalendar", ["program", "import", "config/demo-program.ics"], "icalendar", "server"),
    ],
)
def test_a_missing_package_is_named_with_exit_3(
    tmp_path: Path, blocked: str, args: list[str], package: str, extra: str
) -> None:
    done = run_without(blocked, args, tmp_path)
    assert done.returncode == 3, done.stderr
    assert "Traceback" not in done.stderr
    assert f"aabent {args[0]}: needs the Python package {package!r}" in done.stderr
    assert f"aabent[{extra}]" in done.stderr


def test_a_missing_module_of_our_own_is_a_bug_and_not_hidden(tmp_path: Path) -> None:
    done = run_without("services.no_such", ["check-config"], tmp_path)
    assert done.returncode == 0, done.stderr  # blocking what nobody imports changes nothing
    done = run_without("hardware", ["door"], tmp_path)
    assert done.returncode != 3
    assert "ModuleNotFoundError" in done.stderr
