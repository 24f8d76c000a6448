"""The `aabent` command: a job whose package is not installed says so; our own bugs surface."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import services.cli.main as cli


def write_job(tmp_path: Path, name: str, imports: str) -> None:
    (tmp_path / f"{name}.py").write_text(
        f"import {imports}\n\ndef add_commands(sub):\n    pass\n", encoding="utf-8"
    )


def test_a_job_needing_a_missing_package_names_it_and_exits_3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_job(tmp_path, "window_job", "no_such_toolkit_xyz")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(cli, "COMMAND_MODULES", ("services.cli.check_config", "window_job"))
    assert cli.main(["window_job", "--fullscreen"]) == 3
    assert "needs the Python package 'no_such_toolkit_xyz'" in capsys.readouterr().err
    assert cli.main(["check-config"]) == 0  # every other job still works


def test_a_missing_module_of_our_own_is_a_bug_and_not_hidden(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_job(tmp_path, "broken_job", "services.no_such_module")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(cli, "COMMAND_MODULES", ("broken_job",))
    with pytest.raises(ModuleNotFoundError, match=r"services\.no_such_module"):
        cli.build_parser()
    sys.modules.pop("broken_job", None)
