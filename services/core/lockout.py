"""PIN lockout policy: when a card is locked or blocked, when a reader is under attack. Pure.

A four-digit PIN has only 10,000 values, so guessing is bounded in two ways: per card (a short
lock after a run of failures, a block that only staff lift after many failures in a day) and per
reader (someone trying common PINs on many different cards is throttled and raises an alarm).
The history comes from :mod:`services.store.lockouts`; the clock is the ``now`` parameter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

# The window of the block rule, and so the card history the store must keep and return.
BLOCK_WINDOW = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class Standing:
    """What the decision needs to know about a card and a reader before it looks at the PIN."""

    locked_out: bool = False
    blocked: bool = False
    reader_throttled: bool = False


@dataclass(frozen=True, slots=True)
class CardLock:
    """A card's standing: locked until a time (None = not locked now), or blocked until reset."""

    locked_until: datetime | None
    blocked: bool


@dataclass(frozen=True, slots=True)
class ReaderLock:
    """A reader's standing: throttled until a time (None = not now), and whether under attack."""

    throttled_until: datetime | None
    attack: bool


@dataclass(frozen=True, slots=True)
class LockoutPolicy:
    """The thresholds of PIN guessing, per card and per reader."""

    lock_after: int = 5
    lock_minutes: int = 15
    block_after_24h: int = 10
    attack_cards: int = 5
    attack_window_minutes: int = 10
    throttle_seconds: float = 30

    def __post_init__(self) -> None:
        counts = ("lock_after", "lock_minutes", "block_after_24h", "attack_window_minutes")
        for name in counts:
            if getattr(self, name) < 1:
                raise ValueError(f"LockoutPolicy.{name} must be at least 1")
        if self.attack_cards < 2:
            raise ValueError("LockoutPolicy.attack_cards must be at least 2")
        if self.throttle_seconds < 0:
            raise ValueError("LockoutPolicy.throttle_seconds cannot be negative")

    @property
    def attack_window(self) -> timedelta:
        """How far back :meth:`reader_state` looks; the store query uses it too."""
        return timedelta(minutes=self.attack_window_minutes)

    def card_state(
        self, failures: Sequence[datetime], last_success: datetime | None, now: datetime
    ) -> CardLock:
        """Lock and block of one card from its PIN failures and its last correct PIN.

        ``lock_after`` failures in a row within 24 hours (none since a correct PIN) lock the card
        for ``lock_minutes`` from the latest; each further failure locks it again from then.
        ``block_after_24h`` failures within 24 hours block it, correct PINs or not, until staff
        reset it (the caller then persists the block).
        """
        recent = [ts for ts in failures if now - BLOCK_WINDOW < ts <= now]
        blocked = len(recent) >= self.block_after_24h
        in_a_row = [ts for ts in recent if last_success is None or ts > last_success]
        locked_until = None
        if len(in_a_row) >= self.lock_after:
            until = max(in_a_row) + timedelta(minutes=self.lock_minutes)
            locked_until = until if until > now else None
        return CardLock(locked_until=locked_until, blocked=blocked)

    def reader_state(self, recent: Sequence[tuple[datetime, str]], now: datetime) -> ReaderLock:
        """Throttle and alarm of one reader from its PIN failures as (time, credential hash).

        Failures on ``attack_cards`` or more distinct cards within the attack window are an
        attack: the alarm stands while they are in the window, and each failure throttles the
        reader for ``throttle_seconds`` from then, so guessing slows to one try per throttle.
        """
        window = [(ts, card) for ts, card in recent if now - self.attack_window < ts <= now]
        attack = len({card for _, card in window}) >= self.attack_cards
        throttled_until = None
        if attack:
            until = max(ts for ts, _ in window) + timedelta(seconds=self.throttle_seconds)
            throttled_until = until if until > now else None
        return ReaderLock(throttled_until=throttled_until, attack=attack)
