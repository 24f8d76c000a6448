"""One running controller per identity: a lock on its data folder, and a probe of the broker.

A second ``aabent door`` on the same config would drive the same relays and write the same
outbox; a cloned Pi with the same ``site.controller`` would take over the first one's MQTT session
at every reconnect, so both flap. Either refuses to start with one line saying why (exit 2).
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from services.bus.client import read_password
from services.bus.presence import find_holder
from services.bus.topics import Topics
from services.settings import Settings

LOCK_FILE = "door.lock"


class IdentityTaken(Exception):
    """Another live controller has this data folder or this identity; the message says which."""


@contextmanager
def data_folder_lock(data_dir: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``data_dir`` (fcntl) for as long as the controller runs.

    The kernel drops the lock when the process ends, however it ends, so a crash never leaves
    a stale lock behind; the file keeps the holder's pid for the message.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o640)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 16).decode("ascii", "replace").strip() or "?"
        os.close(fd)
        raise IdentityTaken(
            f"another aabent door (pid {holder}) runs on the data folder {data_dir}; "
            "one controller per data folder"
        ) from None
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(fd)  # releases the lock; the file stays, removing it would race a new holder


def refuse_a_twin(settings: Settings, topics: Topics, client_id: str) -> None:
    """Raise :class:`IdentityTaken` when a live controller on the broker has this identity."""
    mqtt = settings.mqtt
    holder = find_holder(mqtt, read_password(mqtt), topics, settings.component, client_id)
    if holder is None:
        return
    raise IdentityTaken(
        f"{settings.component} of site {settings.site.id} is already online on "
        f"{mqtt.host}:{mqtt.port} (host {holder.host}, pid {holder.pid}, since {holder.since}): "
        "two controllers with one identity would take over each other's session; "
        "give this one its own site.controller"
    )
