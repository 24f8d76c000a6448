"""``aabent sim …`` from the command line: a door that does not exist is refused, not "sent"."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.cli.main import main
from tests.conftest import Broker


def _config(tmp_path: Path, port: int) -> Path:
    cfg = tmp_path / "aabent.toml"
    cfg.write_text(
        f'[site]\ndata_dir = "{tmp_path}"\n[mqtt]\nport = {port}\n[doors.main]\nlock_pin = 17\n',
        encoding="utf-8",
    )
    return cfg


def test_sim_refuses_a_door_the_site_does_not_have(
    tmp_path: Path, mqtt_broker: Broker, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = _config(tmp_path, mqtt_broker.port)
    assert main(["-c", str(cfg), "sim", "--door", "mian", "exit"]) == 2
    out = capsys.readouterr()
    assert "sent" not in out.out
    assert out.err == "aabent sim: no door 'mian' on this site (doors: main)\n"


def test_sim_sends_to_a_door_that_exists(
    tmp_path: Path, mqtt_broker: Broker, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = _config(tmp_path, mqtt_broker.port)
    assert main(["-c", str(cfg), "sim", "--door", "main", "exit"]) == 0
    assert capsys.readouterr().out == "sent exit to main\n"
