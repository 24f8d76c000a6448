"""Is a component's identity taken already? A probe on the broker, answered by the live holder.

Two processes with one client id take over each other's MQTT session every reconnect, and the
retained state flaps between them. A retained ``online`` cannot tell a live holder from a stale
one (the broker keeps it across its own restart, when no last will fires), so a component that
must be unique asks: it publishes a nonce on ``status/<component>/probe`` under a client id of
its own, and a live holder (an :class:`~services.bus.client.MqttBus` started with
``presence=True``) answers on ``status/<component>/here`` with that nonce, its host, pid and
start time. An answer within the timeout means the identity is taken.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import socket
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from services.bus.tls import tls_context
from services.bus.topics import Topics
from services.settings import MqttSettings

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 2.0  # a broker that does not take the probe by then is not asked
ANSWER_TIMEOUT_S = 1.0  # a live holder answers in milliseconds; a stuck one is no holder


@dataclass(frozen=True, slots=True)
class Holder:
    """The live process that answered for an identity."""

    host: str
    pid: int
    since: str


def answer(nonce: bytes, since: datetime) -> bytes:
    """The holder's answer to a probe carrying ``nonce``."""
    body = {
        "nonce": nonce.decode("ascii", "replace")[:64],
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "since": since.isoformat(),
    }
    return json.dumps(body).encode()


def _holder(payload: bytes, nonce: str) -> Holder | None:
    try:
        data: Any = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("nonce") != nonce:
        return None  # an answer to someone else's probe
    pid = data.get("pid")
    return Holder(
        str(data.get("host", "?"))[:64],
        pid if isinstance(pid, int) else 0,
        str(data.get("since", "?"))[:40],
    )


def find_holder(
    settings: MqttSettings,
    password: str | None,
    topics: Topics,
    component: str,
    client_id: str,
    answer_timeout: float = ANSWER_TIMEOUT_S,
) -> Holder | None:
    """The live process holding ``component`` on the broker, or None.

    None also when the broker cannot be reached within :data:`CONNECT_TIMEOUT_S`: a door
    controller must run without its broker, so an unreachable broker is no reason to refuse.
    """
    nonce = secrets.token_hex(8)
    found: list[Holder] = []
    asked = threading.Event()  # the probe is out (or cannot be sent: then nobody is asked)
    done = threading.Event()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"{client_id}-probe-{nonce[:6]}")
    if settings.username is not None:
        client.username_pw_set(settings.username, password)
    context = tls_context(settings)
    if context is not None:
        client.tls_set_context(context)
    here, probe = topics.presence(component, "here"), topics.presence(component, "probe")

    def on_connect(c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            log.warning("identity probe refused by the broker: %s", reason)
            asked.set()
            done.set()
            return
        c.subscribe(here, qos=1)

    def on_subscribe(c: mqtt.Client, _u: Any, _mid: int, codes: list[Any], _p: Any) -> None:
        if any(code.is_failure for code in codes):
            log.warning("identity probe may not read %s; not checked", here)
            done.set()
        else:
            c.publish(probe, nonce.encode(), qos=1)
        asked.set()

    def on_message(_c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        holder = _holder(bytes(message.payload), nonce)
        if holder is not None:
            found.append(holder)
            done.set()

    client.on_connect, client.on_subscribe, client.on_message = on_connect, on_subscribe, on_message
    try:
        client.connect_async(settings.host, settings.port, keepalive=settings.keepalive)
        client.loop_start()
        if asked.wait(CONNECT_TIMEOUT_S):
            done.wait(answer_timeout)
    finally:
        client.disconnect()
        client.loop_stop()
    return found[0] if found else None
