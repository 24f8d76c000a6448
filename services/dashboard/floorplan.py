"""The building as the live page draws it: the rooms of the kiosk's floor plan and the doors.

``config/floorplan.toml`` is the kiosk's map (rooms, shelves, metres from the bottom-left
corner); its ``[[doors]]`` entries (``id``, ``at = [x, y]``) place the site's doors on it. Only
what the page draws is read here: sizes, room rectangles and door points. The page colours each
door by its live state. A missing or broken plan leaves the page without a picture (logged),
never without its doors.
"""

from __future__ import annotations

import logging
import tomllib
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PlanRoom:
    """A room's name and rectangle, y measured up from the bottom (as in the file)."""

    name: str
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class PlanDoor:
    """Where a door of the site stands on the plan."""

    door: str
    x: float
    y: float


@dataclass(frozen=True)
class Plan:
    """What the live page draws: the floor's size, its rooms and the doors on it."""

    width: float
    height: float
    rooms: tuple[PlanRoom, ...]
    doors: tuple[PlanDoor, ...]

    def svg_y(self, y: float, height: float = 0.0) -> float:
        """SVG's y (down from the top) of a point or rectangle measured up from the bottom."""
        return self.height - y - height


def _room(entry: dict[str, Any]) -> PlanRoom:
    x, y, width, height = (float(v) for v in entry["rect"])
    return PlanRoom(str(entry["name"]), x, y, width, height)


def _door(entry: dict[str, Any]) -> PlanDoor:
    x, y = (float(v) for v in entry["at"])
    return PlanDoor(str(entry["id"]), x, y)


def load_plan(path: Path, doors: Collection[str]) -> Plan | None:
    """The plan at ``path`` with the doors of ``doors`` it places; None when there is none."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        plan = Plan(
            width=float(data["width"]),
            height=float(data["height"]),
            rooms=tuple(_room(r) for r in data.get("rooms", [])),
            doors=tuple(d for d in map(_door, data.get("doors", [])) if d.door in doors),
        )
    except FileNotFoundError:
        return None
    except (OSError, tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as exc:
        log.warning("floor plan %s not shown: %s", path, exc)
        return None
    return plan if plan.doors else None
