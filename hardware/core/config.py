"""The settings the core needs, as plain values (``hardware/core_settings.py`` builds them)."""

from __future__ import annotations

from dataclasses import dataclass

from services.core.access import AccessRules
from services.core.evening import SequenceRules


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
class EveningConfig:
    """The building's evening and morning as the core sees it (``[building]``)."""

    rules: SequenceRules
    zones: tuple[str, ...]
    groups: tuple[str, ...]
    panel: bool  # an intruder alarm panel is wired: arm, disarm and its armed feedback
    messages: frozenset[str]
    feedback_timeout_s: float
    sweep_retry_s: float
    stale_after_s: float


@dataclass(frozen=True, slots=True)
class CoreConfig:
    """The site's rules and timings."""

    doors: tuple[DoorConfig, ...]
    rules: AccessRules
    command_max_age_s: float
    fire_clear_s: float
    evening: EveningConfig | None = None  # None: the controller runs the doors only


def reader_id(door_id: str, index: int, kind: str) -> str:
    """The id a reader has in events and door states: ``main.0.em4100``."""
    return f"{door_id}.{index}.{kind}"
