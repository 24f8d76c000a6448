"""``[access]``: the rules of the access decision and of PIN lockouts."""

from __future__ import annotations

from pydantic import Field, model_validator

from services.core.access import AccessRules
from services.core.lockout import LockoutPolicy
from services.settings.base import _Model

# The defaults are the cores' own, stated once there.
_RULES = AccessRules()
_POLICY = LockoutPolicy()


class AccessSettings(_Model):
    """The rules of the access decision for unstaffed hours."""

    pin_required: bool = Field(
        _RULES.pin_required, description="card + PIN (most libraries) or card alone"
    )
    min_age_unstaffed: int = Field(_RULES.min_age_unstaffed, ge=0, le=120)
    capacity: int = Field(
        _RULES.capacity, ge=1, description="people allowed inside in self-service"
    )
    pin_lockout_failures: int = Field(
        _POLICY.lock_after, ge=1, description="consecutive failures that lock"
    )
    pin_lockout_minutes: int = Field(_POLICY.lock_minutes, ge=1)
    pin_block_failures_24h: int = Field(
        _POLICY.block_after_24h, ge=1, description="failures in 24 h that block"
    )
    reader_attack_cards: int = Field(
        _POLICY.attack_cards,
        ge=2,
        description="distinct cards failing PIN at one reader that raise an alarm",
    )
    reader_attack_window_minutes: int = Field(_POLICY.attack_window_minutes, ge=1)
    reader_throttle_seconds: float = Field(_POLICY.throttle_seconds, ge=0)
    signup_required: bool = Field(
        _RULES.signup_required,
        description="patrons must have signed up for self-service (desk or kiosk) first",
    )
    max_companions: int = Field(
        _RULES.max_companions,
        ge=0,
        le=9,
        description="companions a card holder may state at the PIN pad ('N#' before the PIN)",
    )
    cpr_pad_prefix: str = Field(
        _RULES.cpr_pad_prefix,
        pattern=r"^\d{0,3}$",
        description="digits typed before a CPR number at the PIN pad (forgotten card); "
        "empty: not allowed",
    )

    @model_validator(mode="after")
    def _cpr_on_pad_needs_a_pin(self) -> AccessSettings:
        if self.cpr_pad_prefix and not self.pin_required:
            raise ValueError(
                "cpr_pad_prefix: a CPR number typed at the pad must be followed by the PIN, "
                "so it needs pin_required = true"
            )
        return self

    @model_validator(mode="after")
    def _lock_before_block(self) -> AccessSettings:
        if self.pin_lockout_failures > self.pin_block_failures_24h:
            raise ValueError(
                f"pin_lockout_failures: {self.pin_lockout_failures} failures to lock is more "
                f"than the {self.pin_block_failures_24h} that block (pin_block_failures_24h): "
                "the card would be blocked before it is ever locked"
            )
        return self

    def access_rules(self) -> AccessRules:
        """The access decision's rules of these settings."""
        return AccessRules(
            pin_required=self.pin_required,
            min_age_unstaffed=self.min_age_unstaffed,
            capacity=self.capacity,
            signup_required=self.signup_required,
            max_companions=self.max_companions,
            cpr_pad_prefix=self.cpr_pad_prefix,
        )

    def lockout_policy(self) -> LockoutPolicy:
        """The PIN lockout policy of these settings."""
        return LockoutPolicy(
            lock_after=self.pin_lockout_failures,
            lock_minutes=self.pin_lockout_minutes,
            block_after_24h=self.pin_block_failures_24h,
            attack_cards=self.reader_attack_cards,
            attack_window_minutes=self.reader_attack_window_minutes,
            throttle_seconds=self.reader_throttle_seconds,
        )
