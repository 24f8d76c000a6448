"""Home Assistant discovery: the configs, the lock's command template, and retained publishing."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from jinja2.sandbox import ImmutableSandboxedEnvironment

from services.bus.client import MqttBus
from services.bus.topics import Topics
from services.core.commands import Action, Command, SeenIds, parse_command
from services.recorder.discovery import COMMAND_TEMPLATE, discovery_messages, publish_discovery
from tests.conftest import Broker
from tests.services.recorder.conftest import make_settings

DOORS = {
    "main": {"name": "Hovedindgang", "lock_pin": 17},
    "basement": {"lock_pin": 16, "entrance": False},
}
SETTINGS = make_settings("glostrup", doors=DOORS)
CPH = ZoneInfo("Europe/Copenhagen")


def test_every_door_gets_a_lock_a_contact_and_an_alarm_and_the_site_two_sensors() -> None:
    configs = discovery_messages(SETTINGS)
    node = "homeassistant/{}/aabent_glostrup/{}/config"
    assert set(configs) == {
        node.format("lock", "main_lock"),
        node.format("binary_sensor", "main_contact"),
        node.format("binary_sensor", "main_alarm"),
        node.format("lock", "basement_lock"),
        node.format("binary_sensor", "basement_contact"),
        node.format("binary_sensor", "basement_alarm"),
        node.format("sensor", "occupancy"),
        node.format("sensor", "opening"),
    }
    ids = [c["unique_id"] for c in configs.values()]
    assert len(set(ids)) == len(ids)
    for config in configs.values():
        assert config["availability"] == [
            {
                "topic": "aabent/glostrup/status/door-1",
                "payload_available": "online",
                "payload_not_available": "offline",
            }
        ]
        assert config["device"]["identifiers"] == ["aabent_glostrup"]
        assert config["device"]["name"] == "Testbibliotek"


def test_the_lock_and_the_contact_read_the_retained_door_state() -> None:
    configs = discovery_messages(SETTINGS)
    lock = configs["homeassistant/lock/aabent_glostrup/main_lock/config"]
    assert lock["name"] == "Hovedindgang lås"
    assert lock["state_topic"] == "aabent/glostrup/door/main/state"
    assert lock["command_topic"] == "aabent/glostrup/door/main/command"
    assert (lock["state_locked"], lock["state_unlocked"]) == ("locked", "unlocked")
    contact = configs["homeassistant/binary_sensor/aabent_glostrup/basement_contact/config"]
    assert contact["device_class"] == "door" and contact["name"] == "basement dør"
    assert (contact["payload_on"], contact["payload_off"]) == ("open", "closed")
    alarm = configs["homeassistant/binary_sensor/aabent_glostrup/main_alarm/config"]
    assert alarm["device_class"] == "problem"


def _render_value(template: str, state: dict[str, object]) -> str:
    env = ImmutableSandboxedEnvironment()
    return env.from_string(template).render(value_json=state)


def test_value_templates_turn_our_state_json_into_home_assistant_states() -> None:
    configs = discovery_messages(SETTINGS)
    door = {"lock": "unlocked", "contact": "open", "alarm": "held_open", "fire": False}
    t = "homeassistant/{}/aabent_glostrup/{}/config"
    assert _render_value(configs[t.format("lock", "main_lock")]["value_template"], door) == (
        "unlocked"
    )
    contact = configs[t.format("binary_sensor", "main_contact")]["value_template"]
    assert _render_value(contact, door) == "open"
    alarm = configs[t.format("binary_sensor", "main_alarm")]["value_template"]
    assert _render_value(alarm, door) == "ON"
    assert _render_value(alarm, door | {"alarm": None}) == "OFF"
    assert _render_value(alarm, door | {"alarm": None, "fire": True}) == "ON"
    occupancy = configs[t.format("sensor", "occupancy")]["value_template"]
    assert _render_value(occupancy, {"inside": 12, "capacity": 150}) == "12"


def _render_command(value: str, now: datetime) -> bytes:
    # Home Assistant renders command templates in an immutable sandbox with now() available.
    env = ImmutableSandboxedEnvironment()
    env.globals["now"] = lambda: now
    return env.from_string(COMMAND_TEMPLATE).render(value=value).encode()


def test_the_lock_commands_home_assistant_renders_are_accepted_by_the_door() -> None:
    lock = discovery_messages(SETTINGS)["homeassistant/lock/aabent_glostrup/main_lock/config"]
    assert lock["command_template"] == COMMAND_TEMPLATE
    now = datetime(2026, 3, 2, 21, 15, tzinfo=CPH)
    seen = SeenIds()
    answers = [
        parse_command(
            _render_command(lock[payload], now),
            door="main",
            now=now + timedelta(seconds=1),
            max_age_s=10,
            seen=seen,
        )
        for payload in ("payload_lock", "payload_unlock", "payload_unlock")
    ]
    assert all(isinstance(a, Command) for a in answers), answers
    commands = [a for a in answers if isinstance(a, Command)]
    assert [c.action for c in commands] == [Action.LOCK, Action.PULSE, Action.PULSE]
    assert len({c.id for c in commands}) == 3  # fresh ids: the door's replay guard lets them in
    assert all(c.by == "homeassistant" and c.ts == now for c in commands)


def test_discovery_is_published_retained_for_home_assistant_to_find(mqtt_broker: Broker) -> None:
    settings = make_settings("glostrup", mqtt_broker.port, doors=DOORS)
    topics = Topics("aabent", "glostrup")
    server = MqttBus(settings.mqtt, "discovery-server", "recorder", topics)
    server.start()
    assert server.wait_connected(10)
    assert all(d.wait(10) for d in publish_discovery(server, settings))
    server.stop()
    seen: dict[str, dict[str, object]] = {}
    done = threading.Event()
    expected = discovery_messages(settings)

    def on_message(topic: str, payload: bytes) -> None:
        seen[topic] = json.loads(payload)
        if len(seen) == len(expected):
            done.set()

    home_assistant = MqttBus(settings.mqtt, "home-assistant", "ha", topics)
    home_assistant.subscribe("homeassistant/+/aabent_glostrup/+/config", on_message)
    home_assistant.start()
    try:
        assert done.wait(10)  # subscribed after the publisher left: retained
    finally:
        home_assistant.stop()
    assert seen == expected


def test_each_door_follows_its_own_controller_and_the_site_any_controller() -> None:
    doors = {
        "main": {"lock_pin": 17, "controller": "entrance"},
        "basement": {"lock_pin": 16, "controller": "cellar"},
        "side": {"lock_pin": 18},  # site.controller, "1"
    }
    configs = discovery_messages(make_settings("glostrup", doors=doors))

    def topics_of(object_id: str, component: str = "lock") -> list[str]:
        config = configs[f"homeassistant/{component}/aabent_glostrup/{object_id}/config"]
        return [a["topic"] for a in config["availability"]]

    base = "aabent/glostrup/status/"
    assert topics_of("main_lock") == [base + "door-entrance"]
    assert topics_of("main_contact", "binary_sensor") == [base + "door-entrance"]
    assert topics_of("basement_alarm", "binary_sensor") == [base + "door-cellar"]
    assert topics_of("side_lock") == [base + "door-1"]
    occupancy = configs["homeassistant/sensor/aabent_glostrup/occupancy/config"]
    assert [a["topic"] for a in occupancy["availability"]] == [
        base + "door-entrance",
        base + "door-cellar",
        base + "door-1",
    ]
    assert occupancy["availability_mode"] == "any"
