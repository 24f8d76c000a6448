"""The settings the core needs, as plain values (``hardware/core_settings.py`` builds them)."""

from __future__ import annotations

from dataclasses import dataclass

from services.core.access import AccessRules


@dataclass(frozen=True, slots=True)
class DoorConfig:
    """One door as the core sees it."""

    door_id: str
    unlock_seconds: float
    held_open_seconds: float
    readers: tuple[str, ...]
    pinpad: bool  # a PIN pad belongs to the door: cards wait for their PIN
    pin_timeout_s: float
    counter: bool  # two beams at an entrance count people
    settle_s: float  # contact, exit button and beams


@dataclass(frozen=True, slots=True)
class CoreConfig:
    """The site's rules and timings."""

    doors: tuple[DoorConfig, ...]
    rules: AccessRules
    command_max_age_s: float
    fire_clear_s: float


def reader_id(door_id: str, index: int, kind: str) -> str:
    """The id a reader has in events and door states: ``main.0.em4100``."""
    return f"{door_id}.{index}.{kind}"
