"""The import contracts of pyproject.toml (``make lint`` runs them) hold, and do fail on a breach.

Each breach is written into a copy of the tree, and lint-imports runs on that copy in a process of
its own, so the test proves the contract catches the import, not just that today's code is clean.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_copy(tmp_path: Path, breach: tuple[str, str] | None) -> subprocess.CompletedProcess[str]:
    """Run lint-imports on a copy of the packages, with ``breach`` (file, import line) added."""
    for package in ("services", "hardware", "kiosk"):
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("*.pyc"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    if breach is not None:
        path, line = breach
        target = tmp_path / path
        target.write_text(target.read_text(encoding="utf-8") + f"\n{line}\n", encoding="utf-8")
    # The copy must be what is imported, not the installed checkout.
    env = os.environ | {"PYTHONPATH": str(tmp_path)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_tree_keeps_every_contract(tmp_path: Path) -> None:
    result = lint_copy(tmp_path, None)
    assert result.returncode == 0, result.stdout
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("path", "line", "contract"),
    [
        ("services/core/access.py", "import sqlalchemy", "services.core is pure"),
        ("services/core/schedule.py", "import pydantic", "services.core is pure"),
        ("services/core/events.py", "import services.store.engine", "services.core is pure"),
        ("services/core/cpr.py", "import services.settings", "services.core is pure"),
        ("kiosk/input.py", "import hardware.door", "do not import each other"),
        ("hardware/door.py", "import kiosk.privacy", "do not import each other"),
        ("services/dashboard/web.py", "import hardware.door", "import neither hardware"),
    ],
)
def test_a_breach_fails_the_lint_naming_its_contract(
    tmp_path: Path, path: str, line: str, contract: str
) -> None:
    result = lint_copy(tmp_path, (path, line))
    assert result.returncode != 0
    broken = result.stdout.split("Broken contracts", 1)[1]
    assert contract in broken
    assert path.removesuffix(".py").replace("/", ".") in broken
