"""systemd's notify protocol (READY=1, WATCHDOG=1, STOPPING=1), without a dependency.

The protocol is one datagram to the socket named in $NOTIFY_SOCKET (sd_notify(3)); outside
systemd the variable is unset and every call is a no-op.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable, Mapping


def notify(state: str, environ: Mapping[str, str] | None = None) -> bool:
    """Send ``state`` to systemd; False when not running under a notify-type unit."""
    addr = (os.environ if environ is None else environ).get("NOTIFY_SOCKET")
    if not addr:
        return False
    if addr.startswith("@"):
        addr = "\0" + addr[1:]  # abstract namespace socket
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.sendto(state.encode(), addr)
    return True


def watchdog_interval(environ: Mapping[str, str] | None = None) -> float | None:
    """Half the unit's WatchdogSec in seconds, or None when no watchdog is armed."""
    usec = (os.environ if environ is None else environ).get("WATCHDOG_USEC")
    return int(usec) / 2e6 if usec and usec.isdigit() else None


def start_watchdog(healthy: Callable[[], bool], stop: threading.Event) -> threading.Thread | None:
    """Ping the watchdog while ``healthy()``; a hung controller then gets restarted by systemd."""
    interval = watchdog_interval()
    if interval is None:
        return None

    def run() -> None:
        while not stop.wait(interval):
            if healthy():
                notify("WATCHDOG=1")

    thread = threading.Thread(target=run, name="watchdog", daemon=True)
    thread.start()
    return thread
