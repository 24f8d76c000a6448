"""A library system that accepts every connection and never says a word (real TCP, loopback).

Used by the shell tests and ``benchmarks/door_latency.py`` to keep a card's SIP2 lookup stuck
for its whole timeout.
"""

from __future__ import annotations

import socket
import threading


class SilentLibrary:
    """A TCP server on 127.0.0.1 that accepts and never answers."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.sock.getsockname()[1]
        self.conns: list[socket.socket] = []
        threading.Thread(target=self._accept, name="silent-library", daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                self.conns.append(self.sock.accept()[0])
            except OSError:  # closed
                return

    def close(self) -> None:
        """Stop listening and drop every connection."""
        self.sock.close()
        for conn in self.conns:
            conn.close()
