"""The holiday tables kept on disk: the second process does not need the holidays package."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

from services.core.holidays import YEARS_AT_ONCE, DanishHolidays
from services.runtime.holiday_file import FILE_NAME, HolidayFile, site_schedule
from services.runtime.holidays_dk import public_holidays
from services.settings import Settings

ROOT = Path(__file__).resolve().parents[3]


def test_a_year_is_computed_once_and_then_read_from_the_file(tmp_path: Path) -> None:
    file = HolidayFile(tmp_path / FILE_NAME)
    assert DanishHolidays(public_holidays, file).name(date(2026, 12, 25)) == "Juledag"
    kept = file.load(2026)
    assert kept is not None and kept[date(2026, 4, 5)] == "Påskedag"
    assert date(2026, 6, 5) not in kept  # Grundlovsdag is no helligdag


def test_a_missing_year_is_kept_with_the_years_after_it(tmp_path: Path) -> None:
    # a process that runs into the new year must find it kept, not import the package then
    file = HolidayFile(tmp_path / FILE_NAME)
    DanishHolidays(public_holidays, file).name(date(2026, 12, 31))
    kept = {year: file.load(year) for year in range(2025, 2026 + YEARS_AT_ONCE + 1)}
    assert [year for year, table in kept.items() if table is not None] == [
        2026 + n for n in range(YEARS_AT_ONCE)
    ]
    table_2027 = kept[2027]
    assert table_2027 is not None and table_2027[date(2027, 3, 28)] == "Påskedag"
    assert all(day.year == 2027 for day in table_2027)


def test_a_kept_year_is_answered_without_importing_the_holidays_package(tmp_path: Path) -> None:
    DanishHolidays(public_holidays, HolidayFile(tmp_path / FILE_NAME)).name(date(2026, 1, 1))
    probe = (
        "import sys; from datetime import date; from pathlib import Path; "
        "from services.runtime.holiday_file import HolidayFile; "
        "from services.runtime.holidays_dk import public_holidays; "
        "from services.core.holidays import YEARS_AT_ONCE, DanishHolidays; "
        f"h = DanishHolidays(public_holidays, HolidayFile(Path({str(tmp_path / FILE_NAME)!r}))); "
        "print(h.name(date(2026, 12, 26)), 'holidays' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["Anden", "juledag", "False"]


def test_a_broken_or_outdated_file_is_computed_again(tmp_path: Path) -> None:
    path = tmp_path / FILE_NAME
    path.write_text("{not json", encoding="utf-8")
    assert DanishHolidays(public_holidays, HolidayFile(path)).name(date(2026, 1, 1)) == "Nytårsdag"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["package"] = "holidays 0.1"
    data["years"]["2026"] = {"2026-03-03": "Made up"}
    path.write_text(json.dumps(data), encoding="utf-8")
    assert DanishHolidays(public_holidays, HolidayFile(path)).name(date(2026, 3, 3)) is None


def test_the_site_schedule_keeps_its_tables_in_the_data_folder(tmp_path: Path) -> None:
    settings = Settings.model_validate({"site": {"data_dir": str(tmp_path)}})
    schedule = site_schedule(settings)
    assert schedule.day(date(2026, 12, 25)).closed
    assert (tmp_path / FILE_NAME).exists()
