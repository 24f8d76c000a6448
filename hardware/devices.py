"""The gpiozero devices of a door, built from settings. The only module that touches GPIO.

Which pins are real is gpiozero's business: ``pin_factory`` is passed in, so the same code runs
on a Raspberry Pi (lgpio), on ``MockFactory`` in the tests and in ``aabent door --simulate``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Literal

from gpiozero import LED, Buzzer, DigitalInputDevice, OutputDevice
from gpiozero.pins import Factory

from hardware.signals import Pattern
from services.settings import DoorSettings, FireSettings

log = logging.getLogger(__name__)

Beam = Literal["a", "b"]


class DoorDevices:
    """Lock relay, door contact, exit button, LEDs, buzzer and counter beams of one door.

    The lock relay is created first and already in its locked state (``initial_value``), so
    nothing that runs later can leave a door open by failing halfway through start-up.
    """

    def __init__(self, door_id: str, cfg: DoorSettings, pin_factory: Factory | None = None) -> None:
        self.door_id = door_id
        # Fail-secure strikes lock without power: energise to open. Fail-safe maglocks hold
        # while powered: energise to lock.
        self._energise_to_lock = cfg.fail_safe
        self.lock = OutputDevice(
            cfg.lock_pin,
            active_high=cfg.lock_active_high,
            initial_value=self._energise_to_lock,
            pin_factory=pin_factory,
        )
        self.unlock_seconds = cfg.unlock_seconds
        pf = pin_factory

        def inp(pin: int | None) -> DigitalInputDevice | None:
            return None if pin is None else DigitalInputDevice(pin, pull_up=True, pin_factory=pf)

        def out(cls: type[LED] | type[Buzzer], pin: int | None) -> LED | Buzzer | None:
            return None if pin is None else cls(pin, pin_factory=pf)

        # Reed contact and exit button pull the line low when closed / pressed; IR beam
        # receivers pull low while their beam is broken.
        self.contact = inp(cfg.contact_pin)
        self.exit_button = inp(cfg.exit_button_pin)
        self.beam_a = inp(cfg.beam_a_pin)
        self.beam_b = inp(cfg.beam_b_pin)
        self.green = out(LED, cfg.green_led_pin)
        self.red = out(LED, cfg.red_led_pin)
        self.buzzer = out(Buzzer, cfg.buzzer_pin)

    def set_locked(self, locked: bool) -> None:
        """Drive the relay so the door is locked (True) or released (False)."""
        if locked == self._energise_to_lock:
            self.lock.on()
        else:
            self.lock.off()

    @property
    def locked(self) -> bool:
        """Whether the relay currently holds the door locked."""
        return bool(self.lock.is_active) == self._energise_to_lock

    @property
    def door_open(self) -> bool | None:
        """The contact's reading; None where the door has no contact."""
        return None if self.contact is None else not self.contact.is_active

    def bind(
        self,
        on_contact: Callable[[bool], None],
        on_exit: Callable[[bool], None],
        on_beam: Callable[[Beam, bool], None],
    ) -> None:
        """Connect the inputs to the controller; each callback runs on gpiozero's thread."""
        if self.contact is not None:
            self.contact.when_deactivated = lambda: on_contact(True)
            self.contact.when_activated = lambda: on_contact(False)
        if self.exit_button is not None:
            # Both edges: the controller's settle time tells a press from the bounce of release.
            self.exit_button.when_activated = lambda: on_exit(True)
            self.exit_button.when_deactivated = lambda: on_exit(False)
        for name, beam in (("a", self.beam_a), ("b", self.beam_b)):
            if beam is not None:
                which: Beam = "a" if name == "a" else "b"
                beam.when_activated = lambda w=which: on_beam(w, True)
                beam.when_deactivated = lambda w=which: on_beam(w, False)

    def signal(self, pattern: Pattern) -> None:
        """Show a decision on the LEDs and buzzer (in the background)."""
        led = self.green if pattern.led == "green" else self.red
        on_s = pattern.on_s or self.unlock_seconds
        if isinstance(led, LED):
            led.blink(on_time=on_s, off_time=pattern.off_s or 0.01, n=pattern.count)
        if pattern.beep and isinstance(self.buzzer, Buzzer):
            self.buzzer.beep(
                on_time=min(on_s, 0.2), off_time=pattern.off_s or 0.01, n=pattern.count
            )

    def close(self) -> None:
        """Release the pins; the relay is left locked first."""
        self.set_locked(True)
        for dev in (
            self.contact,
            self.exit_button,
            self.beam_a,
            self.beam_b,
            self.green,
            self.red,
            self.buzzer,
        ):
            if dev is not None:
                dev.close()
        # The relay pin is closed last and deliberately not reset: closing a gpiozero output
        # reverts it to an input, which the pull resistors of the wiring notes hold locked.
        self.lock.close()


class FireInput:
    """The fire panel's dry contact. Active means alarm: every door releases."""

    def __init__(self, cfg: FireSettings, pin_factory: Factory | None = None) -> None:
        if cfg.input_pin is None:
            raise ValueError("fire.input_pin is not set")
        self.device = DigitalInputDevice(
            cfg.input_pin, pull_up=cfg.active_low, pin_factory=pin_factory
        )

    @property
    def active(self) -> bool:
        """Whether the panel signals an alarm now."""
        return bool(self.device.is_active)

    def bind(self, on_change: Callable[[bool], None]) -> None:
        """Call ``on_change(active)`` whenever the panel's contact changes."""
        self.device.when_activated = lambda: on_change(True)
        self.device.when_deactivated = lambda: on_change(False)

    def close(self) -> None:
        """Release the pin."""
        self.device.close()
