"""Transports: how a SIP2 frame reaches the library system and its reply comes back.

Two adapters behind one small interface, chosen by ``[sip2] transport``:

- :class:`TcpTransport` — raw SIP2 on a TCP stream, optionally inside TLS, as Koha, Evergreen and
  FOLIO speak it: one long-lived connection, a 93 login, CR-terminated frames.
- :class:`FbsHttpsTransport` — FBS's SIP2-over-HTTPS: every frame POSTed in the ``sip`` envelope
  (:mod:`services.sip2.fbs`) over one kept-alive HTTPS connection.

Both take the time they may spend as a parameter of each call and turn socket errors into
:mod:`services.sip2.errors`; neither knows what the frames mean.
"""

from __future__ import annotations

import contextlib
import http.client
import logging
import socket
import ssl
import time
from collections.abc import Callable
from typing import Protocol
from urllib.parse import urlsplit

from services.sip2 import fbs
from services.sip2.errors import ConnectionLost, ReplyError, Sip2Timeout, Sip2Unavailable
from services.sip2.messages import CR, MAX_FRAME, frame_end, has_trailer

log = logging.getLogger(__name__)


class Transport(Protocol):
    """Carries one request frame and returns one reply frame (CR-terminated bytes)."""

    @property
    def session(self) -> bool:
        """True for a SIP2 session (93 login, AY/AZ error detection); False for FBS HTTPS."""
        ...

    @property
    def is_open(self) -> bool:
        """Whether a connection is up (a request will not need to connect first)."""
        ...

    def open(self, timeout: float) -> None:
        """Connect within ``timeout`` seconds; raises Sip2Unavailable."""
        ...

    def exchange(self, frame: bytes, timeout: float) -> bytes:
        """Send ``frame``, return the next reply frame within ``timeout`` seconds."""
        ...

    def unsolicited(self) -> int:
        """Bytes that arrived since the last reply without being asked for (read and dropped)."""
        ...

    def close(self) -> None:
        """Drop the connection (the next request reconnects)."""
        ...


class TcpTransport:
    """SIP2 over a TCP stream, TLS when ``tls`` is a context (stunnel-style ACS front ends)."""

    session = True

    def __init__(
        self,
        host: str,
        port: int,
        *,
        tls: ssl.SSLContext | None = None,
        max_frame: int = MAX_FRAME,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.host, self.port, self._tls = host, port, tls
        self._where = f"{host}:{port}"
        self._max_frame = max_frame
        self._monotonic = monotonic
        self._sock: socket.socket | None = None
        self._buffer = bytearray()

    @property
    def is_open(self) -> bool:
        """Whether the stream is connected."""
        return self._sock is not None

    def open(self, timeout: float) -> None:
        """Connect (and shake hands, for TLS) within ``timeout``."""
        self.close()
        try:
            sock = socket.create_connection((self.host, self.port), timeout=timeout)
            # Small request/reply frames: without NODELAY, Nagle's algorithm adds delayed-ACK waits.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self._tls is not None:
                sock = self._tls.wrap_socket(sock, server_hostname=self.host)
        except TimeoutError:
            raise Sip2Timeout(f"no connection to {self._where} in {timeout:.2f} s") from None
        except ssl.SSLError as exc:
            raise Sip2Unavailable(f"TLS with {self._where} failed: {exc.reason}") from None
        except OSError as exc:
            why = exc.strerror or exc
            raise Sip2Unavailable(f"cannot connect to {self._where}: {why}") from None
        self._sock = sock
        self._buffer.clear()

    def exchange(self, frame: bytes, timeout: float) -> bytes:
        """Send one frame and read the next reply frame; closes the stream on any failure.

        A reply ends where :func:`~services.sip2.messages.frame_end` says: with error detection
        (the request carries AY/AZ) only at the CR after the reply's trailer.
        """
        if self._sock is None:
            raise ConnectionLost("not connected")
        deadline = self._monotonic() + timeout
        self._buffer.clear()
        trailer = has_trailer(frame)
        try:
            self._sock.settimeout(max(timeout, 0.001))
            self._sock.sendall(frame)
            return self._read_frame(self._sock, deadline, trailer)
        except TimeoutError:
            partial = CR in self._buffer and trailer
            self.close()
            why = " (part of a reply came, without the AY/AZ trailer error detection needs)"
            raise Sip2Timeout(
                f"no reply from {self._where} in {timeout:.2f} s{why if partial else ''}"
            ) from None
        except OSError as exc:
            self.close()
            raise ConnectionLost(f"connection to {self._where}: {exc}") from None
        except Sip2Unavailable:
            self.close()
            raise

    def unsolicited(self) -> int:
        """Read what arrived since the last reply (a late tail of it, a stray frame) and drop it."""
        count = len(self._buffer.strip(b"\r\n"))
        self._buffer.clear()
        if self._sock is None:
            return count
        try:
            self._sock.setblocking(False)
            while chunk := self._sock.recv(65536):
                count += len(chunk.strip(b"\r\n"))
            self.close()  # the server hung up (recv returned nothing): nothing to reuse
        except (BlockingIOError, InterruptedError, ssl.SSLWantReadError):
            pass  # nothing more: the stream is quiet
        except OSError:
            self.close()
        return count

    def _read_frame(self, sock: socket.socket, deadline: float, trailer: bool) -> bytes:
        while True:
            end = frame_end(self._buffer, trailer=trailer)
            if end is not None:
                frame = bytes(self._buffer[:end])
                del self._buffer[:end]
                return frame
            if len(self._buffer) > self._max_frame:
                raise ConnectionLost(f"{len(self._buffer)} bytes without a frame end: not SIP2")
            remaining = deadline - self._monotonic()
            if remaining <= 0:
                raise TimeoutError
            sock.settimeout(remaining)
            chunk = sock.recv(65536)
            if not chunk:
                where = "in the middle of a reply" if self._buffer else "before replying"
                raise ConnectionLost(f"{self._where} closed the connection {where}")
            self._buffer += chunk

    def close(self) -> None:
        """Close the stream; safe to call twice."""
        sock, self._sock = self._sock, None
        self._buffer.clear()
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.close()


class FbsHttpsTransport:
    """FBS SIP2-over-HTTPS: one POST per frame on a kept-alive HTTPS connection."""

    session = False

    def __init__(
        self,
        url: str,
        login: str,
        password: str,
        *,
        tls: ssl.SSLContext | None = None,
        charset: str = "utf-8",
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme != "https" or not parts.hostname:
            raise ValueError(f"{url!r}: the FBS endpoint must be an https:// URL")
        self.url = url
        self._host, self._port = parts.hostname, parts.port or 443
        self._path = parts.path or "/"
        self._login, self._password = login, password
        self._tls = tls or ssl.create_default_context()
        self._charset = charset
        self._conn: http.client.HTTPSConnection | None = None

    @property
    def is_open(self) -> bool:
        """Whether an HTTPS connection is kept."""
        return self._conn is not None

    def open(self, timeout: float) -> None:
        """Open the HTTPS connection (TCP + TLS) within ``timeout``."""
        self.close()
        conn = http.client.HTTPSConnection(
            self._host, self._port, timeout=timeout, context=self._tls
        )
        try:
            conn.connect()
        except TimeoutError:
            conn.close()
            raise Sip2Timeout(f"no connection to {self._host} in {timeout:.2f} s") from None
        except OSError as exc:
            conn.close()
            raise Sip2Unavailable(f"cannot connect to {self._host}: {exc}") from None
        self._conn = conn

    def exchange(self, frame: bytes, timeout: float) -> bytes:
        """POST the frame in its envelope; return the reply frame (CR-terminated)."""
        if self._conn is None:
            raise ConnectionLost("not connected")
        message = frame.rstrip(b"\r\n").decode(self._charset)
        body = fbs.envelope(message, self._login, self._password)
        try:
            if self._conn.sock is not None:
                self._conn.sock.settimeout(max(timeout, 0.001))
            self._conn.request("POST", self._path, body, _HEADERS)
            response = self._conn.getresponse()
            data = response.read()
        except TimeoutError:
            self.close()
            raise Sip2Timeout(f"no answer from {self._host} in {timeout:.2f} s") from None
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            raise ConnectionLost(f"HTTPS to {self._host}: {exc or type(exc).__name__}") from None
        if response.will_close:
            self.close()
        try:
            text = fbs.reply_text(data)  # FbsError for <error>, whatever the HTTP status
        except ReplyError:
            if response.status != 200:
                raise Sip2Unavailable(f"FBS answered HTTP {response.status}") from None
            raise
        if response.status != 200:
            raise Sip2Unavailable(f"FBS answered HTTP {response.status}")
        return text.encode(self._charset, errors="replace") + CR

    def unsolicited(self) -> int:
        """Nothing arrives unasked over HTTP: each answer belongs to its POST."""
        return 0

    def close(self) -> None:
        """Close the HTTPS connection."""
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()


_HEADERS = {"Content-Type": "application/xml; charset=UTF-8", "User-Agent": "aabent-sip2"}
