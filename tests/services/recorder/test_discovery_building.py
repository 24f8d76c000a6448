"""Home Assistant discovery of the building: phase, panel, light zones and equipment groups."""

from __future__ import annotations

from jinja2.sandbox import ImmutableSandboxedEnvironment

from hardware.core import effects as fx
from services.recorder.discovery import discovery_messages
from tests.hardware.evening_rig import at, build, building_settings, run_until, state

NODE = "homeassistant/{}/aabent_demo/{}/config"


def render(template: str, value: object) -> str:
    return ImmutableSandboxedEnvironment().from_string(template).render(value_json=value)


def test_the_building_gets_its_phase_panel_lights_and_equipment() -> None:
    configs = discovery_messages(building_settings())
    building = {
        t for t in configs if "building" in t or "panel" in t or "lights" in t or "equipment" in t
    }
    assert building == {
        NODE.format("sensor", "building_phase"),
        NODE.format("binary_sensor", "panel_armed"),
        NODE.format("binary_sensor", "panel_alarm"),
        NODE.format("binary_sensor", "panel_fault"),
        NODE.format("binary_sensor", "lights_ground"),
        NODE.format("binary_sensor", "lights_first"),
        NODE.format("binary_sensor", "equipment_public_pcs"),
        NODE.format("binary_sensor", "equipment_kiosk"),
    }
    assert all(configs[t]["state_topic"] == "aabent/demo/building" for t in building)


def test_without_the_evening_there_is_no_building_entity() -> None:
    configs = discovery_messages(building_settings(enabled=False))
    assert not any("building" in t or "panel" in t for t in configs)


def test_the_templates_read_the_state_the_controller_publishes() -> None:
    configs = discovery_messages(building_settings())
    rig = build()
    run_until(rig, at(rig, 22, 0, 1))  # armed, lights off
    armed = dict(state(rig))
    assert render(configs[NODE.format("sensor", "building_phase")]["value_template"], armed) == (
        "armed"
    )
    panel = configs[NODE.format("binary_sensor", "panel_armed")]
    assert panel["device_class"] == "lock"
    assert render(panel["value_template"], armed) == "OFF"  # "locked": armed
    ground = configs[NODE.format("binary_sensor", "lights_ground")]["value_template"]
    assert render(ground, armed) == "OFF"
    morning = build(start=at(rig, 6, 55, days=1))
    run_until(morning, at(rig, 6, 55, 2, days=1))
    opened = dict(state(morning))
    assert render(ground, opened) == "ON"
    assert render(panel["value_template"], opened) == "ON"
    assert not [e for e in morning.effects if isinstance(e, fx.SetPanel) and e.armed]
