"""One door inside the core: its machine, counter, debounced lines, entry and reader states."""

from __future__ import annotations

from dataclasses import dataclass, field

from hardware.core.config import DoorConfig
from hardware.core.debounce import FirstEdge, Settled
from hardware.core.entry import Entry
from hardware.core.timers import Line
from hardware.door import DoorMachine, DoorState
from services.core.occupancy import BeamCounter


@dataclass
class DoorSlot:
    """Everything the core holds for one door."""

    cfg: DoorConfig
    machine: DoorMachine
    counter: BeamCounter | None
    contact: Settled = field(default_factory=lambda: Settled(stable=False, raw=False))
    exit: FirstEdge = field(default_factory=FirstEdge)
    beams: dict[Line, Settled] = field(
        default_factory=lambda: {
            "beam_a": Settled(stable=False, raw=False),
            "beam_b": Settled(stable=False, raw=False),
        }
    )
    entry: Entry = field(default_factory=Entry)
    readers: dict[str, bool | None] = field(default_factory=dict)  # None: not reported yet
    published: tuple[DoorState, tuple[tuple[str, bool | None], ...]] | None = None

    @classmethod
    def build(cls, cfg: DoorConfig) -> DoorSlot:
        """A door at rest: locked, closed, nobody at the reader."""
        return cls(
            cfg=cfg,
            machine=DoorMachine(cfg.door_id, cfg.unlock_seconds, cfg.held_open_seconds),
            counter=BeamCounter() if cfg.counter else None,
            readers={r: None for r in cfg.readers},
        )
