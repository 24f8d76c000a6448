"""``[building]``: the building's evening and morning, its outputs, the alarm panel, the speaker.

The sequences' defaults are stated once, in :class:`services.core.evening.SequenceRules`; the
messages' texts are the site's words (Danish first, then English), and a recording, where one
is given, is played instead of the spoken text.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from services.core.evening import (
    EVERY,
    FEEDBACK_TIMEOUT_S,
    STALE_AFTER_S,
    SWEEP_RETRY_S,
    Action,
    Change,
    SequenceRules,
    StepRule,
)
from services.settings.base import _Model
from services.settings.doors import Pin
from services.settings.paths import ConfigPath

_DEFAULTS = SequenceRules()


class OutputSettings(_Model):
    """A light zone or an equipment group: a relay, or a topic of the building automation."""

    pin: Pin | None = Field(None, description="relay output (BCM)")
    active_high: bool = True
    mqtt_topic: str | None = Field(
        None, description="building automation over MQTT: ON/OFF is published here instead"
    )

    @model_validator(mode="after")
    def _one_way(self) -> OutputSettings:
        if (self.pin is None) == (self.mqtt_topic is None):
            raise ValueError("give either pin or mqtt_topic")
        return self


class PanelSettings(_Model):
    """The intruder alarm panel: an arm output (pulse or level) and its feedback inputs."""

    arm_pin: Pin = Field(description="arm/disarm output (BCM)")
    arm_mode: Literal["level", "pulse"] = Field(
        "level", description="level: on = arm; pulse: one pulse toggles the panel"
    )
    pulse_s: float = Field(1.0, gt=0, le=10)
    armed_pin: Pin = Field(description="the panel's armed feedback (BCM)")
    alarm_pin: Pin | None = Field(None, description="the panel's alarm output (BCM)")
    fault_pin: Pin | None = Field(None, description="the panel's fault output (BCM)")
    active_high: bool = True


class MessageSettings(_Model):
    """One announcement: its words per language and, optionally, a recording per language."""

    da: str = Field(description="what is said in Danish")
    en: str = ""
    recording_da: ConfigPath | None = None
    recording_en: ConfigPath | None = None
    volume: int = Field(100, ge=0, le=100, description="percent")


class StepSettings(_Model):
    """One step of a sequence, minutes before (negative) or after the opening change."""

    offset_min: int = Field(ge=-240, le=240)
    action: Action
    target: str = ""


def _steps(change: Change) -> tuple[StepSettings, ...]:
    return tuple(
        StepSettings(offset_min=s.offset_min, action=s.action, target=s.target)
        for s in _DEFAULTS.for_change(change)
    )


class SequenceSettings(_Model):
    """The steps per opening change; the defaults are those of ``SequenceRules``."""

    opens: tuple[StepSettings, ...] = _steps(Change.OPENS)
    staff_arrive: tuple[StepSettings, ...] = _steps(Change.STAFF_ARRIVE)
    staff_leave: tuple[StepSettings, ...] = _steps(Change.STAFF_LEAVE)
    closes: tuple[StepSettings, ...] = _steps(Change.CLOSES)

    def rules(self) -> SequenceRules:
        """The sequences as the plan takes them."""

        def rule(s: StepSettings) -> StepRule:
            return StepRule(s.offset_min, s.action, s.target)

        return SequenceRules(
            opens=tuple(map(rule, self.opens)),
            staff_arrive=tuple(map(rule, self.staff_arrive)),
            staff_leave=tuple(map(rule, self.staff_leave)),
            closes=tuple(map(rule, self.closes)),
        )


class AudioSettings(_Model):
    """The public address: an ALSA device; spoken text through espeak-ng."""

    device: str = Field("default", description="ALSA device for aplay, e.g. plughw:1,0")
    languages: tuple[Literal["da", "en"], ...] = Field(
        ("da", "en"), description="each announcement in these languages, in order"
    )
    quiet_from: str | None = Field(None, pattern=r"^\d{2}:\d{2}$", description="no sound from")
    quiet_until: str | None = Field(None, pattern=r"^\d{2}:\d{2}$", description="… until")


_MESSAGES = {
    "closing_15": MessageSettings(
        da="Biblioteket lukker om femten minutter.", en="The library closes in fifteen minutes."
    ),
    "closing_10": MessageSettings(
        da="Biblioteket lukker om ti minutter. Der er ikke længere adgang.",
        en="The library closes in ten minutes. No more entry.",
    ),
    "closing_5": MessageSettings(
        da="Biblioteket lukker om fem minutter. Gå venligst mod udgangen.",
        en="The library closes in five minutes. Please make your way to the exit.",
    ),
    "closed": MessageSettings(
        da="Biblioteket er lukket. Forlad venligst bygningen.",
        en="The library is closed. Please leave the building.",
    ),
    "still_inside": MessageSettings(
        da="Biblioteket er lukket. Forlad venligst bygningen nu.",
        en="The library is closed. Please leave the building now.",
    ),
}


class BuildingSettings(_Model):
    """The building's own evening and morning, run by the door controller."""

    enabled: bool = Field(False, description="run the sequences on this door controller")
    lights: dict[str, OutputSettings] = Field(default_factory=dict, description="by zone")
    equipment: dict[str, OutputSettings] = Field(default_factory=dict, description="by group")
    panel: PanelSettings | None = None
    audio: AudioSettings = AudioSettings()
    messages: dict[str, MessageSettings] = Field(default_factory=lambda: dict(_MESSAGES))
    sequences: SequenceSettings = SequenceSettings()
    feedback_timeout_s: float = Field(
        FEEDBACK_TIMEOUT_S, gt=0, description="the panel must confirm by then"
    )
    sweep_retry_s: float = Field(SWEEP_RETRY_S, gt=0, description="people inside: ask again after")
    stale_after_s: float = Field(
        STALE_AFTER_S, ge=0, description="an announcement later is not played"
    )

    @model_validator(mode="after")
    def _targets_exist(self) -> BuildingSettings:
        seqs = self.sequences
        for change in Change:
            for i, step in enumerate(getattr(seqs, change.value)):
                here = f"sequences.{change.value}.{i}.target"
                self._check_target(here, step)
        return self

    def _check_target(self, here: str, step: StepSettings) -> None:
        known: dict[str, object] | None = None
        if step.action is Action.ANNOUNCE:
            known = dict(self.messages)
        elif step.action in (Action.LIGHTS_ON, Action.LIGHTS_OFF):
            known = dict(self.lights)
        elif step.action in (Action.EQUIPMENT_ON, Action.EQUIPMENT_OFF):
            known = dict(self.equipment)
        if known is None:
            if step.target:
                raise ValueError(f"{here}: {step.action.value} takes no target")
            return
        if step.action is Action.ANNOUNCE and step.target not in known:
            raise ValueError(f"{here}: no message {step.target!r} in building.messages")
        # A zone or group the site does not have is no error: the defaults name "public_pcs",
        # and a site without one simply switches nothing then.
        if step.action is not Action.ANNOUNCE and step.target != EVERY and not step.target:
            raise ValueError(f"{here}: {step.action.value} needs a zone or group, or '*'")
