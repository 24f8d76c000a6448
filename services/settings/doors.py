"""``[doors.<id>]`` and ``[fire]``: GPIO wiring, timings and readers of each door."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from services.core.readers import PIN_TIMEOUT_S
from services.settings.base import _Model
from services.settings.site import ControllerId

BCM_PINS = range(0, 28)


class ReaderSettings(_Model):
    """One credential reader or PIN pad on a door."""

    kind: Literal["barcode", "magstripe", "em4100", "pinpad", "wiegand"]
    url: str | None = Field(None, description="serial URL or device; loop:// and ptys work too")
    baudrate: int = 9600
    d0_pin: int | None = Field(None, description="Wiegand DATA0 (BCM)")
    d1_pin: int | None = Field(None, description="Wiegand DATA1 (BCM)")
    pin_timeout_s: float = Field(PIN_TIMEOUT_S, gt=0)

    @model_validator(mode="after")
    def _needs(self) -> ReaderSettings:
        if self.kind == "wiegand":
            if self.d0_pin is None or self.d1_pin is None:
                raise ValueError("a wiegand reader needs d0_pin and d1_pin")
        elif not self.url:
            raise ValueError(f"a {self.kind} reader needs url")
        return self


Pin = Annotated[int, Field(ge=min(BCM_PINS), le=max(BCM_PINS), description="BCM GPIO number")]


class DoorSettings(_Model):
    """One door: its GPIO wiring, timings and readers."""

    name: str = ""
    lock_pin: Pin
    lock_active_high: bool = True
    fail_safe: bool = Field(
        False, description="True: unlocked without power (fail-safe); False: fail-secure"
    )
    contact_pin: Pin | None = None
    exit_button_pin: Pin | None = None
    green_led_pin: Pin | None = None
    red_led_pin: Pin | None = None
    buzzer_pin: Pin | None = None
    beam_a_pin: Pin | None = Field(None, description="outer beam of the people counter")
    beam_b_pin: Pin | None = Field(None, description="inner beam of the people counter")
    unlock_seconds: float = Field(5.0, gt=0, le=300)
    held_open_seconds: float = Field(30.0, gt=0)
    settle_s: float = Field(
        0.03,
        ge=0,
        le=1,
        description="a contact, exit button or beam change counts once it held this long",
    )
    entrance: bool = Field(True, description="counts people and admits patrons")
    controller: ControllerId | None = Field(
        None, description="the controller (Pi) that drives this door; default site.controller"
    )
    readers: tuple[ReaderSettings, ...] = ()

    @model_validator(mode="after")
    def _distinct_pins(self) -> DoorSettings:
        used: dict[int, str] = {}
        for name in (
            "lock_pin",
            "contact_pin",
            "exit_button_pin",
            "green_led_pin",
            "red_led_pin",
            "buzzer_pin",
            "beam_a_pin",
            "beam_b_pin",
        ):
            pin = getattr(self, name)
            if pin is None:
                continue
            if pin in used:
                raise ValueError(f"{name} uses pin {pin}, already {used[pin]}")
            used[pin] = name
        if (self.beam_a_pin is None) != (self.beam_b_pin is None):
            raise ValueError("the people counter needs both beam_a_pin and beam_b_pin")
        return self


class FireSettings(_Model):
    """The fire panel's dry contact: alarm when the input is active."""

    input_pin: Pin | None = None
    active_low: bool = Field(True, description="panel contact pulls the line to ground")
    clear_after_s: float = Field(
        1.0,
        ge=0,
        le=60,
        description="the alarm clears once the input was quiet this long (it raises at once)",
    )
