"""The notify protocol speaks to a real datagram socket, as systemd's would."""

from __future__ import annotations

import socket
from pathlib import Path

from services.runtime.systemd_notify import notify, watchdog_interval


def test_notify_sends_the_state_to_the_socket(tmp_path: Path) -> None:
    path = str(tmp_path / "notify.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(path)
        assert notify("READY=1", {"NOTIFY_SOCKET": path})
        assert server.recv(64) == b"READY=1"


def test_notify_outside_systemd_does_nothing() -> None:
    assert notify("READY=1", {}) is False


def test_watchdog_pings_at_half_the_interval() -> None:
    assert watchdog_interval({"WATCHDOG_USEC": "10000000"}) == 5.0
    assert watchdog_interval({}) is None
