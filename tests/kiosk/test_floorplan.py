"""The floor plan: which room and shelf a copy stands on, from department and shelf mark."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.floorplan import dk5_number, first_letter, load_floorplan
from services.settings import ConfigError

ROOT = Path(__file__).resolve().parents[2]
PLAN = load_floorplan(ROOT / "config" / "floorplan.toml")


def shelf(department: str, mark: str) -> str | None:
    found = PLAN.locate(department, mark).shelf
    return found.label if found else None


def test_fiction_stands_by_the_authors_first_letter_in_danish_order() -> None:
    assert shelf("Voksen", "Adler-Olsen, Jussi") == "Romaner A–F"
    assert shelf("Voksen", "Høeg, Peter") == "Romaner G–L"
    assert shelf("Voksen", "Ørum, Jesper") == "Romaner S–Å"
    assert shelf("Voksen", "Aakjær, Jeppe") == "Romaner S–Å"  # Aa files as Å
    assert shelf("Børn", "Lindgren, Astrid") == "Børneromaner L–Å"


def test_non_fiction_stands_by_dk5_number() -> None:
    assert shelf("Voksen", "99.4 Blixen") == "90–99 Historie, biografier"
    assert shelf("Voksen", "61.3 Hansen") == "40–69"
    assert shelf("voksen", "00.1 Data") == "00–39 Fag"  # departments match without case


def test_a_department_not_on_the_plan_is_not_found() -> None:
    location = PLAN.locate("Magasin", "Adler-Olsen, Jussi")
    assert not location.found and location.shelf is None
    assert PLAN.locate("Voksen", "").room is not None  # the room, even without a shelf


def test_shelf_mark_parts() -> None:
    assert dk5_number("99.4 Andersen") == 99.4
    assert dk5_number("Andersen, H.C.") is None
    assert first_letter(" élan") == "E"
    assert first_letter("123") is None


def test_a_broken_plan_names_the_file_and_the_entry(tmp_path: Path) -> None:
    path = tmp_path / "plan.toml"
    entry = "[[shelves]]\ndepartment = 'A'\nrect = [0, 0, 1]\nletters = ['A', 'B']\n"
    path.write_text("width = 10\nheight = 10\n" + entry)
    with pytest.raises(ConfigError, match=r"plan.toml: shelves\[0\]: rect is"):
        load_floorplan(path)
    with pytest.raises(ConfigError, match="no such file"):
        load_floorplan(tmp_path / "missing.toml")
