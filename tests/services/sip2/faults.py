"""A TCP proxy in front of the test ACS that breaks its traffic on demand.

The replies are the real server's; the proxy only does to them what networks and servers do:
closes the connection half-way through a reply, flips a checksum digit, holds a reply back, swaps
it for garbage, or garbles a request on its way in. With a TLS context it also terminates TLS,
as stunnel does in front of Koha and Evergreen.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
from dataclasses import dataclass


@dataclass
class Fault:
    """One pending fault: ``kind`` applied to the next ``count`` frames in its direction."""

    kind: str
    count: int = 1
    seconds: float = 0.0
    command: str | None = None  # only frames of this message ("30"); None: any


REPLY_FAULTS = {"close_mid_reply", "bad_checksum", "delay", "garbage", "silence"}
REQUEST_FAULTS = {"corrupt_request"}


class FaultProxy:
    """Listens on 127.0.0.1, forwards each connection to ``upstream`` port, applies faults."""

    def __init__(self, upstream: int, tls: ssl.SSLContext | None = None) -> None:
        self.upstream, self._tls = upstream, tls
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._open: list[socket.socket] = []
        self.requests: list[bytes] = []  # every request frame seen, for assertions
        self._stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def inject(
        self, kind: str, count: int = 1, seconds: float = 0.0, command: str | None = None
    ) -> None:
        """Apply ``kind`` to the next ``count`` replies (requests, for corrupt_request),
        or only to those of message ``command``."""
        assert kind in REPLY_FAULTS | REQUEST_FAULTS, kind
        with self._lock:
            self._faults.append(Fault(kind, count, seconds, command))

    def clear(self) -> None:
        """Forget pending faults: the network is healthy again."""
        with self._lock:
            self._faults.clear()

    def _take(self, kinds: set[str], frame: bytes) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                wanted = fault.command is None or frame.lstrip(b"\n").startswith(
                    fault.command.encode()
                )
                if fault.kind in kinds and wanted:
                    fault.count -= 1
                    if fault.count <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
                if self._tls is not None:
                    client = self._tls.wrap_socket(client, server_side=True)
                upstream = socket.create_connection(("127.0.0.1", self.upstream))
            except OSError:
                continue
            with self._lock:
                self._open += [client, upstream]
            for pump, args in (
                (self._pump_requests, (client, upstream)),
                (self._pump_replies, (upstream, client)),
            ):
                threading.Thread(target=pump, args=args, daemon=True).start()

    def _pump_requests(self, client: socket.socket, upstream: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := client.recv(65536):
                with self._lock:
                    self.requests.append(data)
                if self._take(REQUEST_FAULTS, data) is not None:
                    # Flip one bit in the body: the ACS's checksum check must catch it (96).
                    data = data[:3] + bytes([data[3] ^ 0x01]) + data[4:]
                upstream.sendall(data)
        self._close(client, upstream)

    def _pump_replies(self, upstream: socket.socket, client: socket.socket) -> None:
        buffer = b""
        with contextlib.suppress(OSError):
            while data := upstream.recv(65536):
                buffer += data
                while b"\r" in buffer:
                    frame, buffer = buffer.split(b"\r", 1)
                    if not self._forward(frame + b"\r", client, upstream):
                        return
        self._close(client, upstream)

    def _forward(self, frame: bytes, client: socket.socket, upstream: socket.socket) -> bool:
        fault = self._take(REPLY_FAULTS, frame)
        kind = fault.kind if fault else ""
        if kind == "close_mid_reply":
            client.sendall(frame[: len(frame) // 2])
            self._close(client, upstream)
            return False
        if kind == "silence":
            return True
        if kind == "delay":
            assert fault is not None
            time.sleep(fault.seconds)
        if kind == "bad_checksum":
            last = frame[-2:-1]
            frame = frame[:-2] + (b"0" if last != b"0" else b"1") + b"\r"
        if kind == "garbage":
            frame = b"\xff\xfe<html>502 Bad Gateway</html>\r"
        client.sendall(frame)
        return True

    def _close(self, *socks: socket.socket) -> None:
        for sock in socks:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()

    def drop_connections(self) -> None:
        """Close every proxied connection (as a server restart would)."""
        with self._lock:
            socks, self._open = self._open, []
        self._close(*socks)

    def stop(self) -> None:
        """Stop accepting and close everything."""
        self._stop.set()
        self._close(self._listener)
        self.drop_connections()


class SilentServer:
    """Accepts connections and reads requests but never answers: a hung library system."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._conns: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = self._listener.accept()
                self._conns.append(conn)
                threading.Thread(target=self._drain, args=(conn,), daemon=True).start()

    @staticmethod
    def _drain(conn: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while conn.recv(65536):
                pass

    def stop(self) -> None:
        """Close the listener and every connection."""
        for sock in [self._listener, *self._conns]:
            with contextlib.suppress(OSError):
                sock.close()
