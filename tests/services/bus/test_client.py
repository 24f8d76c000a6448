"""The MQTT boundary against a real Mosquitto: connect, publish, subscribe, last will, state."""

from __future__ import annotations

import logging
import os
import pwd
import signal
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from services.bus.client import MqttBus
from services.bus.topics import Topics
from services.settings import MqttSettings
from tests.conftest import Broker, free_port

TIMEOUT = 10.0


class Inbox:
    """Collects (topic, payload) and lets a test wait for a condition on them."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self._cond = threading.Condition()

    def __call__(self, topic: str, payload: bytes) -> None:
        with self._cond:
            self.messages.append((topic, payload))
            self._cond.notify_all()

    def wait_for(self, predicate: Callable[[list[tuple[str, bytes]]], bool]) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: predicate(self.messages), TIMEOUT)

    def payloads(self, topic: str) -> list[bytes]:
        with self._cond:
            return [p for t, p in self.messages if t == topic]


def settings_for(broker: Broker, **extra: Any) -> MqttSettings:
    return MqttSettings(host=broker.host, port=broker.port, keepalive=5, **extra)


@pytest.fixture
def topics() -> Topics:
    # A site of its own, so retained messages of other tests on the shared broker do not leak in.
    return Topics("aabent", f"t{uuid.uuid4().hex[:10]}")


@pytest.fixture
def make_bus() -> Iterator[Callable[..., MqttBus]]:
    buses: list[MqttBus] = []

    def make(broker: Broker, topics: Topics, component: str, **kwargs: object) -> MqttBus:
        settings = kwargs.pop("settings", None) or settings_for(broker)
        bus = MqttBus(
            settings,  # type: ignore[arg-type]
            client_id=f"{component}-{uuid.uuid4().hex[:6]}",
            component=component,
            topics=topics,
            reconnect_max_s=1,
            **kwargs,  # type: ignore[arg-type]
        )
        buses.append(bus)
        return bus

    yield make
    for bus in buses:
        bus.stop()


def latest(inbox: Inbox, topic: str, value: bytes) -> bool:
    got = inbox.payloads(topic)
    return bool(got) and got[-1] == value


def test_connects_and_announces_itself_online_retained(
    mqtt_broker: Broker, topics: Topics, make_bus: Callable[..., MqttBus]
) -> None:
    door = make_bus(mqtt_broker, topics, "door")
    assert not door.connected
    door.start()
    assert door.wait_connected(TIMEOUT)
    assert door.connected

    # An observer that connects later still sees "online": it is retained.
    inbox = Inbox()
    observer = make_bus(mqtt_broker, topics, "observer")
    observer.subscribe(topics.status("door"), inbox)
    observer.start()
    assert inbox.wait_for(lambda m: (topics.status("door"), b"online") in m)


def test_publish_is_acknowledged_and_delivered(
    mqtt_broker: Broker, topics: Topics, make_bus: Callable[..., MqttBus]
) -> None:
    inbox = Inbox()
    observer = make_bus(mqtt_broker, topics, "observer")
    observer.subscribe(topics.all_door_events, inbox)
    observer.start()
    door = make_bus(mqtt_broker, topics, "door")
    door.start()
    assert observer.wait_connected(TIMEOUT) and door.wait_connected(TIMEOUT)

    delivery = door.publish(topics.door_event("main"), b'{"n":1}')
    assert delivery.wait(TIMEOUT)
    assert delivery.acknowledged
    assert inbox.wait_for(lambda m: (topics.door_event("main"), b'{"n":1}') in m)


def test_publish_while_broker_is_down_is_sent_after_it_returns(
    own_broker: Broker, topics: Topics, make_bus: Callable[..., MqttBus]
) -> None:
    door = make_bus(own_broker, topics, "door")
    door.start()
    assert door.wait_connected(TIMEOUT)
    own_broker.stop()
    delivery = door.publish(topics.door_event("main"), b"queued")
    assert not delivery.wait(0.2)
    own_broker.start()
    assert delivery.wait(TIMEOUT)


def test_subscription_with_wildcard_gets_topic_and_payload(
    mqtt_broker: Broker, topics: Topics, make_bus: Callable[..., MqttBus]
) -> None:
    inbox = Inbox()
    door = make_bus(mqtt_broker, topics, "door")
    door.subscribe(topics.all_door_commands, inbox)  # before start: subscribed on connect
    door.start()
    staff = make_bus(mqtt_broker, topics, "staff")
    staff.start()
    assert door.wait_connected(TIMEOUT) and staff.wait_connected(TIMEOUT)
    # After start: subscribed at once.
    sims = Inbox()
    door.subscribe(topics.all_sim_inputs, sims)
    assert door.wait_connected(TIMEOUT)  # returns once the broker confirmed the subscription

    staff.publish(topics.door_command("east"), b"cmd-east").wait(TIMEOUT)
    staff.publish(topics.sim("east", "contact"), b"open").wait(TIMEOUT)
    assert inbox.wait_for(lambda m: m == [(topics.door_command("east"), b"cmd-east")])
    assert sims.wait_for(lambda m: m == [(topics.sim("east", "contact"), b"open")])


def test_exception_in_a_callback_is_logged_with_topic_and_does_not_stop_the_loop(
    mqtt_broker: Broker,
    topics: Topics,
    make_bus: Callable[..., MqttBus],
    caplog: pytest.LogCaptureFixture,
) -> None:
    inbox = Inbox()

    def explode(topic: str, payload: bytes) -> None:
        if payload == b"bad":
            raise ValueError("cannot handle this")
        inbox(topic, payload)

    door = make_bus(mqtt_broker, topics, "door")
    door.subscribe(topics.door_command("main"), explode)
    door.start()
    assert door.wait_connected(TIMEOUT)
    with caplog.at_level(logging.ERROR, logger="services.bus.client"):
        door.publish(topics.door_command("main"), b"bad").wait(TIMEOUT)
        door.publish(topics.door_command("main"), b"good").wait(TIMEOUT)
        assert inbox.wait_for(lambda m: m == [(topics.door_command("main"), b"good")])
    failures = [r for r in caplog.records if r.exc_info]
    assert failures, "the exception was not logged"
    assert failures[0].topic == topics.door_command("main")  # type: ignore[attr-defined]
    assert "cannot handle this" in caplog.text
    assert door.connected


def test_a_manually_acknowledged_message_stays_with_the_broker_until_acknowledged(
    mqtt_broker: Broker, topics: Topics
) -> None:
    def session_bus() -> MqttBus:  # the same client id: the broker resumes its session
        return MqttBus(
            settings_for(mqtt_broker),
            "receiver-" + topics.site,
            "receiver",
            topics,
            persistent_session=True,
            manual_ack=True,
            reconnect_max_s=1,
        )

    first, seen = Inbox(), session_bus()

    def handle(topic: str, payload: bytes, ack: Callable[[], None]) -> None:
        first(topic, payload)
        if payload == b"bad":
            raise ValueError("a handler that breaks on it")  # acknowledged for it: no loop
        if payload == b"done":
            ack()

    seen.subscribe_acked(topics.all_door_events, handle)
    seen.start()
    sender = MqttBus(settings_for(mqtt_broker), "sender-" + topics.site, "door", topics)
    sender.start()
    assert seen.wait_connected(TIMEOUT) and sender.wait_connected(TIMEOUT)
    for payload in (b"kept", b"bad", b"done"):
        assert sender.publish(topics.door_event("main"), payload).wait(TIMEOUT)
    assert first.wait_for(lambda m: len(m) == 3)
    seen.stop()  # as if it died before storing "kept"

    again, resumed = Inbox(), session_bus()
    resumed.subscribe(topics.all_door_events, again)
    resumed.start()
    try:
        assert again.wait_for(lambda m: m == [(topics.door_event("main"), b"kept")])
        sender.publish(topics.door_event("main"), b"after").wait(TIMEOUT)
        assert again.wait_for(lambda m: len(m) == 2)
        assert again.payloads(topics.door_event("main")) == [b"kept", b"after"]
    finally:
        resumed.stop()
        sender.stop()


def test_a_burst_arrives_whole_in_order_and_acknowledged_together_is_not_sent_again(
    mqtt_broker: Broker, topics: Topics
) -> None:
    # The bus reads its socket in large pieces (many messages, or part of a large one, per
    # read) and sends a batch's acknowledgements as one write (MqttBus.acknowledge).
    def session_bus() -> MqttBus:
        return MqttBus(
            settings_for(mqtt_broker),
            "burst-" + topics.site,
            "receiver",
            topics,
            persistent_session=True,
            manual_ack=True,
            reconnect_max_s=1,
        )

    big = b"x" * 200_000  # larger than one read: it arrives over several
    sent = [str(i).encode() for i in range(1500)]
    sent[700] = big
    received: list[bytes] = []
    waiting: list[Callable[[], None]] = []
    cond = threading.Condition()

    def handle(_topic: str, payload: bytes, ack: Callable[[], None]) -> None:
        with cond:
            received.append(payload)
            if len(received) <= len(sent) - 10:  # the last ten not committed when it stopped
                waiting.append(ack)
            cond.notify_all()

    def acknowledger() -> None:  # as the recorder's writer: what has come, together
        while True:
            with cond:
                cond.wait_for(lambda: waiting or len(received) == len(sent), TIMEOUT)
                batch, waiting[:] = list(waiting), []
                if not batch and len(received) == len(sent):
                    return
            seen.acknowledge(batch)
            time.sleep(0.005)

    seen = session_bus()
    seen.subscribe_acked(topics.all_door_events, handle)
    seen.start()
    sender = MqttBus(settings_for(mqtt_broker), "bsender-" + topics.site, "door", topics)
    sender.start()
    assert seen.wait_connected(TIMEOUT) and sender.wait_connected(TIMEOUT)
    worker = threading.Thread(target=acknowledger)
    worker.start()
    deliveries = [sender.publish(topics.door_event("main"), p) for p in sent]
    assert all(d.wait(TIMEOUT) for d in deliveries)
    worker.join(TIMEOUT)
    assert received == sent
    time.sleep(0.5)  # the acknowledgements reach the broker before the goodbye
    seen.stop()

    again, resumed = Inbox(), session_bus()
    resumed.subscribe(topics.all_door_events, again)
    resumed.start()
    try:
        assert again.wait_for(lambda m: len(m) >= 10)
        time.sleep(0.5)  # nothing more comes
        assert again.payloads(topics.door_event("main")) == sent[-10:]
    finally:
        resumed.stop()
        sender.stop()


def test_clean_stop_leaves_offline_retained(
    mqtt_broker: Broker, topics: Topics, make_bus: Callable[..., MqttBus]
) -> None:
    door = make_bus(mqtt_broker, topics, "door")
    door.start()
    assert door.wait_connected(TIMEOUT)
    door.stop()
    assert not door.connected

    inbox = Inbox()
    observer = make_bus(mqtt_broker, topics, "observer")
    observer.subscribe(topics.status("door"), inbox)
    observer.start()
    assert inbox.wait_for(lambda m: m == [(topics.status("door"), b"offline")])


CHILD = textwrap.dedent(
    """
    import sys, time
    from services.bus.client import MqttBus
    from services.bus.topics import Topics
    from services.settings import MqttSettings
    port, site = int(sys.argv[1]), sys.argv[2]
    settings = MqttSettings(port=port, keepalive=5)
    bus = MqttBus(settings, "door-child", "door", Topics("aabent", site))
    bus.start()
    assert bus.wait_connected(10)
    print("connected", flush=True)
    time.sleep(60)
    """
)


def test_killed_process_gets_offline_from_its_last_will(
    mqtt_broker: Broker, topics: Topics, make_bus: Callable[..., MqttBus]
) -> None:
    inbox = Inbox()
    observer = make_bus(mqtt_broker, topics, "observer")
    observer.subscribe(topics.status("door"), inbox)
    observer.start()
    assert observer.wait_connected(TIMEOUT)

    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(mqtt_broker.port), topics.site],
        stdout=subprocess.PIPE,
        cwd=Path(__file__).parents[3],
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline() == b"connected\n"
        assert inbox.wait_for(lambda m: latest(inbox, topics.status("door"), b"online"))
        os.kill(child.pid, signal.SIGKILL)  # no clean disconnect: only the will can tell
        assert inbox.wait_for(lambda m: latest(inbox, topics.status("door"), b"offline"))
    finally:
        child.kill()
        child.wait()


def test_retained_state_is_put_back_after_a_broker_restart(
    own_broker: Broker, topics: Topics, make_bus: Callable[..., MqttBus]
) -> None:
    door = make_bus(own_broker, topics, "door")
    commands = Inbox()
    door.subscribe(topics.door_command("main"), commands)
    door.start()
    assert door.wait_connected(TIMEOUT)
    assert door.publish_state(topics.door_state("main"), b'{"lock":"locked"}').wait(TIMEOUT)

    sessions = door.sessions
    own_broker.restart()  # no persistence: the broker forgets every retained message
    assert _wait(lambda: door.sessions > sessions)
    assert door.wait_connected(TIMEOUT)

    inbox = Inbox()
    observer = make_bus(own_broker, topics, "observer")
    observer.subscribe(topics.door_state("main"), inbox)
    observer.subscribe(topics.status("door"), inbox)
    observer.start()
    assert inbox.wait_for(lambda m: (topics.door_state("main"), b'{"lock":"locked"}') in m)
    assert inbox.wait_for(lambda m: (topics.status("door"), b"online") in m)

    # The subscription came back too.
    assert observer.wait_connected(TIMEOUT)
    observer.publish(topics.door_command("main"), b"after restart").wait(TIMEOUT)
    assert commands.wait_for(lambda m: (topics.door_command("main"), b"after restart") in m)


def test_latest_state_set_while_offline_wins_after_reconnect(
    own_broker: Broker, topics: Topics, make_bus: Callable[..., MqttBus]
) -> None:
    door = make_bus(own_broker, topics, "door")
    door.start()
    assert door.wait_connected(TIMEOUT)
    own_broker.stop()
    assert _wait(lambda: not door.connected)
    door.publish_state(topics.occupancy, b'{"inside":1}')
    last = door.publish_state(topics.occupancy, b'{"inside":2}')
    own_broker.start()
    assert last.wait(TIMEOUT)

    inbox = Inbox()
    observer = make_bus(own_broker, topics, "observer")
    observer.subscribe(topics.occupancy, inbox)
    observer.start()
    assert inbox.wait_for(lambda m: m == [(topics.occupancy, b'{"inside":2}')])


def test_refused_connection_is_not_marked_connected_and_credentials_come_from_file(
    tmp_path: Path,
    topics: Topics,
    make_bus: Callable[..., MqttBus],
    caplog: pytest.LogCaptureFixture,
) -> None:
    passwords = tmp_path / "passwd"
    subprocess.run(
        ["mosquitto_passwd", "-b", "-c", str(passwords), "door", "s3cret"],
        check=True,
        capture_output=True,
    )
    port = free_port()
    config = tmp_path / "mosquitto.conf"
    config.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous false\npassword_file {passwords}\n"
        # Run as ourselves: as root, Mosquitto would switch to a user that cannot read tmp_path.
        f"user {pwd.getpwuid(os.geteuid()).pw_name}\n"
    )
    broker = Broker(port=port, config=config)
    broker.start()
    try:
        refused = make_bus(broker, topics, "intruder")
        refusals = threading.Event()
        refused.add_connect_listener(refusals.set)  # must never fire: connect was refused
        refused.start()
        secret = tmp_path / "mqtt.secret"
        secret.write_text("s3cret\n")
        settings = settings_for(broker, username="door", password_file=secret)
        door = make_bus(broker, topics, "door", settings=settings)
        door.start()
        assert door.wait_connected(TIMEOUT)
        assert _wait(lambda: "broker refused the connection: Not authorized" in caplog.text)
        assert not refused.connected
        assert not refusals.is_set()
    finally:
        broker.stop()


def test_unreadable_password_file_is_a_config_error_naming_it(
    tmp_path: Path, topics: Topics
) -> None:
    from services.settings import ConfigError

    missing = tmp_path / "nope.secret"
    with pytest.raises(ConfigError, match=r"mqtt\.password_file: .*nope\.secret"):
        MqttBus(MqttSettings(username="door", password_file=missing), "c", "door", topics)


def _wait(predicate: Callable[[], bool], timeout: float = TIMEOUT) -> bool:
    """Wait for a state the bus offers no event for (a test-only convenience)."""
    done = threading.Event()
    while not done.wait(0.02):
        if predicate():
            return True
        timeout -= 0.02
        if timeout <= 0:
            return False
    return False


def test_after_a_long_outage_the_bus_is_back_within_its_bounded_back_off(
    own_broker: Broker, topics: Topics
) -> None:
    """paho doubles its wait after every failed try; the settings bound it (5 s by default)."""
    settings = settings_for(own_broker)
    assert settings.reconnect_max_s == 5
    bus = MqttBus(settings, f"door-{uuid.uuid4().hex[:6]}", "door-1", topics)  # as the door does
    bus.start()
    try:
        assert bus.wait_connected(TIMEOUT)
        own_broker.stop()
        time.sleep(16)  # unbounded, paho would now wait 16 s before its next try
        own_broker.start()
        back = time.monotonic()
        assert bus.wait_connected(settings.reconnect_max_s + 3)
        print(f"reconnected {time.monotonic() - back:.1f} s after the broker returned")
    finally:
        bus.stop()


def test_subscriptions_reach_the_broker_before_online_is_announced(
    tmp_path: Path, topics: Topics, make_bus: Callable[..., MqttBus]
) -> None:
    """Whoever reacts to "online" (a test, Home Assistant, the dashboard) must find the component
    subscribed. The broker handles one client's packets in order, so its log shows the order."""
    log = tmp_path / "mosquitto.log"
    config = tmp_path / "mosquitto.conf"
    port = free_port()
    config.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\nlog_dest file {log}\nlog_type all\n"
        # Run as ourselves: as root, Mosquitto would switch to a user that cannot write tmp_path.
        f"user {pwd.getpwuid(os.geteuid()).pw_name}\n",
        encoding="utf-8",
    )
    broker = Broker(port=port, config=config)
    broker.start()
    try:
        bus = make_bus(broker, topics, "door")
        bus.subscribe(f"{topics.base}/door/probe", Inbox())
        bus.start()
        assert bus.wait_connected(TIMEOUT)
        bus.stop()
    finally:
        broker.stop()
    lines = log.read_text(encoding="utf-8").splitlines()
    subscribed = next(i for i, line in enumerate(lines) if "Received SUBSCRIBE from door-" in line)
    online = next(
        i
        for i, line in enumerate(lines)
        if "Received PUBLISH from door-" in line and f"'{topics.status('door')}'" in line
    )
    assert subscribed < online
