"""The recorder never stalls while the broker holds messages for it (issue 16).

The broker sends a manual-ack client at most ``max_inflight_messages`` unacknowledged messages;
if that many are in flight and their acknowledgements never reach it, it sends nothing more and
the connection stays healthy (pings answered). Here a relay between broker and recorder loses
the recorder's first acknowledgements (as one written to a connection that is going away, or
never written), on a broker allowing 10 in flight.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from services.bus.client import MqttBus
from services.bus.topics import Topics
from services.core.events import EventType
from services.recorder.batch import Outcome
from services.recorder.recorder import COMPONENT, Recorder
from services.store.recorder import EventRecord
from tests.conftest import Broker, free_port
from tests.municipality import Link
from tests.services.recorder.conftest import T0, event, make_settings, wait_until

WINDOW = 10
PUBACK = 0x40


@pytest.fixture
def small_window_broker(tmp_path: Path) -> Iterator[Broker]:
    """A Mosquitto that keeps at most ``WINDOW`` messages in flight to a client."""
    port = free_port()
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\n"
        f"max_inflight_messages {WINDOW}\nmax_queued_messages 100000\n"
    )
    broker = Broker(port=port, config=conf)
    broker.start()
    yield broker
    broker.stop()


def _read_packet(sock: socket.socket) -> bytes:
    """One MQTT control packet, whole (fixed header, remaining length, body)."""
    head = _exactly(sock, 1)
    length, shift, lead = 0, 0, bytearray(head)
    while True:
        byte = _exactly(sock, 1)
        lead += byte
        length |= (byte[0] & 0x7F) << shift
        shift += 7
        if not byte[0] & 0x80:
            return bytes(lead) + _exactly(sock, length)


def _exactly(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


class SwallowingLink:
    """A TCP relay to the broker that drops the first ``swallow`` PUBACKs its client sends
    (on the first connection only); everything else passes unchanged."""

    def __init__(self, target: int, swallow: int) -> None:
        self.target, self.left = target, swallow
        self.connections = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._socks: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target))
            self.connections += 1
            first = self.connections == 1
            self._socks += [client, upstream]
            threading.Thread(target=self._raw, args=(upstream, client), daemon=True).start()
            threading.Thread(
                target=self._filtered, args=(client, upstream, first), daemon=True
            ).start()

    def _raw(self, src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        self._close(src, dst)

    def _filtered(self, src: socket.socket, dst: socket.socket, first: bool) -> None:
        with contextlib.suppress(OSError, ConnectionError):
            while True:
                packet = _read_packet(src)
                if first and packet[0] & 0xF0 == PUBACK and self.left > 0:
                    self.left -= 1
                    continue  # sent by the client, never heard by the broker
                dst.sendall(packet)
        self._close(src, dst)

    def _close(self, *socks: socket.socket) -> None:
        for s in socks:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def close(self) -> None:
        self._listener.close()
        self._close(*self._socks)


def test_a_full_in_flight_window_of_lost_acknowledgements_does_not_stall_the_recorder(
    small_window_broker: Broker,
    sessions: sessionmaker[Session],
    site: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    link = SwallowingLink(small_window_broker.port, swallow=WINDOW)
    topics = Topics("aabent", site)
    door_settings = make_settings(site, small_window_broker.port)
    door = MqttBus(door_settings.mqtt, f"door-{site}", "door", topics)
    door.start()
    assert door.wait_connected(10)
    settings = make_settings(site, link.port, mqtt={"port": link.port, "stall_s": 1.0})
    bus = MqttBus(settings.mqtt, f"recorder-{site}", COMPONENT, topics,
                  persistent_session=True, manual_ack=True, reconnect_max_s=1)  # fmt: skip
    recorder = Recorder(settings, sessions, bus, clock=lambda: T0)
    recorder.start()
    bus.start()
    try:
        assert bus.wait_connected(10)
        sent = [event(EventType.OCCUPANCY_IN, inside=i) for i in range(WINDOW + 30)]
        for e in sent:
            assert door.publish(topics.door_event("main"), e.to_json()).wait(10)
        # The broker never hears the first WINDOW acknowledgements: it waits for them and holds
        # what follows. The recorder must notice and get it all.
        assert wait_until(lambda: recorder.stored == len(sent), timeout=20), recorder.counters()
        with sessions() as session:
            assert set(session.scalars(select(EventRecord.id))) == {e.id for e in sent}
        assert recorder.wait_idle(10)
        counters = recorder.counters()
        assert counters["stalls"] == 1 and counters["queued"] == 0, counters
        assert recorder.duplicates >= 1  # what was stored but not heard of came again
        assert any("delivered nothing" in r.getMessage() for r in caplog.records)
    finally:
        recorder.stop()
        bus.stop()
        door.stop()
        link.close()


class _Harness:
    """A door and a recorder on the small-window broker, the recorder's class chosen."""

    def __init__(
        self, broker: Broker, sessions: sessionmaker[Session], site: str, cls: type[Recorder]
    ) -> None:
        self.topics = Topics("aabent", site)
        settings = make_settings(site, broker.port, mqtt={"port": broker.port, "stall_s": 1.0})
        self.door = MqttBus(settings.mqtt, f"door-{site}", "door", self.topics)
        self.bus = MqttBus(settings.mqtt, f"recorder-{site}", COMPONENT, self.topics,
                           persistent_session=True, manual_ack=True, reconnect_max_s=1)  # fmt: skip
        self.recorder = cls(settings, sessions, self.bus, clock=lambda: T0)
        self.door.start()
        self.recorder.start()
        self.bus.start()
        assert self.door.wait_connected(10) and self.bus.wait_connected(10)

    def publish(self, topic: str, payload: bytes) -> None:
        assert self.door.publish(topic, payload).wait(10)

    def close(self) -> None:
        self.recorder.stop()
        self.bus.stop()
        self.door.stop()


def test_duplicates_refusals_and_malformed_messages_each_give_their_place_back(
    small_window_broker: Broker, sessions: sessionmaker[Session], site: str
) -> None:
    h = _Harness(small_window_broker, sessions, site, Recorder)
    try:
        again = event(EventType.OCCUPANCY_IN, inside=0)
        forged = event(EventType.ACTIVITY_CHECKIN, source="main")  # not a door's event
        for _ in range(3 * WINDOW):
            h.publish(h.topics.door_event("main"), again.to_json())
            h.publish(h.topics.door_event("main"), forged.to_json())
            h.publish(h.topics.door_event("main"), b"{oops")
        good = [event(EventType.OCCUPANCY_IN, inside=i) for i in range(1, 21)]
        for e in good:
            h.publish(h.topics.door_event("main"), e.to_json())
        assert wait_until(lambda: h.recorder.stored == 1 + len(good)), h.recorder.counters()
        assert h.recorder.duplicates == 3 * WINDOW - 1
        assert h.recorder.rejected == {"forbidden": 3 * WINDOW, "json": 3 * WINDOW}
        assert h.recorder.counters()["stalls"] == 0  # none of it held a place in the window
    finally:
        h.close()


class _FailsOnce(Recorder):
    """A recorder whose first accounting fails, as a bug after a commit would."""

    failed = False

    def _account(self, outcome: Outcome) -> None:
        if not _FailsOnce.failed:
            _FailsOnce.failed = True
            raise RuntimeError("a bug after the commit")
        super()._account(outcome)


def test_the_writer_goes_on_after_an_unexpected_error(
    small_window_broker: Broker,
    sessions: sessionmaker[Session],
    site: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR)
    _FailsOnce.failed = False
    h = _Harness(small_window_broker, sessions, site, _FailsOnce)
    try:
        first = event(EventType.OCCUPANCY_IN, inside=0)
        h.publish(h.topics.door_event("main"), first.to_json())
        assert wait_until(lambda: _FailsOnce.failed)
        later = [event(EventType.OCCUPANCY_IN, inside=i) for i in range(1, 3 * WINDOW)]
        for e in later:
            h.publish(h.topics.door_event("main"), e.to_json())

        def stored() -> int:
            with sessions() as session:
                return len(set(session.scalars(select(EventRecord.id))))

        assert wait_until(lambda: stored() == 3 * WINDOW), h.recorder.counters()
        assert any("writer failed" in r.getMessage() for r in caplog.records)
        assert h.recorder.wait_idle(10)
    finally:
        h.close()


def test_acknowledgements_of_an_old_connection_lose_nothing_across_reconnects(
    small_window_broker: Broker, sessions: sessionmaker[Session], site: str
) -> None:
    # The recorder's line is cut while it holds messages of the old connection: their acks are
    # not sent (the broker sends them again, DUP, on the new one), and nothing stalls.
    link = Link(small_window_broker.port)
    topics = Topics("aabent", site)
    door_settings = make_settings(site, small_window_broker.port)
    door = MqttBus(door_settings.mqtt, f"door-{site}", "door", topics)
    door.start()
    assert door.wait_connected(10)
    settings = make_settings(site, link.port, mqtt={"port": link.port, "stall_s": 1.0})
    bus = MqttBus(settings.mqtt, f"recorder-{site}", COMPONENT, topics,
                  persistent_session=True, manual_ack=True, reconnect_max_s=1)  # fmt: skip
    recorder = Recorder(settings, sessions, bus, clock=lambda: T0)
    recorder.start()
    bus.start()
    try:
        assert bus.wait_connected(10)
        sent = [event(EventType.OCCUPANCY_IN, inside=i) for i in range(300)]
        for n, e in enumerate(sent):
            door.publish(topics.door_event("main"), e.to_json())
            if n % 60 == 30:
                link.cut()
                time.sleep(0.05)
                link.restore()
        assert wait_until(lambda: recorder.stored == len(sent), timeout=30), recorder.counters()
        assert recorder.wait_idle(10)
        with sessions() as session:
            assert sorted(session.scalars(select(EventRecord.id))) == sorted(e.id for e in sent)
        assert bus.sessions > 1
    finally:
        recorder.stop()
        bus.stop()
        door.stop()
        link.close()
