"""The GPIO backend of a real door controller, chosen once, with a one-line hint when there is none.

gpiozero picks its pin factory itself (``GPIOZERO_PIN_FACTORY``, else lgpio, RPi.GPIO, pigpio,
native) the first time a device needs one, and without any it raises ``BadPinFactory`` from deep
inside the first relay's constructor. ``aabent door`` asks for the factory first, so a missing
backend (the venv without lgpio, no ``/dev/gpiochip*``, a user outside the ``gpio`` group) is
one line that says what to do, with exit code 3, instead of a traceback.
"""

from __future__ import annotations

import warnings

from gpiozero import Device
from gpiozero.exc import BadPinFactory, PinFactoryFallback
from gpiozero.pins import Factory

HINT = (
    "on a Raspberry Pi install aabent with the door extra (it brings lgpio) and run it as a "
    "user in the gpio group; without GPIO run `aabent door --simulate`"
)


class NoGpio(Exception):
    """No pin factory could be loaded; the message says why and what to do."""


def default_pin_factory() -> Factory:
    """gpiozero's own choice of pin factory, set as ``Device.pin_factory`` for every device."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", PinFactoryFallback)
        try:
            Device.ensure_pin_factory()
        except (BadPinFactory, ImportError, OSError) as exc:
            tried = [str(w.message) for w in caught if issubclass(w.category, PinFactoryFallback)]
            # The first backend tried is the one meant (lgpio, or GPIOZERO_PIN_FACTORY's).
            why = tried[0].removeprefix("Falling back from ") if tried else str(exc)
            raise NoGpio(f"no GPIO here ({why}): {HINT}") from None
    factory = Device.pin_factory
    assert factory is not None  # ensure_pin_factory set it or raised
    return factory
