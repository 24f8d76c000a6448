"""Home Assistant MQTT discovery: every door, contact, alarm and counter, without configuration.

Pure builders of ``<prefix>/<component>/<node_id>/<object_id>/config`` payloads (Home Assistant's
MQTT integration, "discovery messages"), plus :func:`publish_discovery`, which sends them
retained. Entities read our own retained state topics. A door's entities are available while
*its own* controller is (``status/door-<controller>``, whose last will says ``offline``), so one
Pi that stops greys out its doors only; the site's occupancy and opening state stay available
while any controller is (Home Assistant's ``availability`` list and ``availability_mode``).

The lock can be commanded: a door command needs a fresh ``ts`` and a unique UUID ``id``
(services/core/commands.py refuses replays and stale commands), which a fixed payload cannot carry.
Home Assistant renders the lock's ``command_template`` at the moment of the command with
``value`` = ``payload_lock``/``payload_unlock``, so the template writes ``ts`` with ``now()`` and a
version-4-shaped UUID from Jinja's ``random`` (16 bits at a time: Home Assistant's sandbox allows
no ``range`` above 100,000). "Unlock" is a ``pulse``: the door unlocks for its own unlock time and
relocks, as for a patron; a longer hold stays a dashboard command, where staff give a reason.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from services.bus.client import Delivery, MqttBus
from services.bus.topics import Topics
from services.settings import Settings, door_component

ONLINE, OFFLINE = "online", "offline"
MANUFACTURER = "aabent"
_HEX16 = "(range(65536) | random)"
UUID_TEMPLATE = (
    "{{ '%04x%04x-%04x-4%03x-%04x-%04x%04x%04x' | format("
    f"{_HEX16}, {_HEX16}, {_HEX16}, (range(4096) | random), (range(16384) | random) + 32768, "
    f"{_HEX16}, {_HEX16}, {_HEX16}) }}}}"
)
COMMAND_TEMPLATE = (
    '{"id": "' + UUID_TEMPLATE + '", "ts": "{{ now().isoformat() }}", '
    '"action": "{{ value }}", "by": "homeassistant", "reason": "Home Assistant"}'
)


def node_id(site: str) -> str:
    """The discovery node of a site: one Home Assistant device per branch."""
    return f"aabent_{site}"


def config_topic(prefix: str, component: str, site: str, object_id: str) -> str:
    """``<prefix>/<component>/<node_id>/<object_id>/config``."""
    return f"{prefix}/{component}/{node_id(site)}/{object_id}/config"


def _availability(topics: Topics, controllers: list[str]) -> list[dict[str, str]]:
    return [
        {
            "topic": topics.status(door_component(c)),
            "payload_available": ONLINE,
            "payload_not_available": OFFLINE,
        }
        for c in controllers
    ]


def _common(
    settings: Settings, topics: Topics, object_id: str, name: str, controllers: list[str]
) -> dict[str, Any]:
    site = settings.site
    return {
        "unique_id": f"{node_id(site.id)}_{object_id}",
        "name": name,
        "availability": _availability(topics, controllers),
        # A door follows its one controller; the site's figures whichever controller is up.
        "availability_mode": "all" if len(controllers) == 1 else "any",
        "device": {
            "identifiers": [node_id(site.id)],
            "name": site.name,
            "manufacturer": MANUFACTURER,
            "model": "door controller",
        },
    }


def door_configs(settings: Settings, topics: Topics, door: str) -> dict[str, dict[str, Any]]:
    """Lock, contact and alarm of one door, by config topic."""
    prefix, site = settings.recorder.discovery_prefix, settings.site.id
    label = (settings.doors[door].name or door) if door in settings.doors else door
    state = topics.door_state(door)
    own = [settings.controller_of(door)] if door in settings.doors else [settings.site.controller]
    lock = _common(settings, topics, f"{door}_lock", f"{label} lås", own) | {
        "state_topic": state,
        "value_template": "{{ value_json.lock }}",
        "state_locked": "locked",
        "state_unlocked": "unlocked",
        "command_topic": topics.door_command(door),
        "command_template": COMMAND_TEMPLATE,
        "payload_lock": "lock",
        "payload_unlock": "pulse",
        "qos": 1,
    }
    contact = _common(settings, topics, f"{door}_contact", f"{label} dør", own) | {
        "device_class": "door",
        "state_topic": state,
        "value_template": "{{ value_json.contact }}",
        "payload_on": "open",
        "payload_off": "closed",
    }
    alarm = _common(settings, topics, f"{door}_alarm", f"{label} alarm", own) | {
        "device_class": "problem",
        "state_topic": state,
        "value_template": "{{ 'ON' if value_json.alarm or value_json.fire else 'OFF' }}",
        "json_attributes_topic": state,
        "json_attributes_template": "{{ {'alarm': value_json.alarm, 'fire': value_json.fire} "
        "| tojson }}",
    }
    return {
        config_topic(prefix, "lock", site, f"{door}_lock"): lock,
        config_topic(prefix, "binary_sensor", site, f"{door}_contact"): contact,
        config_topic(prefix, "binary_sensor", site, f"{door}_alarm"): alarm,
    }


def site_configs(settings: Settings, topics: Topics) -> dict[str, dict[str, Any]]:
    """Occupancy and opening state of the site, by config topic."""
    prefix, site = settings.recorder.discovery_prefix, settings.site.id
    every = settings.controllers
    occupancy = _common(settings, topics, "occupancy", "Personer i huset", every) | {
        "state_topic": topics.occupancy,
        "value_template": "{{ value_json.inside }}",
        "unit_of_measurement": "personer",
        "state_class": "measurement",
        "icon": "mdi:account-group",
        "json_attributes_topic": topics.occupancy,
    }
    opening = _common(settings, topics, "opening", "Åbningstilstand", every) | {
        "state_topic": topics.opening,
        "value_template": "{{ value_json.state }}",
        "device_class": "enum",
        "options": ["staffed", "self-service", "closed"],
        "json_attributes_topic": topics.opening,
    }
    return {
        config_topic(prefix, "sensor", site, "occupancy"): occupancy,
        config_topic(prefix, "sensor", site, "opening"): opening,
    }


def building_configs(settings: Settings, topics: Topics) -> dict[str, dict[str, Any]]:
    """The evening's phase, the alarm panel, each light zone and equipment group, by topic.

    All read the retained ``building`` state; they follow the controller that runs the evening.
    """
    b = settings.building
    if not b.enabled:
        return {}
    prefix, site = settings.recorder.discovery_prefix, settings.site.id
    own = [settings.site.controller]
    state = topics.building
    out: dict[str, dict[str, Any]] = {}
    out[config_topic(prefix, "sensor", site, "building_phase")] = _common(
        settings, topics, "building_phase", "Aftenens forløb", own
    ) | {
        "state_topic": state,
        "value_template": "{{ value_json.phase }}",
        "device_class": "enum",
        "options": [
            "open",
            "closing",
            "last_entry",
            "sweep",
            "arming",
            "armed",
            "disarming",
            "closed",
        ],
        "json_attributes_topic": state,
        "json_attributes_template": "{{ {'next': value_json.next} | tojson }}",
    }
    if b.panel is not None:
        for line, name, device_class in (
            ("armed", "Indbrudsalarm tilkoblet", "lock"),
            ("alarm", "Indbrudsalarm", "safety"),
            ("fault", "Alarmcentral fejl", "problem"),
        ):
            object_id = f"panel_{line}"
            # The lock class reads "unlocked" for ON: armed is shown as locked (OFF) instead.
            on, off = ("OFF", "ON") if line == "armed" else ("ON", "OFF")
            template = f"{{{{ '{on}' if value_json.panel.{line} else '{off}' }}}}"
            out[config_topic(prefix, "binary_sensor", site, object_id)] = _common(
                settings, topics, object_id, name, own
            ) | {"device_class": device_class, "state_topic": state, "value_template": template}
    for kind, names, label, device_class in (
        ("lights", b.lights, "Lys", "light"),
        ("equipment", b.equipment, "Udstyr", "power"),
    ):
        for name in names:
            object_id = f"{kind}_{name}"
            template = f"{{{{ 'ON' if value_json.{kind}.get('{name}') else 'OFF' }}}}"
            out[config_topic(prefix, "binary_sensor", site, object_id)] = _common(
                settings, topics, object_id, f"{label} {name}", own
            ) | {"device_class": device_class, "state_topic": state, "value_template": template}
    return out


def discovery_messages(settings: Settings) -> dict[str, dict[str, Any]]:
    """Every discovery config of the site, by topic (doors from ``settings.doors``)."""
    topics = Topics(settings.mqtt.prefix, settings.site.id)
    out = site_configs(settings, topics) | building_configs(settings, topics)
    for door in settings.doors:
        out |= door_configs(settings, topics, door)
    return out


def encode(config: Mapping[str, Any]) -> bytes:
    """The retained payload of one config."""
    return json.dumps(config, ensure_ascii=False, separators=(",", ":")).encode()


def publish_discovery(bus: MqttBus, settings: Settings) -> list[Delivery]:
    """Publish every config retained; the bus sends them again after each reconnect."""
    return [
        bus.publish_state(topic, encode(config))
        for topic, config in discovery_messages(settings).items()
    ]
