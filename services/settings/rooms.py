"""``[rooms.<id>]``: bookable rooms, each a door or a set of doors with slots and rules."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from services.core.rooms import Room, RoomRules
from services.settings.base import _Model

# The defaults are the core's own, stated once there.
_RULES = RoomRules()

RoomId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,30}$")]


class RoomSettings(_Model):
    """One bookable room: its doors and its booking rules."""

    name: str = Field("", description="what the kiosk and the dashboard call the room")
    doors: tuple[str, ...] = Field(
        min_length=1, description="the door ids (under [doors]) that open the room"
    )
    slot_minutes: int = Field(_RULES.slot_minutes, ge=15, le=24 * 60)
    bookings_per_week: int = Field(
        _RULES.bookings_per_week, ge=1, description="bookings a patron may hold per week"
    )
    self_service_only: bool = Field(
        _RULES.self_service_only,
        description="bookable only in self-service hours; false: staffed hours too",
    )
    horizon_days: int = Field(
        _RULES.horizon_days, ge=1, le=60, description="how many days ahead may be booked"
    )
    no_show_minutes: int = Field(
        _RULES.no_show_minutes,
        ge=1,
        description="a booker not through the door this long after the start loses the slot",
    )
    max_companions: int = Field(
        _RULES.max_companions, ge=0, le=9, description="companions a booking may name"
    )

    def rules(self) -> RoomRules:
        """The room's rules for the core."""
        return RoomRules(
            slot_minutes=self.slot_minutes,
            bookings_per_week=self.bookings_per_week,
            self_service_only=self.self_service_only,
            horizon_days=self.horizon_days,
            no_show_minutes=self.no_show_minutes,
            max_companions=self.max_companions,
        )

    def room(self, room_id: str) -> Room:
        """The pure room of these settings."""
        return Room(room_id, frozenset(self.doors), self.rules())
