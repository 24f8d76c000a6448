"""The controller core's view of the settings: plain values, so the core never sees pydantic."""

from __future__ import annotations

from hardware.core.config import CoreConfig, DoorConfig, EveningConfig, reader_id
from services.core.readers import PIN_TIMEOUT_S
from services.settings import Settings


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
                pin_timeout_s=min((r.pin_timeout_s for r in pads), default=PIN_TIMEOUT_S),
                counter=cfg.beam_a_pin is not None and cfg.entrance,
                settle_s=cfg.settle_s,
            )
        )
    a = settings.access
    return CoreConfig(
        doors=tuple(doors),
        rules=a.access_rules(),
        command_max_age_s=settings.mqtt.command_max_age_s,
        fire_clear_s=settings.fire.clear_after_s,
        evening=evening_config(settings),
    )


def evening_config(settings: Settings) -> EveningConfig | None:
    """The evening's view of ``[building]``; None when the site does not run it here."""
    b = settings.building
    if not b.enabled:
        return None
    return EveningConfig(
        rules=b.sequences.rules(),
        zones=tuple(b.lights),
        groups=tuple(b.equipment),
        panel=b.panel is not None,
        messages=frozenset(b.messages),
        feedback_timeout_s=b.feedback_timeout_s,
        sweep_retry_s=b.sweep_retry_s,
        stale_after_s=b.stale_after_s,
    )
