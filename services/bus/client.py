"""The MQTT boundary: the one module that imports paho.

Everything else publishes bytes on contract topics through :class:`MqttBus` and receives
``(topic, payload)`` in plain callbacks. The bus keeps the things a broker restart would lose:
subscriptions, the ``online`` availability and the latest retained state of each topic are sent
again on every successful connect.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import struct
import sys
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from services.bus import presence
from services.bus.tls import tls_context
from services.bus.topics import Topics
from services.settings import MqttSettings
from services.settings.paths import read_secret

log = logging.getLogger(__name__)

MessageCallback = Callable[[str, bytes], None]
# (topic, payload, ack): the message is acknowledged to the broker when ack() is called.
AckedCallback = Callable[[str, bytes, Callable[[], None]], None]
ONLINE = b"online"
OFFLINE = b"offline"
_PUBACK = 0x40  # MQTT's PUBACK packet type; with a remaining length of 2 the same in 3.1.1 and 5


class _Client(mqtt.Client):
    """paho's client, reading its socket in large pieces.

    paho asks the socket for each message's first byte, then each byte of its length, then the
    rest: three or four system calls, and a wait in select, per message. Here each read takes
    what the socket holds (up to ``_READ_SIZE``) and paho's small reads are served from it;
    :meth:`loop_read` goes on while it holds data, since select cannot see it. A new connection
    (a new socket) starts with nothing buffered.
    """

    _READ_SIZE = 65536

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._read_buf = b""
        self._read_pos = 0
        self._read_sock: object = None

    def _buffered(self) -> bool:
        return self._read_sock is self._sock and self._read_pos < len(self._read_buf)

    def _sock_recv(self, bufsize: int) -> bytes:
        if not self._buffered():
            self._read_buf, self._read_pos = b"", 0
            self._read_sock = self._sock
            self._read_buf = super()._sock_recv(self._READ_SIZE)  # raises as paho expects
            if not self._read_buf:
                return b""  # the connection was closed
        start = self._read_pos
        self._read_pos = min(start + bufsize, len(self._read_buf))
        return self._read_buf[start : self._read_pos]

    def loop_read(self, max_packets: int = 1) -> MQTTErrorCode:
        """paho's read, repeated while messages wait in the buffer."""
        rc = super().loop_read(max_packets)
        while rc == MQTTErrorCode.MQTT_ERR_SUCCESS and self._sock is not None and self._buffered():
            rc = super().loop_read(1)
        return rc


class Ack:
    """The acknowledgement of one received message: call it, or hand many to
    :meth:`MqttBus.acknowledge` to send them together."""

    __slots__ = ("_bus", "mid", "qos", "session")

    def __init__(self, bus: MqttBus, mid: int, qos: int, session: int) -> None:
        self._bus, self.mid, self.qos, self.session = bus, mid, qos, session

    def __call__(self) -> None:
        self._bus._ack(self.mid, self.qos, self.session)


class Delivery:
    """One publish handed to the bus; ``acknowledged`` once the broker confirmed it (PUBACK).

    For QoS 0 there is no PUBACK: it counts as acknowledged once it has left the client.
    """

    __slots__ = ("_done", "_on_ack", "reason", "session", "topic")

    def __init__(self, topic: str, session: int, on_ack: Callable[[], None] | None) -> None:
        self.topic = topic
        self.session = session  # the connect count when published; see MqttBus.sessions
        self.reason: str | None = None  # the broker's reason code text once acknowledged
        self._done = threading.Event()
        self._on_ack = on_ack

    @property
    def acknowledged(self) -> bool:
        """True once the broker has acknowledged the message."""
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until acknowledged or ``timeout`` seconds passed; True if acknowledged."""
        return self._done.wait(timeout)

    def _acknowledge(self, reason: str) -> None:
        self.reason = reason
        self._done.set()  # set before notifying, so a woken waiter always sees it
        if self._on_ack is not None:
            try:
                self._on_ack()
            except Exception:
                log.exception("on_ack callback failed", extra={"topic": self.topic})


def read_password(settings: MqttSettings) -> str | None:
    """The broker password of ``settings``, read the one way secrets are read."""
    return read_secret(settings.password_file, "mqtt.password_file")


def connect_failure(
    settings: MqttSettings, exc: BaseException | None, *, closed: bool = False
) -> str:
    """Why a connection to the broker failed, said so that the setting to fix is named;
    ``closed``: the broker closed the connection before answering the CONNECT."""
    where = f"{settings.host}:{settings.port}"
    if closed:
        hint = (
            "the broker's TLS port? mqtt.tls_ca_file is not set, so this client speaks plain TCP"
            if not settings.tls
            else "is it the broker's MQTT port?"
        )
        return f"the broker at {where} closed the connection before accepting it ({hint})"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return (
            f"cannot connect to the broker at {where}: its certificate does not verify against "
            f"mqtt.tls_ca_file ({settings.tls_ca_file}): {exc.verify_message}"
        )
    if isinstance(exc, ssl.SSLError):
        hint = "" if settings.tls else " (mqtt.tls_ca_file is not set: this client speaks plain)"
        return f"cannot connect to the broker at {where}: TLS failed: {exc}{hint}"
    return f"cannot connect to the broker at {where}: {exc or 'connection failed'}"


class MqttBus:
    """A reconnecting MQTT client with last will, remembered state and re-subscription."""

    def __init__(
        self,
        settings: MqttSettings,
        client_id: str,
        component: str,
        topics: Topics,
        *,
        persistent_session: bool = False,
        manual_ack: bool = False,
        max_inflight: int = 1000,
        reconnect_max_s: int | None = None,
        answer_probes: bool = False,
    ) -> None:
        self.topics = topics
        self._settings = settings
        self._status_topic = topics.status(component)
        self._component = component
        self._answer_probes = answer_probes
        self._manual_ack = manual_ack
        self._client = self._make_client(client_id, persistent_session, manual_ack)
        self._client.max_inflight_messages_set(max_inflight)
        # Bounded to a few seconds (mqtt.reconnect_max_s): paho doubles its wait after every
        # failed try, and at its own default a broker back after a minute's outage waited ~30 s.
        max_delay = settings.reconnect_max_s if reconnect_max_s is None else reconnect_max_s
        self._client.reconnect_delay_set(min_delay=1, max_delay=max_delay)
        # Lock order: _state_lock, _subs_cond, paho's own locks, _ack_lock. on_publish runs
        # holding paho's lock, so _ack_lock is never held while calling into paho.
        self._state_lock = threading.Lock()
        self._subs_cond = threading.Condition()
        self._ack_lock = threading.Lock()
        self._unconfirmed: dict[int, list[str]] = {}  # SUBSCRIBE mid -> its filters
        self._waiting: dict[int, Delivery] = {}
        self._early_acks: dict[int, str] = {}
        self._subscriptions: dict[str, int] = {}
        self._states: dict[str, tuple[bytes, Delivery]] = {}
        self._connected = threading.Event()
        self._connect_listeners: list[Callable[[], None]] = []
        self._sessions = 0
        self._started = False
        self._connect_error: str | None = None
        self._answered = False  # a CONNACK came on the current connection
        # The delivery watch of a manual-ack bus (see _watch): when the broker last handed us a
        # message, when we last asked it for one, and whether our receiver still works on some.
        self._busy: Callable[[], bool] = lambda: False
        self._delivered_at = time.monotonic()
        self._probe_at: float | None = None
        self._stalls = 0
        self._watch_stop = threading.Event()
        self._watcher: threading.Thread | None = None

    def _make_client(
        self, client_id: str, persistent_session: bool, manual_ack: bool
    ) -> mqtt.Client:
        client = _Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            # A persistent session lets the broker queue QoS 1 messages while we are away
            # (the recorder wants that); the door controller has its outbox instead.
            clean_session=not persistent_session,
            protocol=mqtt.MQTTv311,
            # Manual acknowledgement: the broker keeps a message until the receiver says it is
            # safe (the recorder: committed), and sends it again if the receiver dies first.
            manual_ack=manual_ack,
        )
        password = read_password(self._settings)  # once: a new secret needs a restart anyway
        if self._settings.username is not None:
            client.username_pw_set(self._settings.username, password)
        context = tls_context(self._settings)
        if context is not None:
            client.tls_set_context(context)
        client.on_connect_fail = self._on_connect_fail
        client.will_set(self._status_topic, OFFLINE, qos=1, retain=True)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_subscribe = self._on_subscribe
        client.on_message = self._unmatched
        return client

    @property
    def connected(self) -> bool:
        """True while the broker has accepted our connection."""
        return self._connected.is_set()

    @property
    def sessions(self) -> int:
        """How many times a connection was accepted; grows by one on every reconnect."""
        return self._sessions

    @property
    def stalls(self) -> int:
        """How often the broker held messages back and the bus reconnected to get them."""
        return self._stalls

    def watch_busy(self, busy: Callable[[], bool]) -> None:
        """On a manual-ack bus: ``busy()`` says the receiver still holds messages it will
        acknowledge, so a quiet broker is waiting for us, not stuck. Called every
        ``mqtt.stall_s / 4`` from the watch thread, also to let the receiver check itself."""
        self._busy = busy

    def wait_connected(self, timeout: float | None = None) -> bool:
        """Block until connected with every subscription confirmed (SUBACK); False on timeout."""
        with self._subs_cond:
            return self._subs_cond.wait_for(self._ready, timeout)

    def _ready(self) -> bool:
        return self.connected and not self._unconfirmed

    def add_connect_listener(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` from the network thread after every successful connect."""
        self._connect_listeners.append(callback)

    def start(self) -> None:
        """Connect in the background; paho keeps reconnecting until :meth:`stop`."""
        if self._started:
            return
        self._started = True
        if self._answer_probes:
            # A unique component answers identity probes (services/bus/presence.py).
            since = datetime.now().astimezone()
            here = self.topics.presence(self._component, "here")

            def answer(_topic: str, nonce: bytes) -> None:
                self.publish(here, presence.answer(nonce, since))

            self.subscribe(self.topics.presence(self._component, "probe"), answer)
        s = self._settings
        self._client.connect_async(s.host, s.port, keepalive=s.keepalive)
        self._client.loop_start()
        if self._manual_ack:
            self._watch_stop.clear()
            self._watcher = threading.Thread(target=self._watch, name="mqtt-watch", daemon=True)
            self._watcher.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Say ``offline`` (retained), disconnect cleanly and stop the network thread."""
        if not self._started:
            return
        self._watch_stop.set()  # first: a probe's "online" must not follow our "offline"
        if self._watcher is not None:
            self._watcher.join(timeout)
            self._watcher = None
        if self.connected:
            self.publish(self._status_topic, OFFLINE, retain=True).wait(timeout)
        self._client.disconnect()
        self._client.loop_stop()
        self._connected.clear()
        with self._subs_cond:
            self._unconfirmed.clear()
        with self._ack_lock:
            self._waiting.clear()  # their PUBACKs can no longer arrive
            self._early_acks.clear()
        self._started = False

    def publish(
        self,
        topic: str,
        payload: bytes,
        *,
        qos: int = 1,
        retain: bool = False,
        on_ack: Callable[[], None] | None = None,
    ) -> Delivery:
        """Send ``payload``; while disconnected paho queues it and sends it after reconnecting.

        ``on_ack`` is called from the network thread once the broker has acknowledged.
        """
        delivery = Delivery(topic, self._sessions, on_ack)
        info = self._client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
            raise RuntimeError(f"{topic}: publish failed: {mqtt.error_string(info.rc)}")
        if qos == 0 and info.rc == MQTTErrorCode.MQTT_ERR_NO_CONN:
            return delivery  # paho drops QoS 0 while offline: it will never be acknowledged
        with self._ack_lock:
            # The PUBACK may already have been handled by the network thread.
            early = self._early_acks.pop(info.mid, None)
            if early is None:
                self._waiting[info.mid] = delivery
        if early is not None:
            delivery._acknowledge(early)
        return delivery

    def publish_state(self, topic: str, payload: bytes) -> Delivery:
        """Publish retained state and remember it, so every reconnect puts it back on the broker."""
        with self._state_lock:
            delivery = self.publish(topic, payload, retain=True)
            self._states[topic] = (payload, delivery)
        return delivery

    def subscribe(self, topic_filter: str, callback: MessageCallback, *, qos: int = 1) -> None:
        """Call ``callback(topic, payload)`` for every message matching ``topic_filter``."""

        def acked(topic: str, payload: bytes, ack: Callable[[], None]) -> None:
            callback(topic, payload)
            ack()  # handled: the broker need not keep it

        self.subscribe_acked(topic_filter, acked, qos=qos)

    def subscribe_acked(self, topic_filter: str, callback: AckedCallback, *, qos: int = 1) -> None:
        """Call ``callback(topic, payload, ack)``; on a ``manual_ack`` bus the broker keeps each
        message, and sends it again after a reconnect, until ``ack()`` is called (any thread).

        Acknowledge in the order the messages arrived, as MQTT asks. A callback that raises has
        its message acknowledged for it (it would fail again). On other buses paho acknowledges
        when the callback returns, and ``ack`` does nothing.
        """
        self._client.message_callback_add(topic_filter, self._guarded(callback))
        with self._state_lock:
            self._subscriptions[topic_filter] = qos
            # If not connected now, _on_connect will subscribe with everything remembered.
            if self.connected:
                self._subscribe_now([(topic_filter, qos)])

    def _subscribe_now(self, filters: list[tuple[str, int]]) -> None:
        # Held across the call, so the SUBACK cannot be handled before its mid is recorded.
        with self._subs_cond:
            rc, mid = self._client.subscribe(filters)
            if rc == MQTTErrorCode.MQTT_ERR_SUCCESS and mid is not None:
                self._unconfirmed[mid] = [f for f, _ in filters]
            # Otherwise the connection just dropped; the next connect subscribes again.

    def _unmatched(self, _client: mqtt.Client, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        # Left over from a subscription made before a restart: nobody wants it, so let it go.
        self._delivered()
        self._ack(message.mid, message.qos, self._sessions)

    def _delivered(self) -> None:
        self._delivered_at = time.monotonic()
        self._probe_at = None  # whatever we asked for, the broker is delivering

    def _watch(self) -> None:
        """Reconnect when the broker holds messages for us but sends none.

        The broker keeps at most ``max_inflight_messages`` unacknowledged messages in flight to
        us and queues the rest; should acknowledgements go missing (a bug, a lost packet, an
        acknowledgement dropped around a reconnect) the window stays full, the connection stays
        healthy and nothing more ever comes. Mosquitto 2.0.11 (Debian 12) can also lose count of
        its window by itself (its in-flight quota, fixed in 2.0.13). So, quiet for ``mqtt.stall_s``,
        the bus publishes its ``online`` status again: it is subscribed to it, so the broker owes it
        that message. If none at all arrives within ``mqtt.stall_s`` while the receiver has
        nothing left to acknowledge (``busy``), the window is stuck: the bus drops the
        connection. On the reconnect the broker counts its window afresh and sends everything
        unacknowledged again, which the receiver stores once (by event id) and acknowledges.
        """
        limit = self._settings.stall_s
        tick = limit / 4
        while not self._watch_stop.wait(tick):
            try:
                busy = self._busy()
            except Exception:
                log.exception("busy check failed")  # must not end the watch
                busy = True
            if not self.connected or not self._hears_itself():
                self._probe_at = None
                continue
            now = time.monotonic()
            probe = self._probe_at
            if probe is None:
                # Quiet for stall_s: a probe every stall_s at most, so an idle recorder stays
                # nearly silent (each probe is one retained message and one state row).
                if now - self._delivered_at >= limit and not busy:
                    self._probe_at = now  # before publishing: its echo may come at once
                    self.publish(self._status_topic, ONLINE, retain=True)
            elif self._delivered_at < probe and now - probe >= limit and not busy:
                self._stall(now - probe)

    def _hears_itself(self) -> bool:
        with self._state_lock:
            filters = list(self._subscriptions)
        return any(mqtt.topic_matches_sub(f, self._status_topic) for f in filters)

    def _stall(self, waited: float) -> None:
        self._stalls += 1
        self._probe_at = None
        log.warning(
            "the broker delivered nothing for %.0f s though it holds a message for us "
            "(stall %d): reconnecting, so it sends everything unacknowledged again",
            waited,
            self._stalls,
        )
        sock = self._client.socket()
        if isinstance(sock, socket.socket):  # an SSL socket is one too
            # The network thread sees the connection lost and reconnects as after any failure.
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def _ack(self, mid: int, qos: int, session: int) -> None:
        if not self._manual_ack:
            return
        if session != self._sessions or not self.connected:
            # It came on an earlier connection: the broker sends it again, and that copy is
            # acknowledged. An acknowledgement written now could even precede the next CONNECT.
            return
        self._client.ack(mid, qos)

    def acknowledge(self, acks: Iterable[Callable[[], None]]) -> None:
        """Call every ``ack`` in order; this bus's own QoS 1 acknowledgements go to the broker
        together, as one write, instead of one packet, wake-up and socket write each.

        What :meth:`_ack` skips (a message of an earlier connection) is skipped here too.
        """
        mids: list[int] = []
        for ack in acks:
            if isinstance(ack, Ack) and ack._bus is self and ack.qos == 1:
                if self._manual_ack and ack.session == self._sessions and self.connected:
                    mids.append(ack.mid)
                continue
            self._send_acks(mids)  # those before it first: acknowledgements keep their order
            mids = []
            ack()
        self._send_acks(mids)

    def _send_acks(self, mids: list[int]) -> None:
        if len(mids) == 1:
            self._client.ack(mids[0], 1)
        elif mids:
            # paho has no call for many acknowledgements; its packet queue takes any bytes to
            # write: here the PUBACKs back to back, each as paho's _send_puback builds it.
            packets = b"".join(struct.pack("!BBH", _PUBACK, 2, mid) for mid in mids)
            self._client._packet_queue(_PUBACK, packets, 0, 0)

    def _guarded(
        self, callback: AckedCallback
    ) -> Callable[[mqtt.Client, Any, mqtt.MQTTMessage], None]:
        def on_message(_client: mqtt.Client, _userdata: Any, message: mqtt.MQTTMessage) -> None:
            self._delivered()
            ack = Ack(self, message.mid, message.qos, self._sessions)
            try:
                callback(message.topic, bytes(message.payload), ack)
            except Exception:
                # A bad message or a bug in one handler must not stop the network thread, nor
                # hold a place in the broker's in-flight window until the next reconnect.
                log.exception("message handler failed", extra={"topic": message.topic})
                ack()

        return on_message

    def _on_connect(
        self,
        _client: mqtt.Client,
        _userdata: Any,
        _flags: mqtt.ConnectFlags,
        reason_code: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        self._answered = True
        if reason_code.is_failure:
            log.warning("broker refused the connection: %s", reason_code)
            self._connect_error = f"the broker refused the connection: {reason_code}"
            return
        self._connect_error = None
        with self._state_lock:
            self._sessions += 1
            log.info("connected to %s:%s", self._settings.host, self._settings.port)
            # Subscriptions first: the broker handles our packets in order, so whoever reacts to
            # "online" (a command, a simulated input) finds us subscribed.
            if self._subscriptions:
                self._subscribe_now(list(self._subscriptions.items()))
            self.publish(self._status_topic, ONLINE, retain=True)
            for topic, (payload, delivery) in list(self._states.items()):
                # A state still waiting for its PUBACK is re-sent by paho itself, in order;
                # sending it again here could let an older queued copy overtake it.
                if delivery.acknowledged:
                    self._states[topic] = (payload, self.publish(topic, payload, retain=True))
            # Last, so a waiter never sees "connected" before the subscriptions were sent.
            self._connected.set()
        with self._subs_cond:
            self._subs_cond.notify_all()
        for listener in self._connect_listeners:
            try:
                listener()
            except Exception:
                log.exception("connect listener failed")  # must not end the network thread

    def _on_connect_fail(self, _client: mqtt.Client, _userdata: Any) -> None:
        # paho calls this inside its ``except OSError`` around the connect, so the error is at
        # hand; logged when it changes, not on every retry. A TLS failure is a setting to fix
        # (an error); a broker that is away is a warning, the bus keeps trying.
        exc = sys.exc_info()[1]
        message = connect_failure(self._settings, exc)
        if message != self._connect_error:
            level = logging.ERROR if isinstance(exc, ssl.SSLError) else logging.WARNING
            log.log(level, "%s", message)
        self._connect_error = message

    @property
    def connect_error(self) -> str | None:
        """Why the last try to connect failed; None once connected."""
        return self._connect_error

    def _on_disconnect(
        self,
        _client: mqtt.Client,
        _userdata: Any,
        _flags: mqtt.DisconnectFlags,
        reason_code: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        self._connected.clear()
        with self._subs_cond:
            self._unconfirmed.clear()  # re-subscribed on the next connect
        log.info("disconnected from the broker: %s", reason_code)
        if not self._answered:
            # Closed before any CONNACK: most often plain MQTT sent to a TLS listener.
            message = connect_failure(self._settings, None, closed=True)
            if message != self._connect_error:
                log.error("%s", message)
            self._connect_error = message
        self._answered = False

    def _on_subscribe(
        self,
        _client: mqtt.Client,
        _userdata: Any,
        mid: int,
        reason_codes: list[ReasonCode],
        _properties: Properties | None,
    ) -> None:
        with self._subs_cond:
            filters = self._unconfirmed.pop(mid, [])
            self._subs_cond.notify_all()
        for topic_filter, code in zip(filters, reason_codes, strict=False):
            if code.is_failure:
                log.error("broker refused the subscription to %s: %s", topic_filter, code)

    def _on_publish(
        self,
        _client: mqtt.Client,
        _userdata: Any,
        mid: int,
        reason_code: ReasonCode,
        _properties: Properties,
    ) -> None:
        with self._ack_lock:
            delivery = self._waiting.pop(mid, None)
            if delivery is None:
                self._early_acks[mid] = str(reason_code)
        if delivery is not None:
            delivery._acknowledge(str(reason_code))
