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
    while len([c for c in chunks if not c.startswith(("event: status", "event: link"))]) < want:
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
    kinds = [k for k in kinds if k[0] not in ("status", "link")]
    assert kinds[0] == ("door", {"door": "main", "name": "Hovedindgang", **state})
    assert kinds[1][0] == "event" and kinds[1][1]["id"] == event.id
    assert kinds[2] == ("occupancy", {"inside": 3, "capacity": 150})
    assert [e.id for e in seen] == [event.id]
    snap = hub.snapshot()
    assert snap["doors"]["main"]["lock"] == "unlocked"
    assert snap["feed"][0]["id"] == event.id
    assert hub.clients == 0  # closing the stream forgot the browser


def _kinds(chunks: list[str]) -> list[str]:
    return [_parse(c)[0] for c in chunks]


def test_a_stream_ends_within_a_second_of_its_session_ending() -> None:
    hub = LiveHub(TOPICS, {"main": "Hovedindgang"}, feed_size=3)
    valid = [True]

    async def still_valid() -> bool:
        return valid[0]

    async def watch() -> tuple[list[str], float]:
        loop = asyncio.get_running_loop()
        stream = hub.stream(lifetime_s=30, still_valid=still_valid)
        chunks = [await anext(stream)]
        await asyncio.sleep(0.5)
        valid[0] = False  # logged out elsewhere
        ended = loop.time()
        chunks += [chunk async for chunk in stream]
        return chunks, loop.time() - ended

    chunks, took = asyncio.run(watch())
    assert _kinds(chunks)[-1] == "ended"
    assert took < 1.0
    assert hub.clients == 0


def test_the_link_beat_says_when_the_broker_is_away_and_doors_are_stale() -> None:
    now = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)
    up = [True]
    hub = LiveHub(
        TOPICS,
        {"main": "Hovedindgang", "back": "Bagdør"},
        feed_size=3,
        connected=lambda: up[0],
        door_components={"main": "door-1", "back": "door-1"},
        wall=lambda: now,
    )
    fresh = {"lock": "locked", "updated": "2026-12-01T19:59:50+00:00"}
    old = {"lock": "locked", "updated": "2026-12-01T19:50:00+00:00"}
    hub.on_message(TOPICS.door_state("main"), json.dumps(fresh).encode())
    hub.on_message(TOPICS.door_state("back"), json.dumps(old).encode())
    link = hub.link()
    assert link["broker"] is True
    assert link["doors"]["main"] == {"age_s": 10.0, "stale": False, "component": "door-1"}
    assert link["doors"]["back"]["stale"] is True  # ten minutes without a word
    hub.on_message(TOPICS.status("door-1"), b"offline")
    assert hub.link()["doors"]["main"]["stale"] is True  # its controller's last will
    hub.on_message(TOPICS.status("door-1"), b"online")
    up[0] = False
    assert hub.link()["broker"] is False and hub.link()["doors"]["main"]["stale"] is True

    async def first_beat() -> list[str]:
        stream = hub.stream(lifetime_s=5)
        chunks = [await anext(stream), await anext(stream)]
        await stream.aclose()
        return chunks

    chunks = asyncio.run(first_beat())
    assert _parse(chunks[1]) == ("link", hub.link())
    assert json.loads(chunks[0].split("data: ", 1)[1])["link"]["broker"] is False


def test_each_branch_s_messages_reach_only_the_browsers_watching_that_branch() -> None:
    hub = LiveHub(TOPICS, {"main": "Hovedindgang"}, feed_size=3)
    annex = Topics("aabent", "annex")
    event = Event(EventType.DOOR_TAILGATING, "front", datetime.now(UTC))

    async def watch() -> tuple[list[str], list[str]]:
        own, other = hub.stream(10, site="live"), hub.stream(10, site="annex")
        mine, theirs = [await anext(own)], [await anext(other)]
        hub.on_message(annex.door_state("front"), b'{"lock": "locked"}')
        hub.on_message(annex.door_event("front"), event.to_json())
        hub.on_message("elsewhere/annex/door/front/state", b'{"lock": "unlocked"}')
        while len([c for c in theirs if not c.startswith("event: link")]) < 3:
            theirs.append(await asyncio.wait_for(anext(other), 5))
        await asyncio.sleep(0.1)
        await own.aclose()
        await other.aclose()
        return mine, theirs

    mine, theirs = asyncio.run(watch())
    kinds = [k for k in _kinds(theirs) if k != "link"]
    assert kinds == ["snapshot", "door", "event"]
    assert "front" not in mine[0]
    assert hub.snapshot("annex")["doors"] == {"front": {"name": "front", "lock": "locked"}}
    assert hub.snapshot("annex")["tailgating"] == 1
    assert hub.snapshot()["doors"] == {"main": {"name": "Hovedindgang"}}
    assert hub.snapshot()["feed"] == []
