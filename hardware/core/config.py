"""The settings the core needs, as plain values (built from :class:`services.settings.Settings`)."""

from __future__ import annotations

from dataclasses import dataclass

from services.access import AccessRules
from services.settings import Settings


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


def core_config(settings: Settings) -> CoreConfig:
    """The core's view of ``settings``."""
    doors = []
    for door_id, cfg in settings.doors.items():
        pads = [r for r in cfg.readers if r.kind == "pinpad"]
        doors.append(
            DoorConfig(
                door_id=door_id,
                unlock_seconds=cfg.unlock_seconds,
                held_open_seconds=cfg.held_open_seconds,
                readers=tuple(reader_id(door_id, i, r.kind) for i, r in enumerate(cfg.readers)),
                pinpad=bool(pads),
                pin_timeout_s=min((r.pin_timeout_s for r in pads), default=10.0),
                counter=cfg.beam_a_pin is not None and cfg.entrance,
                settle_s=cfg.settle_s,
            )
        )
    a = settings.access
    return CoreConfig(
        doors=tuple(doors),
        rules=AccessRules(a.pin_required, a.min_age_unstaffed, a.capacity),
        command_max_age_s=settings.mqtt.command_max_age_s,
        fire_clear_s=settings.fire.clear_after_s,
    )
