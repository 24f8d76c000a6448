"""What of the evening survives a restart: the steps done, extensions, sweeps, output levels.

Kept as one JSON object in the controller's own database (``services/store/building.py``); the
evening core reads it back at start, so a controller restarted at 21:58 neither replays the
21:55 announcement nor arms or disarms a second time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Outcome(StrEnum):
    """How a planned step ended."""

    DONE = "done"
    STALE = "stale"  # an announcement found too late (after a restart): not played
    SUPERSEDED = "superseded"  # the next change's steps began first (a sweep never finished)
    NOT_WIRED = "not_wired"  # arm or disarm with no panel wired


@dataclass
class Progress:
    """The evening's memory: step key -> outcome, minutes added per change, changes swept."""

    done: dict[str, Outcome] = field(default_factory=dict)
    extended: dict[str, int] = field(default_factory=dict)
    swept: set[str] = field(default_factory=set)
    lights: dict[str, bool] = field(default_factory=dict)
    equipment: dict[str, bool] = field(default_factory=dict)
    panel: bool | None = None  # the last order to the panel: armed (True) or disarmed

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready object (sorted, so equal progress saves equal text)."""
        return {
            "done": {k: str(v) for k, v in sorted(self.done.items())},
            "extended": dict(sorted(self.extended.items())),
            "swept": sorted(self.swept),
            "lights": dict(sorted(self.lights.items())),
            "equipment": dict(sorted(self.equipment.items())),
            "panel": self.panel,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Progress:
        """Read back :meth:`to_json`; an unreadable part is dropped, never guessed."""

        def _map(key: str, kind: type) -> dict[str, Any]:
            raw = data.get(key)
            if not isinstance(raw, dict):
                return {}
            return {str(k): v for k, v in raw.items() if isinstance(v, kind)}

        done = {}
        for key, value in _map("done", str).items():
            try:
                done[key] = Outcome(value)
            except ValueError:
                continue
        swept = data.get("swept")
        panel = data.get("panel")
        return cls(
            done=done,
            extended={k: v for k, v in _map("extended", int).items() if not isinstance(v, bool)},
            swept={str(s) for s in swept} if isinstance(swept, list) else set(),
            lights=_map("lights", bool),
            equipment=_map("equipment", bool),
            panel=panel if isinstance(panel, bool) else None,
        )

    def keep_only(self, keys: set[str], changes: set[str]) -> None:
        """Forget steps and changes no longer planned (older than the plan's window)."""
        self.done = {k: v for k, v in self.done.items() if k in keys}
        self.extended = {k: v for k, v in self.extended.items() if k in changes}
        self.swept &= changes
