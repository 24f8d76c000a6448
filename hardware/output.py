"""What the controller tells the world: events (durable) and retained states, as plain JSON."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Protocol

from hardware.door import DoorState
from services.core.events import Event, EventType
from services.core.schedule import Opening

SITE = "site"  # the source of building-wide events (fire, opening, occupancy)


class Sink(Protocol):
    """Where the controller's output goes: durable events, retained states."""

    def event(self, event: Event, door: str | None = None) -> None:
        """Keep ``event`` durably and deliver it (outbox, then MQTT): ``door``'s, or the site's."""

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
        door: str | None,
        *,
        reason: str | None = None,
        credential: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        """Emit one event from ``door``, or from the building when ``door`` is None."""
        self.sink.event(
            Event(
                type=etype,
                source=SITE if door is None else door,
                ts=self.wall(),
                reason=reason,
                credential=credential,
                details=dict(details or {}),
            ),
            door,
        )

    def door(
        self,
        door_id: str,
        state: DoorState,
        readers: Mapping[str, bool | None],
        tick_age_s: float,
    ) -> None:
        """The retained ``door/<id>/state``; ``tick_age_s`` tells staff whether the loop runs."""
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
                "tick_age_s": round(tick_age_s, 3),
                "updated": self.wall().isoformat(),
            },
        )

    def occupancy(self, inside: int, capacity: int) -> None:
        """The retained ``occupancy``."""
        self.sink.site_state(
            "occupancy",
            {
                "inside": inside,
                "capacity": capacity,
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
