"""The building's own gpiozero devices: light zones, equipment groups, the intruder alarm panel.

A light zone or an equipment group is a relay, or (``mqtt_topic``) a topic of the building
automation (Home Assistant, a BMS) that gets ``ON``/``OFF``, retained. The panel has an arm
output, a level (on = armed) or a pulse (one pulse toggles, as many panels' key-switch inputs
do), and its *armed*, *alarm* and *fault* outputs as inputs here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from gpiozero import DigitalInputDevice, OutputDevice
from gpiozero.pins import Factory

from services.settings import BuildingSettings
from services.settings.building import OutputSettings

log = logging.getLogger(__name__)

PanelLine = str  # "armed", "alarm" or "fault"
Publish = Callable[[str, bytes], None]


class BuildingDevices:
    """Every output and input of the building besides the doors."""

    def __init__(
        self,
        cfg: BuildingSettings,
        publish: Publish | None = None,
        pin_factory: Factory | None = None,
    ) -> None:
        self._publish = publish
        pf = pin_factory

        def relay(out: OutputSettings) -> OutputDevice | None:
            if out.pin is None:
                return None
            return OutputDevice(out.pin, active_high=out.active_high, pin_factory=pf)

        self._outputs: dict[tuple[str, str], tuple[OutputSettings, OutputDevice | None]] = {}
        for kind, group in (("lights", cfg.lights), ("equipment", cfg.equipment)):
            for name, out in group.items():
                self._outputs[kind, name] = (out, relay(out))
        self.panel = cfg.panel
        self.arm: OutputDevice | None = None
        self.inputs: dict[PanelLine, DigitalInputDevice] = {}
        if cfg.panel is not None:
            p = cfg.panel
            self.arm = OutputDevice(p.arm_pin, active_high=p.active_high, pin_factory=pf)
            for line, pin in (
                ("armed", p.armed_pin),
                ("alarm", p.alarm_pin),
                ("fault", p.fault_pin),
            ):
                if pin is not None:
                    # The panel's outputs are relay contacts to ground: pulled up, active low.
                    self.inputs[line] = DigitalInputDevice(
                        pin, pull_up=True, bounce_time=None, pin_factory=pf
                    )

    def set_output(self, kind: str, name: str, on: bool) -> None:
        """Switch a light zone or equipment group (a name the site lacks is ignored, logged)."""
        found = self._outputs.get((kind, name))
        if found is None:
            log.warning("building: no %s %r wired", kind, name)
            return
        cfg, device = found
        if device is not None:
            device.value = on
        elif cfg.mqtt_topic is not None and self._publish is not None:
            self._publish(cfg.mqtt_topic, b"ON" if on else b"OFF")

    def output_on(self, kind: str, name: str) -> bool | None:
        """A relay's level now (None for an MQTT output or an unknown name)."""
        found = self._outputs.get((kind, name))
        if found is None or found[1] is None:
            return None
        return bool(found[1].value)

    def set_panel(self, armed: bool, *, restore: bool = False) -> None:
        """Arm or disarm: hold the level, or give one pulse (the panel toggles).

        ``restore`` (at start) puts a level back as it was before the restart; a pulse panel
        kept its own state, and a pulse now would toggle it.
        """
        if self.arm is None or self.panel is None:
            return
        if self.panel.arm_mode == "level":
            self.arm.value = armed
        elif not restore:
            self.arm.blink(on_time=self.panel.pulse_s, off_time=0, n=1, background=True)

    def read_panel(self) -> dict[str, bool]:
        """The panel's inputs now."""
        return {line: bool(dev.is_active) for line, dev in self.inputs.items()}

    def bind(self, on_panel: Callable[[str, bool], None]) -> None:
        """Deliver every panel input change to ``on_panel(line, active)``."""
        for line, dev in self.inputs.items():
            dev.when_activated = lambda _d=None, line=line: on_panel(line, True)
            dev.when_deactivated = lambda _d=None, line=line: on_panel(line, False)

    def close(self) -> None:
        """Release the pins."""
        for _, device in self._outputs.values():
            if device is not None:
                device.close()
        if self.arm is not None:
            self.arm.close()
        for dev in self.inputs.values():
            dev.close()
