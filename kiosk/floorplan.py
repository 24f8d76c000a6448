"""Where a copy stands: a small floor plan of rooms and shelves, and the lookup into it. Pure.

The plan is a TOML file (``config/floorplan.toml``) in metres from the bottom-left corner: rooms
name the departments they hold, shelves a range of shelf marks in one department. Non-fiction
stands by DK5 number (``dk5 = [0, 39.99]``), fiction and picture books by the first letter of
the author's heading (``letters = ["A", "F"]``, Danish order, so Æ, Ø and Å come after Z).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.settings import ConfigError

DANISH_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZÆØÅ"
_DK5 = re.compile(r"^\s*(\d{2}(?:\.\d+)?)")
_FOLD = str.maketrans({"Ä": "Æ", "Ö": "Ø", "Ü": "Y", "É": "E", "È": "E", "Á": "A", "Ó": "O"})

Rect = tuple[float, float, float, float]  # x, y, width, height


@dataclass(frozen=True)
class Room:
    """A room or area and the departments shelved in it."""

    name: str
    departments: tuple[str, ...]
    rect: Rect


@dataclass(frozen=True)
class Shelf:
    """A run of shelves holding one range of shelf marks of a department."""

    label: str
    department: str
    rect: Rect
    dk5: tuple[float, float] | None = None
    letters: tuple[str, str] | None = None

    def holds(self, shelf_mark: str) -> bool:
        """Whether ``shelf_mark`` falls in this shelf's range."""
        number = dk5_number(shelf_mark)
        if number is not None:
            return self.dk5 is not None and self.dk5[0] <= number <= self.dk5[1]
        letter = first_letter(shelf_mark)
        if self.letters is None or letter is None:
            return False
        lo, hi = (DANISH_ALPHABET.index(x) for x in self.letters)
        return lo <= DANISH_ALPHABET.index(letter) <= hi


@dataclass(frozen=True)
class Location:
    """Where to look: the room, and the shelf when the mark falls in a known range."""

    room: Room | None
    shelf: Shelf | None

    @property
    def found(self) -> bool:
        """True if at least the room is on the plan."""
        return self.room is not None


@dataclass(frozen=True)
class FloorPlan:
    """The library's floor: its size, the kiosk's spot, rooms and shelves."""

    width: float
    height: float
    kiosk: tuple[float, float] | None
    rooms: tuple[Room, ...]
    shelves: tuple[Shelf, ...]

    def locate(self, department: str, shelf_mark: str) -> Location:
        """The room holding ``department`` and the shelf holding ``shelf_mark`` in it."""
        wanted = department.strip().casefold()
        room = next(
            (r for r in self.rooms if wanted in (d.casefold() for d in r.departments)), None
        )
        if room is None:
            return Location(None, None)
        shelf = next(
            (s for s in self.shelves if s.department.casefold() == wanted and s.holds(shelf_mark)),
            None,
        )
        return Location(room, shelf)


def dk5_number(shelf_mark: str) -> float | None:
    """The DK5 number a non-fiction shelf mark starts with (``"99.4 Andersen"`` -> 99.4)."""
    found = _DK5.match(shelf_mark)
    return float(found.group(1)) if found else None


def first_letter(shelf_mark: str) -> str | None:
    """The filing letter of a heading: ``"Aakjær, Jeppe"`` files under Å, as in Danish."""
    text = shelf_mark.strip().upper().translate(_FOLD)
    if text.startswith("AA"):
        return "Å"
    for char in text:
        if char in DANISH_ALPHABET:
            return char
    return None


def _rect(value: Any, where: str) -> Rect:
    if not (isinstance(value, list) and len(value) == 4):
        raise ConfigError(f"{where}: rect is [x, y, width, height]")
    x, y, w, h = (float(v) for v in value)
    if w <= 0 or h <= 0:
        raise ConfigError(f"{where}: rect width and height must be positive")
    return x, y, w, h


def _room(raw: dict[str, Any], where: str) -> Room:
    departments = tuple(str(d) for d in raw.get("departments", [raw["name"]]))
    return Room(str(raw["name"]), departments, _rect(raw.get("rect"), where))


def _shelf(raw: dict[str, Any], where: str) -> Shelf:
    dk5, letters = raw.get("dk5"), raw.get("letters")
    if (dk5 is None) == (letters is None):
        raise ConfigError(f"{where}: give either dk5 = [from, to] or letters = [from, to]")
    if letters is not None:
        letters = tuple(str(x).upper() for x in letters)
        if len(letters) != 2 or any(x not in DANISH_ALPHABET for x in letters):
            raise ConfigError(f"{where}: letters are two of {DANISH_ALPHABET}")
    if dk5 is not None:
        dk5 = tuple(float(x) for x in dk5)
        if len(dk5) != 2 or dk5[0] > dk5[1]:
            raise ConfigError(f"{where}: dk5 is [from, to] with from <= to")
    return Shelf(
        label=str(raw.get("label", "")),
        department=str(raw["department"]),
        rect=_rect(raw.get("rect"), where),
        dk5=dk5,
        letters=letters,
    )


def load_floorplan(path: Path) -> FloorPlan:
    """Read and check a floor plan; :class:`ConfigError` names the file and the entry."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    try:
        rooms = tuple(_room(r, f"{path}: rooms[{i}]") for i, r in enumerate(data.get("rooms", [])))
        shelves = tuple(
            _shelf(s, f"{path}: shelves[{i}]") for i, s in enumerate(data.get("shelves", []))
        )
        kiosk = data.get("kiosk")
        return FloorPlan(
            width=float(data["width"]),
            height=float(data["height"]),
            kiosk=(float(kiosk[0]), float(kiosk[1])) if kiosk else None,
            rooms=rooms,
            shelves=shelves,
        )
    except KeyError as exc:
        raise ConfigError(f"{path}: missing key {exc.args[0]!r}") from None
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
