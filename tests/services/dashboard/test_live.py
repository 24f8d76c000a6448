"""The live hub: MQTT in, Server-Sent Events out (services/dashboard/live.py)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

from services.bus.client import MqttBus
from services.bus.topics import Topics
from services.core.events import Event, EventType
from services.dashboard.live import LiveHub
from services.settings import MqttSettings
from tests.conftest import Broker

TOPICS = Topics("aabent", "live")


def _parse(chunk: str) -> tuple[str, dict[str, object]]:
    lines = [line for line in chunk.splitlines() if line and not line.startswith("retry")]
    kind = lines[0].removeprefix("event: ")
    return kind, json.loads(lines[1].removeprefix("data: "))


async def _collect(
    hub: LiveHub, bus: MqttBus, messages: list[tuple[str, bytes]], want: int
) -> list[str]:
    stream = hub.stream(lifetime_s=10)
    chunks = [await anext(stream)]  # the snapshot; from here on we are subscribed
    for topic, payload in messages:
        await asyncio.to_thread(lambda t=topic, p=payload: bus.publish(t, p).wait(5))
    while len([c for c in chunks if not c.startswith("event: status")]) < want:
        chunks.append(await asyncio.wait_for(anext(stream), 5))
    await stream.aclose()
    return chunks


def test_state_and_events_from_the_broker_reach_a_browser_stream(mqtt_broker: Broker) -> None:
    settings = MqttSettings(port=mqtt_broker.port)
    hub = LiveHub(TOPICS, {"main": "Hovedindgang"}, feed_size=3)
    listen = MqttBus(settings, "live-test-hub", "dashboard", TOPICS)
    hub.attach(listen.subscribe)
    door = MqttBus(settings, "live-test-door", "door", TOPICS)
    for bus in (listen, door):
        bus.start()
        assert bus.wait_connected(5)
    seen: list[Event] = []
    hub.add_event_listener(seen.append)
    event = Event(EventType.ACCESS_GRANTED, "main", datetime.now(UTC), reason="granted")
    state = {"lock": "unlocked", "contact": "closed", "mode": "normal", "alarm": None}
    try:
        chunks = asyncio.run(
            _collect(
                hub,
                door,
                [
                    (TOPICS.door_state("main"), json.dumps(state).encode()),
                    (TOPICS.door_event("main"), event.to_json()),
                    (TOPICS.door_event("main"), b"not json"),
                    (TOPICS.occupancy, b'{"inside": 3, "capacity": 150}'),
                ],
                want=4,
            )
        )
    finally:
        listen.stop()
        door.stop()
    kinds = [_parse(c) for c in chunks[1:]]
    kinds = [k for k in kinds if k[0] != "status"]
    assert kinds[0] == ("door", {"door": "main", "name": "Hovedindgang", **state})
    assert kinds[1][0] == "event" and kinds[1][1]["id"] == event.id
    assert kinds[2] == ("occupancy", {"inside": 3, "capacity": 150})
    assert [e.id for e in seen] == [event.id]
    snap = hub.snapshot()
    assert snap["doors"]["main"]["lock"] == "unlocked"
    assert snap["feed"][0]["id"] == event.id
    assert hub.clients == 0  # closing the stream forgot the browser
