"""What the controller tells the world: events (durable) and retained states, as plain JSON."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Protocol

from hardware.door import DoorState
from services.core.events import Event, EventType
from services.core.occupancy import Occupancy
from services.core.schedule import Opening


class Sink(Protocol):
    """Where the controller's output goes: durable events, retained states."""

    def event(self, event: Event) -> None:
        """Keep ``event`` durably and deliver it (outbox, then MQTT)."""

    def door_state(self, door_id: str, payload: Mapping[str, Any]) -> None:
        """Publish a door's retained state."""

    def site_state(self, kind: str, payload: Mapping[str, Any]) -> None:
        """Publish a retained site state: ``opening`` or ``occupancy``."""


class Output:
    """Stamps events with id and time and shapes the retained states of the MQTT contract."""

    def __init__(self, sink: Sink, wall: Callable[[], datetime]) -> None:
        self.sink = sink
        self.wall = wall

    def event(
        self,
        etype: EventType,
        source: str,
        *,
        reason: str | None = None,
        credential: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        """Emit one event from ``source`` (a door id, or the site)."""
        self.sink.event(
            Event(
                type=etype,
                source=source,
                ts=self.wall(),
                reason=reason,
                credential=credential,
                details=dict(details or {}),
            )
        )

    def door(self, door_id: str, state: DoorState, readers: Mapping[str, bool]) -> None:
        """The retained ``door/<id>/state``."""
        self.sink.door_state(
            door_id,
            {
                "lock": "locked" if state.locked else "unlocked",
                "contact": "open" if state.open else "closed",
                "mode": str(state.mode),
                "alarm": state.alarm,
                "fire": state.fire,
                "staffed": state.staffed,
                "readers": {r: ("online" if ok else "offline") for r, ok in readers.items()},
                "updated": self.wall().isoformat(),
            },
        )

    def occupancy(self, occupancy: Occupancy) -> None:
        """The retained ``occupancy``."""
        self.sink.site_state(
            "occupancy",
            {
                "inside": occupancy.inside,
                "capacity": occupancy.capacity,
                "updated": self.wall().isoformat(),
            },
        )

    def opening(self, opening: Opening) -> dict[str, Any]:
        """The retained ``opening``; returns the payload for the matching event."""
        payload = {
            "state": str(opening.state),
            "until": opening.until.isoformat() if opening.until else None,
            "updated": self.wall().isoformat(),
        }
        self.sink.site_state("opening", payload)
        return payload
