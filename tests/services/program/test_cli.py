"""``aabent program import|list`` from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from services.cli.main import main

ROOT = Path(__file__).resolve().parents[3]


def test_the_demo_program_imports_and_lists_from_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AABENT__SITE__DATA_DIR", json.dumps(str(tmp_path)))
    monkeypatch.setenv("AABENT__SITE__KEY_FILE", json.dumps(str(tmp_path / "site.key")))
    demo = ROOT / "config" / "demo-program.ics"
    assert main(["program", "import", str(demo), "--weeks", "3"]) == 0
    out = capsys.readouterr().out
    assert "added, 0 updated, 0 skipped" in out
    assert main(["program", "import", str(demo), "--weeks", "3"]) == 0
    again = capsys.readouterr().out
    assert again.startswith("0 added, ") and " 0 updated" not in again  # same events, updated
    assert main(["program", "list", "--days", "14"]) == 0
    listing = capsys.readouterr().out
    assert "Strikkecafé" in listing and "Læs for en hund" in listing
    bad = tmp_path / "program.csv"
    bad.write_text("navn\nx\n", encoding="utf-8")
    assert main(["program", "import", str(bad)]) == 1
    assert "missing columns" in capsys.readouterr().err


def test_a_database_error_is_one_line_without_sql(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from sqlalchemy import text

    from services.settings import load_settings
    from services.store.schema import open_database

    monkeypatch.setenv("AABENT__SITE__DATA_DIR", json.dumps(str(tmp_path)))
    monkeypatch.setenv("AABENT__SITE__KEY_FILE", json.dumps(str(tmp_path / "site.key")))
    engine = open_database(load_settings().database_url)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE program_checkins"))
        connection.execute(text("DROP TABLE program_registrations"))
        connection.execute(text("DROP TABLE program_events"))
    engine.dispose()
    assert main(["program", "import", str(ROOT / "config" / "demo-program.ics")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("aabent: program import failed, nothing imported: ")
    assert "no such table" in err and "[SQL" not in err and len(err.splitlines()) == 1
