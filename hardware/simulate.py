"""Simulated hardware for the demo and the tests: gpiozero's MockFactory and real ptys.

Nothing here fakes our own code: the controller reads real bytes from a tty through pyserial and
real (mock) GPIO pins through gpiozero. The simulation only plays the part of the world: a
patron swiping a card, a door swinging open, a person breaking the counter beams, the fire panel.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from gpiozero.pins.mock import MockFactory, MockPin

from services.settings import DoorSettings, ReaderSettings, Settings

log = logging.getLogger(__name__)

SERIAL_KINDS = ("barcode", "magstripe", "em4100", "pinpad")
# Barcode first: a library card number is what patrons and staff type in the demo.
CARD_KINDS = ("barcode", "magstripe", "em4100")
# A person takes ~0.3 s to pass a pair of beams; the steps are spaced so the counter sees order.
BEAM_STEP_S = 0.02
PIN_AFTER_CARD_S = 0.3


class SimulationError(ValueError):
    """A simulated input that cannot be played (unknown door, bad payload)."""


def encode_card(kind: str, number: str) -> bytes:
    """The bytes a reader of ``kind`` sends for card ``number``."""
    if kind == "barcode":
        return number.encode("ascii") + b"\r\n"
    if kind == "magstripe":
        return b";" + number.encode("ascii") + b"=?\r\n"
    if kind == "em4100":
        if not number.isdigit() or int(number) >= 2**32:
            raise SimulationError("an EM4100 tag number is a decimal below 2**32")
        data = bytes([0x01]) + int(number).to_bytes(4, "big")
        checksum = 0
        for b in data:
            checksum ^= b
        return b"\x02" + data.hex().upper().encode() + f"{checksum:02X}".encode() + b"\x03"
    raise SimulationError(f"reader kind {kind!r} reads no cards")


def encode_pin(pin: str) -> bytes:
    """Key presses on a serial PIN pad: the digits, then ``#`` to submit."""
    if not pin.isdigit():
        raise SimulationError("a PIN is digits only")
    return pin.encode("ascii") + b"#"


@dataclass
class _Pty:
    master: int
    path: str


@dataclass
class Simulation:
    """The simulated world around one door controller."""

    settings: Settings
    factory: MockFactory = field(default_factory=MockFactory)
    ptys: dict[str, _Pty] = field(default_factory=dict)  # "<door>.<index>" -> pty
    sleep: Callable[[float], None] = time.sleep

    def wire(self) -> Settings:
        """Open a pty for every serial reader and return settings that point the readers there."""
        doors: dict[str, DoorSettings] = {}
        for door_id, door in self.settings.doors.items():
            readers: list[ReaderSettings] = []
            for index, reader in enumerate(door.readers):
                if reader.kind in SERIAL_KINDS:
                    master, slave = os.openpty()
                    pty = _Pty(master, os.ttyname(slave))
                    self.ptys[f"{door_id}.{index}"] = pty
                    reader = reader.model_copy(update={"url": pty.path})
                readers.append(reader)
            doors[door_id] = door.model_copy(update={"readers": tuple(readers)})
        return self.settings.model_copy(update={"doors": doors})

    def rest(self) -> None:
        """Put every input at rest: doors closed, beams clear, buttons up, no fire."""
        for door in self.settings.doors.values():
            if door.contact_pin is not None:
                self.factory.pin(door.contact_pin).drive_low()  # reed closed: door shut
            for pin in (door.exit_button_pin, door.beam_a_pin, door.beam_b_pin):
                if pin is not None:
                    self.factory.pin(pin).drive_high()
        fire = self.settings.fire
        if fire.input_pin is not None:
            pin = self.factory.pin(fire.input_pin)
            pin.drive_high() if fire.active_low else pin.drive_low()

    def describe(self) -> list[str]:
        """One line per simulated reader: which door, which kind, which tty."""
        lines = []
        for key, pty in self.ptys.items():
            door_id, index = key.split(".")
            kind = self.settings.doors[door_id].readers[int(index)].kind
            lines.append(f"{door_id}: {kind} reader on {pty.path}")
        return lines

    # --- the world acting --------------------------------------------------------------------

    def door(self, door_id: str) -> DoorSettings:
        """The settings of ``door_id``, or a SimulationError naming it."""
        try:
            return self.settings.doors[door_id]
        except KeyError:
            raise SimulationError(f"no door {door_id!r}") from None

    def swipe(self, door_id: str, card: str, pin: str | None) -> None:
        """Present ``card`` to the door's first card reader, then type ``pin`` on its pad."""
        door = self.door(door_id)
        card_reader = self._reader(door_id, door, CARD_KINDS)
        os.write(card_reader[0].master, encode_card(card_reader[1], card))
        if pin is not None:
            pad = self._reader(door_id, door, ("pinpad",))
            # Card and PIN pad are separate ttys read by separate threads; a person takes a
            # second or more to type, and a busy machine must not get the PIN in first.
            self.sleep(PIN_AFTER_CARD_S)
            os.write(pad[0].master, encode_pin(pin))

    def type_keys(self, door_id: str, digits: str) -> None:
        """Type ``digits`` and '#' on the door's PIN pad, no card: a code, companions, a CPR."""
        pad = self._reader(door_id, self.door(door_id), ("pinpad",))
        os.write(pad[0].master, encode_pin(digits))

    def _reader(self, door_id: str, door: DoorSettings, kinds: tuple[str, ...]) -> tuple[_Pty, str]:
        for kind in kinds:
            for index, reader in enumerate(door.readers):
                pty = self.ptys.get(f"{door_id}.{index}")
                if reader.kind == kind and pty is not None:
                    return pty, reader.kind
        raise SimulationError(f"door {door_id!r} has no simulated {'/'.join(kinds)} reader")

    def contact(self, door_id: str, opened: bool) -> None:
        """Open or close the door (the reed contact)."""
        pin = self._pin(door_id, "contact_pin")
        pin.drive_high() if opened else pin.drive_low()

    def press_exit(self, door_id: str) -> None:
        """Press and release the exit button."""
        pin = self._pin(door_id, "exit_button_pin")
        pin.drive_low()
        pin.drive_high()

    def walk(self, door_id: str, direction: str) -> None:
        """A person passes the counter beams: ``in`` breaks A then B, ``out`` B then A."""
        if direction not in ("in", "out"):
            raise SimulationError("walk is 'in' or 'out'")
        a, b = self._pin(door_id, "beam_a_pin"), self._pin(door_id, "beam_b_pin")
        first, second = (a, b) if direction == "in" else (b, a)
        for step in (first.drive_low, second.drive_low, first.drive_high, second.drive_high):
            step()
            self.sleep(BEAM_STEP_S)

    def fire(self, active: bool) -> None:
        """The fire panel raises or clears its alarm."""
        cfg = self.settings.fire
        if cfg.input_pin is None:
            raise SimulationError("no fire.input_pin configured")
        pin = self.factory.pin(cfg.input_pin)
        (pin.drive_low if active == cfg.active_low else pin.drive_high)()

    def panel(self, line: str, active: bool) -> None:
        """The intruder alarm panel's ``armed``, ``alarm`` or ``fault`` output (active low)."""
        panel = self.settings.building.panel
        number = None if panel is None else getattr(panel, f"{line}_pin", None)
        if number is None:
            raise SimulationError(f"no building.panel.{line}_pin configured")
        pin = self.factory.pin(number)
        (pin.drive_low if active else pin.drive_high)()

    def _pin(self, door_id: str, name: str) -> MockPin:
        number = getattr(self.door(door_id), name)
        if number is None:
            raise SimulationError(f"door {door_id!r} has no {name.removesuffix('_pin')}")
        return self.factory.pin(number)

    def handle(self, door_id: str, what: str, payload: bytes) -> None:
        """Play one ``sim/<door>/<input>`` message; bad ones raise SimulationError."""
        text = payload.decode("utf-8", "replace").strip().lower()
        if what == "contact" and text in ("open", "closed"):
            self.contact(door_id, text == "open")
        elif what == "exit":
            self.press_exit(door_id)
        elif what == "walk":
            self.walk(door_id, text)
        elif what == "fire" and text in ("on", "off"):
            self.fire(text == "on")
        elif what.startswith("panel_") and text in ("on", "off"):
            self.panel(what.removeprefix("panel_"), text == "on")
        elif what == "swipe":
            try:
                data = json.loads(payload)
                card, pin = str(data["card"]), data.get("pin")
            except (ValueError, KeyError, TypeError):
                raise SimulationError('swipe wants {"card": "...", "pin": "..."}') from None
            self.swipe(door_id, card, None if pin is None else str(pin))
        elif what == "pad":
            self.type_keys(door_id, text)
        else:
            raise SimulationError(f"unknown simulated input {what!r} = {text[:20]!r}")

    def close(self) -> None:
        """Close the pty masters (the readers see their ports go away)."""
        for pty in self.ptys.values():
            with contextlib.suppress(OSError):  # already closed by a test's unplug
                os.close(pty.master)
        self.ptys.clear()
