"""``aabent catalogue import``: progress on stderr, a summary and the skipped records on stdout."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from services.catalogue.cli import ProgressBar
from services.catalogue.importer import ImportProgress
from services.cli.main import main

DEMO = Path(__file__).resolve().parents[3] / "config" / "demo-catalogue.csv"


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "aabent.sqlite"
    monkeypatch.setenv("AABENT__STORE__URL", f'"sqlite:///{path}"')
    return path


def test_import_prints_progress_and_a_summary_and_search_finds_the_titles(
    database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["catalogue", "import", str(DEMO)]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("61 records: 61 added, 0 updated, 0 deleted")
    assert "100%" in err and "records" in err
    assert main(["catalogue", "search", "aalborg"]) == 0
    out, _ = capsys.readouterr()
    assert "Nordkraft" in out and "Ålborgs gamle huse" in out


def test_skipped_records_are_listed_with_their_line(
    database: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "c.csv"
    file.write_text("id,title,year\n1,Zappa,1977\n2,Ronja,nineteen\n", encoding="utf-8")
    assert main(["catalogue", "import", str(file)]) == 0
    out, _ = capsys.readouterr()
    assert "1 skipped" in out
    assert "  skipped: line 3: year 'nineteen' is not a year" in out


def test_a_failed_import_exits_1_and_says_nothing_was_imported(
    database: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "c.csv"
    file.write_text("id,title,farve\n1,Zappa,rød\n", encoding="utf-8")
    assert main(["catalogue", "import", str(file)]) == 1
    _, err = capsys.readouterr()
    assert "catalogue import failed, nothing imported" in err and "unknown column 'farve'" in err


def test_strict_import_of_a_file_with_a_corrupt_record_applies_nothing(
    database: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "c.csv"
    file.write_text("id,title\n1,Zappa\n2,\n", encoding="utf-8")
    assert main(["catalogue", "import", str(file), "--strict"]) == 1
    assert main(["catalogue", "show", "1"]) == 1
    _, err = capsys.readouterr()
    assert "no title with record id '1'" in err


def test_the_progress_bar_redraws_one_line_on_a_terminal() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    out, now = Terminal(), iter([0.0, 2.0, 4.0])
    bar = ProgressBar(out, clock=lambda: next(now))
    bar(ImportProgress(records=5000, skipped=1, fraction=0.5))
    bar(ImportProgress(records=10000, skipped=1, fraction=1.0))
    bar.close()
    assert out.getvalue() == (
        "\r[###############               ]  50%     5,000 records (2,500/s), 1 skipped"
        "\r[##############################] 100%    10,000 records (2,500/s), 1 skipped\n"
    )


def test_import_into_an_empty_database_migrates_it_first(
    database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["catalogue", "import", str(DEMO)]) == 0
    assert main(["catalogue", "search", "blixen"]) == 0
    assert "Blixen" in capsys.readouterr().out


def test_import_of_a_dbc_file_counts_its_warnings_and_encoding_can_be_chosen(
    database: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.services.catalogue.corpus import DBC_PADDING, iso2709, marc21_latin1_records

    file = tmp_path / "latin1.mrc"
    file.write_bytes(iso2709(marc21_latin1_records()) + DBC_PADDING)
    assert main(["catalogue", "import", "--strict", str(file)]) == 0
    out, _ = capsys.readouterr()
    assert out.startswith("1 records: 1 added") and "2 warnings" in out
    assert "read as ISO-8859-1" in out or "reads as ISO-8859-1" in out
    assert main(["catalogue", "import", "--encoding", "latin-1", str(file)]) == 0
    out, _ = capsys.readouterr()
    assert "1 updated" in out and "1 warnings" in out
    assert main(["catalogue", "search", "blåbærgrød"]) == 0
    assert "Blåbærgrød for øboere" in capsys.readouterr().out
