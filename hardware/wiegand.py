"""Wiegand card readers and keypads on two GPIO lines, through gpiozero.

DATA0 and DATA1 idle high (pulled up); the reader pulls DATA0 low for a 0 bit and DATA1 low for
a 1 bit, a pulse every ~2 ms. A frame has no length field: it ends when the lines stay quiet for
``frame_gap_s``. One worker thread waits for that quiet (a condition with a timeout, no polling),
then decodes the frame with :func:`services.core.readers.decode_wiegand`; keypad keys are collected
into PINs by a :class:`PinPadBuffer`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable

from gpiozero import DigitalInputDevice
from gpiozero.pins import Factory

from services.core.readers import (
    PIN_TIMEOUT_S,
    KeyPress,
    PinPadBuffer,
    ReaderFault,
    ReaderInput,
    decode_wiegand,
)
from services.runtime.reader_output import ReaderOutput

logger = logging.getLogger(__name__)

# Longer than any format we decode; bits beyond it are noise and only counted.
MAX_FRAME_BITS = 64


class WiegandReader:
    """A Wiegand reader on ``d0_pin``/``d1_pin`` (BCM); each frame's input goes to ``on_input``.

    ``on_input(reader_id, input)`` is called in the reader's worker thread. ``clock`` times the
    PIN-entry timeout; the frame gap is a property of the wire and is timed by the monotonic
    clock the waits use.
    """

    def __init__(
        self,
        reader_id: str,
        d0_pin: int,
        d1_pin: int,
        on_input: Callable[[str, ReaderInput], None],
        *,
        pin_factory: Factory | None = None,
        frame_gap_s: float = 0.025,
        pin_timeout_s: float = PIN_TIMEOUT_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if d0_pin == d1_pin:
            raise ValueError(f"reader {reader_id}: d0_pin and d1_pin are both {d0_pin}")
        if frame_gap_s <= 0:
            raise ValueError(f"reader {reader_id}: frame_gap_s must be positive")
        self.reader_id = reader_id
        self._output = ReaderOutput(reader_id, on_input)
        self._frame_gap_s = frame_gap_s
        self._clock = clock
        self._keys = PinPadBuffer(pin_timeout_s)
        self._keys_lock = threading.Lock()
        self._quiet = threading.Condition()
        self._bits: list[int] = []
        self._count = 0
        self._done: deque[tuple[list[int], int]] = deque()
        self._last_bit_at = 0.0
        self._closed = False
        self._d0 = DigitalInputDevice(d0_pin, pull_up=True, pin_factory=pin_factory)
        try:
            self._d1 = DigitalInputDevice(d1_pin, pull_up=True, pin_factory=pin_factory)
        except Exception:
            self._d0.close()
            raise
        self._worker = threading.Thread(target=self._run, name=f"wiegand-{reader_id}", daemon=True)
        self._worker.start()
        # with pull_up=True a line is "active" while low: each activation is one bit
        self._d0.when_activated = self._zero
        self._d1.when_activated = self._one

    def close(self) -> None:
        """Stop listening and release both pins; a frame still arriving is dropped."""
        self._d0.close()  # closing a device also drops its callback: no bits after this
        self._d1.close()
        with self._quiet:
            self._closed = True
            self._quiet.notify()
        self._worker.join(timeout=5)

    def _zero(self) -> None:
        self._bit(0)

    def _one(self) -> None:
        self._bit(1)

    def _bit(self, bit: int) -> None:
        now = time.monotonic()
        with self._quiet:
            if self._count and now - self._last_bit_at >= self._frame_gap_s:
                # the gap is over even if the worker has not woken yet: end the frame here, so
                # a slow worker never glues two key presses into one frame
                self._done.append(self._take())
            if len(self._bits) < MAX_FRAME_BITS:
                self._bits.append(bit)
            self._count += 1
            self._last_bit_at = now
            self._quiet.notify()

    def _take(self) -> tuple[list[int], int]:
        frame = (self._bits, self._count)
        self._bits, self._count = [], 0
        return frame

    def _run(self) -> None:
        while (frame := self._next_frame()) is not None:
            self._handle(*frame)

    def _next_frame(self) -> tuple[list[int], int] | None:
        """Wait for bits followed by ``frame_gap_s`` of quiet; the frame, or None once closed."""
        with self._quiet:
            while not self._closed:
                if self._done:
                    return self._done.popleft()
                if not self._count:
                    self._quiet.wait()
                    continue
                quiet_for = time.monotonic() - self._last_bit_at
                if quiet_for < self._frame_gap_s:
                    self._quiet.wait(self._frame_gap_s - quiet_for)
                    continue
                return self._take()
            return None

    def _handle(self, bits: list[int], count: int) -> None:
        if count > len(bits):
            result: ReaderInput | KeyPress | None = ReaderFault(
                f"Wiegand: {count} bits, expected 4, 8, 26 or 34"
            )
        else:
            result = decode_wiegand(bits)
        if isinstance(result, KeyPress):
            with self._keys_lock:  # the controller clears the buffer from another thread
                result = self._keys.feed(result.key, self._clock())
        if result is not None:
            self._output(result)

    def clear_pin(self) -> None:
        """Forget the keypad digits typed so far (a card was presented; its PIN starts now)."""
        with self._keys_lock:
            self._keys.clear()

    @property
    def errors(self) -> int:
        """Faults seen on this reader: parity errors, wrong bit counts, bad key sequences."""
        return self._output.errors
