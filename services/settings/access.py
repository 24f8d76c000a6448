"""``[access]``: the rules of the access decision and of PIN lockouts."""

from __future__ import annotations

from pydantic import Field

from services.settings.base import _Model


class AccessSettings(_Model):
    """The rules of the access decision for unstaffed hours."""

    pin_required: bool = Field(True, description="card + PIN (most libraries) or card alone")
    min_age_unstaffed: int = Field(15, ge=0, le=120)
    capacity: int = Field(150, ge=1, description="people allowed inside in self-service")
    pin_lockout_failures: int = Field(5, ge=1, description="consecutive failures that lock")
    pin_lockout_minutes: int = Field(15, ge=1)
    pin_block_failures_24h: int = Field(10, ge=1, description="failures in 24 h that block")
    reader_attack_cards: int = Field(
        5, ge=2, description="distinct cards failing PIN at one reader that raise an alarm"
    )
    reader_attack_window_minutes: int = Field(10, ge=1)
    reader_throttle_seconds: float = Field(30.0, ge=0)
