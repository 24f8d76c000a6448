"""Opening state at any instant: staffed, self-service or closed. Pure; the clock is a parameter."""

from __future__ import annotations

from enum import StrEnum


class OpeningState(StrEnum):
    """What the building is at one instant."""

    STAFFED = "staffed"
    SELF_SERVICE = "self-service"
    CLOSED = "closed"
