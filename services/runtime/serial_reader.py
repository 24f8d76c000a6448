"""Serial credential readers: barcode scanners, magnetic stripe readers, RDM6300, PIN pads.

pyserial's ``serial.threaded`` does the reading and the framing (``ReaderThread`` with
``LineReader`` for lines, ``FramedPacket`` for STX…ETX); the frames go to the pure parsers in
``services/core/readers.py``. The port is opened with ``serial_for_url``, so a device path, a pty or
``loop://`` all work. When the port fails (USB unplugged) the reader reports itself offline and
reopens it until it is back. Nothing in the read path sleeps: a frame is parsed and handed on in
the thread that read its last byte.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import serial
from serial.threaded import FramedPacket, LineReader, Protocol, ReaderThread

from services.core.readers import (
    EM4100_PAYLOAD_CHARS,
    ETX,
    MAX_BARCODE_CHARS,
    MAX_STRIPE_CHARS,
    PIN_TIMEOUT_S,
    STX,
    CardRead,
    PinPadBuffer,
    ReaderFault,
    ReaderInput,
    parse_em4100,
    parse_line,
    parse_magstripe,
)
from services.runtime.reader_output import ReaderOutput

logger = logging.getLogger(__name__)

SERIAL_KINDS = ("barcode", "magstripe", "em4100", "pinpad")
# Backing off saves a busy loop on a port that stays gone; the cap keeps a replugged reader
# from waiting long, since a patron may be standing at the door.
REOPEN_DELAY_CAP_S = 5.0

Emit = Callable[[ReaderInput], None]


class _Link:
    """One open port's line back to its reader: parsed inputs, and the end of the connection."""

    def __init__(self, emit: Emit) -> None:
        self.emit = emit
        self.ended = threading.Event()
        self.problem: str | None = None

    def lost(self, exc: BaseException | None) -> None:
        """Called by the protocol when the reader thread ends, with the error if one ended it."""
        self.problem = f"port failed: {exc}" if exc is not None else "port closed"
        self.ended.set()


class _ReaderThread(ReaderThread):  # type: ignore[misc]
    """pyserial's ReaderThread, also ending through ``connection_lost`` on a bare OSError.

    Its loop catches the SerialException of ``read()``, but on a vanished device (an unplugged
    USB adapter, a closed pty) ``in_waiting`` raises OSError (EIO) first, which would end the
    thread without telling the protocol, and the reader would never notice it is offline.
    """

    protocol: Protocol | None  # ReaderThread's, declared for the type checker

    def run(self) -> None:
        """Read until the port ends; an escaping OSError ends the connection like any failure."""
        try:
            super().run()
        except OSError as exc:
            self.alive = False
            protocol, self.protocol = self.protocol, None
            if protocol is not None:
                protocol.connection_lost(exc)


class _LineProtocol(LineReader):  # type: ignore[misc]
    """Barcode scanners and stripe readers: one frame per line ended by CR, LF or CR LF."""

    TERMINATOR = b"\r"

    def __init__(
        self, link: _Link, parse: Callable[[bytes], CardRead | ReaderFault], limit: int, what: str
    ) -> None:
        super().__init__()
        self._link, self._parse, self._limit, self._what = link, parse, limit, what
        self._discarding = False

    def data_received(self, data: bytes) -> None:
        """Split into lines (Packetizer does it), and drop a line that never ends."""
        # one terminator byte lets Packetizer split CR, LF and CR LF alike
        super().data_received(data.replace(b"\n", b"\r"))
        if len(self.buffer) > self._limit:
            del self.buffer[:]
            if not self._discarding:  # one fault per runaway line, however many chunks it takes
                self._discarding = True
                problem = f"more than {self._limit} characters without a line end; discarded"
                self._link.emit(ReaderFault(f"{self._what}: {problem}"))

    def handle_packet(self, packet: bytearray) -> None:
        """Parse one line from its raw bytes, so non-ASCII is reported rather than replaced."""
        if self._discarding:
            self._discarding = False  # the tail of a line already reported as overlong
            return
        if packet:  # an empty packet is the LF of a CR LF
            self._link.emit(self._parse(bytes(packet)))

    def connection_lost(self, exc: BaseException | None) -> None:
        """Tell the reader; pyserial's default would re-raise ``exc`` in the reader thread."""
        self.transport = None
        self._link.lost(exc)


class _Em4100Protocol(FramedPacket):  # type: ignore[misc]
    """RDM6300-style EM4100 readers: STX, 12 ASCII hex characters, ETX."""

    START = bytes([STX])
    STOP = bytes([ETX])
    in_packet: bool  # FramedPacket's state, declared for the type checker
    packet: bytearray

    def __init__(self, link: _Link) -> None:
        super().__init__()
        self._link = link

    def data_received(self, data: bytes) -> None:
        """Frame with FramedPacket, restarting on every STX and dropping frames that never end."""
        for byte in serial.iterbytes(data):
            if byte == self.START:
                if self.in_packet:
                    self._link.emit(ReaderFault("EM4100: frame cut short by the next frame"))
                del self.packet[:]  # FramedPacket would keep the cut-short bytes
            elif byte == self.STOP and not self.in_packet:
                continue  # the end of a frame already dropped, or noise
            super().data_received(byte)
            if len(self.packet) > EM4100_PAYLOAD_CHARS:
                del self.packet[:]
                self.in_packet = False
                problem = f"more than {EM4100_PAYLOAD_CHARS} characters without ETX; discarded"
                self._link.emit(ReaderFault(f"EM4100: {problem}"))

    def handle_packet(self, packet: bytes) -> None:
        """Parse one frame's payload."""
        self._link.emit(parse_em4100(packet))

    def connection_lost(self, exc: BaseException | None) -> None:
        """Tell the reader; pyserial's default would re-raise ``exc`` in the reader thread."""
        self.transport = None
        self.in_packet = False
        del self.packet[:]
        self._link.lost(exc)


class _PinPadProtocol(Protocol):  # type: ignore[misc]
    """Serial PIN pads: one byte per key, collected by a :class:`PinPadBuffer`."""

    def __init__(
        self,
        link: _Link,
        buffer: PinPadBuffer,
        keys: threading.Lock,
        clock: Callable[[], float],
    ) -> None:
        self._link, self._buffer, self._keys, self._clock = link, buffer, keys, clock

    def data_received(self, data: bytes) -> None:
        """Feed each key byte to the buffer; hand on what completes."""
        now = self._clock()
        for byte in serial.iterbytes(data):
            with self._keys:  # the controller clears the buffer from another thread
                result = self._buffer.feed(byte.decode("latin-1"), now)
            if result is not None:
                self._link.emit(result)

    def connection_lost(self, exc: BaseException | None) -> None:
        """Tell the reader; pyserial's default would re-raise ``exc`` in the reader thread."""
        self._link.lost(exc)


class SerialReader:
    """One serial reader: opens ``url``, hands each parsed input to ``on_input``, survives unplug.

    ``on_input(reader_id, input)`` is called in the reader's thread as soon as a frame is
    complete. ``on_status(reader_id, online, problem)`` is called when the port opens, and when
    it fails or cannot be opened (once per outage, with the reason).
    """

    def __init__(
        self,
        reader_id: str,
        kind: str,
        url: str,
        baudrate: int,
        on_input: Callable[[str, ReaderInput], None],
        on_status: Callable[[str, bool, str | None], None],
        *,
        pin_timeout_s: float = PIN_TIMEOUT_S,
        clock: Callable[[], float] = time.monotonic,
        reopen_delay_s: float = 1.0,
    ) -> None:
        if kind not in SERIAL_KINDS:
            raise ValueError(
                f"reader {reader_id}: kind {kind!r} is not a serial reader "
                f"(one of {', '.join(SERIAL_KINDS)})"
            )
        if reopen_delay_s <= 0:
            raise ValueError(f"reader {reader_id}: reopen_delay_s must be positive")
        # One buffer for the reader's life (created now, so a bad timeout fails at once): the
        # controller clears it when a card is presented, whichever connection is open.
        self._pin_buffer = PinPadBuffer(pin_timeout_s)
        self._keys = threading.Lock()
        self.reader_id = reader_id
        self.kind = kind
        self.url = url
        self._output = ReaderOutput(reader_id, on_input)
        self._baudrate = baudrate
        self._on_status = on_status
        self._clock = clock
        self._reopen_delay_s = reopen_delay_s
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._online = False
        self._reported: bool | None = None
        self._thread: _ReaderThread | None = None
        self._supervisor: threading.Thread | None = None

    @property
    def errors(self) -> int:
        """Faults seen on this reader since start (bad frames, checksums, overlong lines)."""
        return self._output.errors

    @property
    def online(self) -> bool:
        """True while the port is open and being read."""
        return self._online

    def start(self) -> None:
        """Open the port and start reading, in a thread of the reader's own."""
        if self._supervisor is not None:
            raise RuntimeError(f"reader {self.reader_id} is already started")
        self._supervisor = threading.Thread(
            target=self._supervise, name=f"reader-{self.reader_id}", daemon=True
        )
        self._supervisor.start()

    def stop(self) -> None:
        """Stop reading and close the port; no status call is made for a deliberate stop."""
        with self._lock:
            self._stopping.set()
            thread = self._thread
        if thread is not None:
            thread.close()
        if self._supervisor is not None:
            self._supervisor.join(timeout=5)
        self._online = False

    def clear_pin(self) -> None:
        """Forget the PIN digits typed so far (a card was presented; its PIN starts now)."""
        with self._keys:
            self._pin_buffer.clear()

    @property
    def pin_pending(self) -> int:
        """How many PIN digits are typed and not yet submitted."""
        return self._pin_buffer.pending

    def write(self, data: bytes) -> None:
        """Send bytes to the reader (a beep, LED or trigger command); on ``loop://`` they echo.

        Raises ConnectionError naming the reader when its port is not open or the write fails.
        """
        with self._lock:
            thread = self._thread
        if thread is None:
            raise ConnectionError(f"reader {self.reader_id}: port {self.url} is not open")
        try:
            thread.write(data)
        except (serial.SerialException, OSError) as exc:
            raise ConnectionError(f"reader {self.reader_id}: write failed: {exc}") from None

    def _supervise(self) -> None:
        """Open, read until the port fails, report, wait, reopen — until stopped."""
        delay = self._reopen_delay_s
        cap = max(self._reopen_delay_s, REOPEN_DELAY_CAP_S)
        while not self._stopping.is_set():
            try:
                port = serial.serial_for_url(
                    self.url, baudrate=self._baudrate, timeout=None, exclusive=True
                )
            except (serial.SerialException, OSError, ValueError) as exc:
                self._set_status(False, f"cannot open {self.url}: {exc}")
                self._stopping.wait(delay)
                delay = min(delay * 2, cap)
                continue
            delay = self._reopen_delay_s
            problem = self._read_until_lost(port)
            if problem is not None:
                self._set_status(False, problem)
                self._stopping.wait(delay)

    def _read_until_lost(self, port: serial.SerialBase) -> str | None:
        """Read ``port`` in a ReaderThread until it ends; the problem, or None when stopped."""
        link = _Link(self._output)
        thread = _ReaderThread(port, lambda: self._protocol(link))
        # online before the first byte can be handed on, so no input precedes the status
        self._set_status(True, None)
        with self._lock:  # started under the lock, so stop() never finds an unstarted thread
            if self._stopping.is_set():
                port.close()
                return None
            self._thread = thread
            thread.start()
        link.ended.wait()
        thread.close()
        with self._lock:
            self._thread = None
        return None if self._stopping.is_set() else link.problem

    def _protocol(self, link: _Link) -> Protocol:
        if self.kind == "barcode":
            return _LineProtocol(link, parse_line, MAX_BARCODE_CHARS, "barcode")
        if self.kind == "magstripe":
            return _LineProtocol(link, parse_magstripe, MAX_STRIPE_CHARS, "magnetic stripe")
        if self.kind == "em4100":
            return _Em4100Protocol(link)
        return _PinPadProtocol(link, self._pin_buffer, self._keys, self._clock)

    def _set_status(self, online: bool, problem: str | None) -> None:
        with self._lock:
            changed = self._reported is not online
            self._online = self._reported = online
        if not changed:
            return
        if online:
            logger.info("reader %s: online (%s)", self.reader_id, self.url)
        else:
            logger.warning("reader %s: offline: %s", self.reader_id, problem)
        try:
            self._on_status(self.reader_id, online, problem)
        except Exception:
            logger.exception("reader %s: on_status failed", self.reader_id)
