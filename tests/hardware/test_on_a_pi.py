"""What a first install on a Raspberry Pi needs, tested as far as a machine without a Pi allows.

The GPIO backend comes with the ``door`` extra where PyPI has it; without GPIO, ``aabent door``
says so in one line; the systemd units pass ``systemd-analyze verify`` and let the controller
reach the Pi's devices; and the files the controller makes are readable by nobody else.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import shutil
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from tests.conftest import Broker

ROOT = Path(__file__).resolve().parents[2]
UNITS = sorted((ROOT / "systemd").glob("*.service"))


def test_the_door_extra_brings_lgpio_where_pypi_has_wheels() -> None:
    requirements = [Requirement(r) for r in importlib.metadata.requires("aabent") or []]
    [lgpio] = [r for r in requirements if r.name == "lgpio"]
    assert lgpio.marker is not None
    for machine, wanted in (("aarch64", True), ("x86_64", True), ("armv7l", False)):
        env = {"platform_system": "Linux", "platform_machine": machine, "extra": "door"}
        assert lgpio.marker.evaluate(env) is wanted, machine
    # This machine installed it with the door extra, and the venv can import it.
    assert importlib.util.find_spec("lgpio") is not None


@pytest.mark.skipif(
    any(Path("/dev").glob("gpiochip*")), reason="this machine has GPIO: the hint is not shown"
)
def test_without_gpio_aabent_door_says_so_in_one_line(tmp_path: Path) -> None:
    cfg = tmp_path / "aabent.toml"
    cfg.write_text(f'[site]\ndata_dir = "{tmp_path / "var"}"\n[doors.main]\nlock_pin = 17\n')
    env = {k: v for k, v in os.environ.items() if k != "GPIOZERO_PIN_FACTORY"}
    done = subprocess.run(
        [sys.executable, "-m", "services.cli.main", "-c", str(cfg), "door"],
        cwd=tmp_path,  # where lgpio makes its notification pipe
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 3
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("aabent door: no GPIO here (lgpio: ")
    assert "door extra" in lines[0] and "--simulate" in lines[0]


def _service_section(path: Path) -> dict[str, list[str]]:
    """The [Service] keys of a unit file; a repeated key (DeviceAllow=) keeps every value."""
    keys: dict[str, list[str]] = {}
    section = ""
    for line in path.read_text().splitlines():
        if line.startswith("["):
            section = line
        elif section == "[Service]" and "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            keys.setdefault(key, []).append(value)
    return keys


def test_the_door_unit_reaches_the_pis_devices_and_keeps_its_files() -> None:
    service = _service_section(ROOT / "systemd" / "aabent-door.service")
    allowed = {v.split()[0] for v in service["DeviceAllow"]}
    assert {
        "char-gpiochip",  # gpiochip0, and gpiochip4 on a Pi 5 with an older kernel
        "/dev/gpiomem",
        "/dev/gpiomem0",
        "char-ttyS",
        "char-ttyAMA",
        "char-ttyUSB",
        "char-ttyACM",
    } <= allowed
    assert service["UMask"] == ["0027"]
    assert service["Group"] == ["aabent"]  # reads its broker secret (0640, group aabent)
    assert set(service["SupplementaryGroups"][0].split()) == {"gpio", "dialout"}
    # lgpio's notification pipe is made in the working directory: it must be writable.
    assert service["WorkingDirectory"][0] in service["ReadWritePaths"][0].split()


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd is not installed")
def test_the_unit_files_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    venv_aabent = Path(sys.executable).parent / "aabent"
    assert venv_aabent.exists()
    for unit in UNITS:
        # The paths of an install on a Pi, here: the executable must exist for verify.
        text = unit.read_text().replace("/opt/aabent/.venv/bin/aabent", str(venv_aabent))
        (tmp_path / unit.name).write_text(text.replace("/opt/aabent", str(ROOT)))
    done = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *[str(tmp_path / u.name) for u in UNITS]],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0 and done.stderr == "" and done.stdout == "", done.stderr


def test_the_files_the_controller_creates_are_not_world_readable(
    tmp_path: Path, own_broker: Broker
) -> None:
    data = tmp_path / "var"
    cfg = tmp_path / "aabent.toml"
    cfg.write_text(
        f'[site]\ndata_dir = "{data}"\nkey_file = "{data / "site.key"}"\n'
        f"[mqtt]\nport = {own_broker.port}\n[doors.main]\nlock_pin = 17\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "services.cli.main", "-c", str(cfg), "door", "--simulate"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=lambda: os.umask(0o022),  # a shell's usual umask, not the unit's
    )
    output: list[str] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            output.append(line)
            if line.startswith("door controller ready"):
                break
        else:
            pytest.fail("".join(output))
        threading.Thread(target=proc.communicate, daemon=True).start()
        made = {p.name: stat.S_IMODE(p.stat().st_mode) for p in data.iterdir()}
    finally:
        proc.terminate()
        proc.wait(20)
    assert {"aabent.sqlite", "outbox.sqlite", "site.key", "door.lock"} <= set(made), made
    for name, mode in made.items():
        assert mode & 0o027 == 0, f"{name} is {mode:o}"
