"""The SIP2 client: one persistent, logged-in connection per process, one request at a time.

Callers from any thread are served in arrival order (a ticket line, not a bare lock, whose wake-up
order is unspecified); each request has a deadline that covers its wait in line, a reconnect and
login if needed, resends and the reply.

A reply is believed only when it answers the request: the expected message, the same patron (AA)
and item (AB) where the reply repeats them, and the request's AY sequence number
(:meth:`~services.sip2.requests.Request.mismatch`). Error detection follows the SIP2 spec,
"Error Detection": every request carries ``AY<seq>AZ<checksum>``; a whole reply whose checksum
fails is answered with 97 Request ACS Resend (the resent reply may carry sequence 0); a 96 from
the ACS makes us send our request again. Anything else that does not answer the request (another
patron's reply, a late tail of the last one, bytes that are not a frame) means the stream has
lost its place: the connection is closed, never asked to resend, and a read is asked once more on
a fresh connection. A request that changes something (a renewal) is preceded by a 99 SC Status,
so a connection the server dropped is found before it, and is never sent twice: if no good reply
comes, it is reported as :class:`~services.sip2.errors.OutcomeUnknown`. A connection idle for
``idle_limit_s`` is replaced before it is used (servers drop idle connections: SIPServer after
60 s).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from services.settings.sip2 import TIMEOUT_S
from services.sip2 import requests as rq
from services.sip2.errors import (
    ConnectionLost,
    LoginRefused,
    OutcomeUnknown,
    ReplyError,
    ReplyMismatch,
    Sip2Timeout,
    Sip2Unavailable,
)
from services.sip2.messages import ChecksumError, FrameError, Message, decode, masked
from services.sip2.replies import (
    AcsStatus,
    EndSessionReply,
    HoldReply,
    ItemInfo,
    PatronReply,
    RenewAllReply,
    RenewReply,
)
from services.sip2.transport import Transport

log = logging.getLogger(__name__)


@dataclass
class Backoff:
    """Exponential reconnect delay: after a failure, no new attempt before ``next_attempt``."""

    base_s: float = 0.25
    cap_s: float = 5.0
    failures: int = 0
    next_attempt: float = 0.0

    def failed(self, now: float) -> None:
        """Count a failure and push the next attempt out (0.25, 0.5, 1, 2, 4, 5, 5… s)."""
        self.failures += 1
        self.next_attempt = now + min(self.cap_s, self.base_s * 2 ** (self.failures - 1))

    def succeeded(self) -> None:
        """Connected again: the next failure starts from the base delay."""
        self.failures, self.next_attempt = 0, 0.0


class _Line:
    """First come, first served: a ticket per caller; a caller past its deadline leaves."""

    def __init__(self, monotonic: Callable[[], float]) -> None:
        self._cond = threading.Condition()
        self._issued = self._serving = 0
        self._left: set[int] = set()
        self._monotonic = monotonic

    @contextmanager
    def turn(self, deadline: float) -> Iterator[None]:
        """Wait for this caller's turn (Sip2Timeout past ``deadline``), hold it while inside."""
        with self._cond:
            ticket, self._issued = self._issued, self._issued + 1
            while self._serving != ticket:
                remaining = deadline - self._monotonic()
                if remaining <= 0:
                    self._left.add(ticket)
                    raise Sip2Timeout("timed out waiting for the line to the library system")
                self._cond.wait(remaining)
        try:
            yield
        finally:
            with self._cond:
                self._serving += 1
                while self._serving in self._left:
                    self._left.discard(self._serving)
                    self._serving += 1
                self._cond.notify_all()


class _ResendAsked(Exception):
    """The ACS answered 96 Request SC Resend."""


class Sip2Client:
    """Talks SIP2 to one library system through ``transport``; thread-safe."""

    def __init__(
        self,
        transport: Transport,
        terminal: rq.Terminal,
        *,
        charset: str = "utf-8",
        login: tuple[str, str] | None = None,
        location_code: str = "",
        error_detection: bool = True,
        timeout_s: float = TIMEOUT_S,
        retries: int = 2,
        idle_limit_s: float | None = None,
        backoff: Backoff | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now().astimezone(),
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.transport, self.terminal, self.timeout_s = transport, terminal, timeout_s
        self._charset, self._login, self._location = charset, login, location_code
        # AY/AZ belong to a SIP2 session; FBS's HTTPS envelope carries neither.
        self._detect = error_detection and transport.session
        self._retries, self._clock, self._monotonic = retries, clock, monotonic
        self.backoff = backoff or Backoff()
        self._line = _Line(monotonic)
        self._seq = 9  # the first request goes out as AY0
        self.idle_limit_s = idle_limit_s
        self._last_used = 0.0
        self._sent = False  # whether the request in hand has gone out (its outcome may be real)
        self._acs_resend = rq.request_acs_resend().frame(charset=charset, sequence=-1)

    def send(self, request: rq.Request, timeout: float | None = None) -> Message:
        """Send ``request``; return the reply that answers it or raise Sip2Unavailable.

        Raises :class:`OutcomeUnknown` when a request that changes something went out and no
        believable reply came back.
        """
        deadline = self._monotonic() + (self.timeout_s if timeout is None else timeout)
        with self._line.turn(deadline):
            if request.idempotent:
                return self._send_in_turn(request, deadline)
            # A dead connection must be found before a renewal, not by it: one cheap 99 first.
            self._send_in_turn(rq.sc_status(), deadline)
            self._sent = False
            try:
                return self._send_in_turn(request, deadline)
            except Sip2Unavailable as exc:
                if not self._sent:
                    raise
                raise OutcomeUnknown(
                    f"{request.command} was sent and may have been done; no good reply: {exc}"
                ) from exc

    def _send_in_turn(self, request: rq.Request, deadline: float) -> Message:
        # A read survives one lost connection or one confused stream; a renewal neither.
        attempts = 2 if request.idempotent else 1
        for attempt in range(attempts):
            self._ensure_open(deadline)
            try:
                return self._round_trip(request, deadline)
            except (ConnectionLost, ReplyMismatch) as exc:
                # Never resend on a stream that lost its place: a fresh connection instead.
                self.transport.close()
                if attempt + 1 >= attempts:
                    raise  # the connection was made: no back-off, the next request reconnects
                log.warning("SIP2 %s; asking again on a new connection", exc)
            except Sip2Unavailable as exc:
                self.transport.close()
                if exc.outage:
                    self.backoff.failed(self._monotonic())
                raise
        raise AssertionError("unreachable")

    def _ensure_open(self, deadline: float) -> None:
        if self.transport.is_open:
            idle = self._monotonic() - self._last_used
            if self.idle_limit_s is not None and idle >= self.idle_limit_s:
                log.info("SIP2 connection idle for %.0f s; replacing it", idle)
                self.transport.close()
            elif stray := self.transport.unsolicited():
                log.warning("SIP2: %d bytes arrived unasked; replacing the connection", stray)
                self.transport.close()
            if self.transport.is_open:
                return
        now = self._monotonic()
        if now < self.backoff.next_attempt:
            wait = self.backoff.next_attempt - now
            raise Sip2Unavailable(f"library system unavailable; next attempt in {wait:.2f} s")
        try:
            self.transport.open(max(deadline - now, 0.001))
            self._last_used = self._monotonic()
            if self.transport.session and self._login is not None:
                self._log_in(deadline)
        except Sip2Unavailable as exc:
            self.transport.close()
            if exc.outage:
                self.backoff.failed(self._monotonic())
            raise
        self.backoff.succeeded()
        log.info("SIP2 connected to the library system")

    def _log_in(self, deadline: float) -> None:
        assert self._login is not None
        user, password = self._login
        reply = self._round_trip(rq.login(user, password, self._location), deadline)
        if reply.fixed["ok"] != "1":
            raise LoginRefused(f"the library system refused login user {user!r} (94 ok=0)")

    def _round_trip(self, request: rq.Request, deadline: float) -> Message:
        seq = self._next_sequence() if self._detect else None
        frame = request.frame(charset=self._charset, sequence=seq)
        changes = not request.idempotent  # once it has gone out, its outcome may be real
        raw = self._exchange(frame, deadline, sends_request=changes)
        resent, problem = False, ""
        for attempt in range(self._retries + 1):
            try:
                return self._accept(raw, request, seq, resent)
            except _ResendAsked:  # the ACS did not read our request: sending it again is safe
                problem, again, resent = "the ACS asked for a resend (96)", frame, False
            except ChecksumError as exc:  # a whole frame, garbled: the spec's 97
                problem, again, resent = str(exc), self._acs_resend, True
            if attempt == self._retries:
                break
            log.warning("SIP2 %s reply rejected (%s); resending", request.reply, problem)
            raw = self._exchange(again, deadline, sends_request=changes and again is frame)
        raise ReplyError(f"no good {request.reply} reply after {self._retries} resends: {problem}")

    def _accept(self, raw: bytes, request: rq.Request, seq: int | None, resent: bool) -> Message:
        try:
            message = decode(raw, charset=self._charset)
        except ChecksumError:
            raise
        except FrameError as exc:
            raise ReplyMismatch(f"{request.reply} reply unreadable: {exc}") from None
        log.debug("SIP2 <- %r", message)
        if message.command == "96":
            raise _ResendAsked
        if self._detect and message.checksum is None:
            raise ReplyMismatch("reply without the AZ checksum error detection requires")
        # SIP2 spec, Error Detection: a reply carries its request's sequence number; one resent
        # on 97 may carry 0 instead (SIPServer does).
        got = message.sequence
        if seq is not None and got is not None and got != seq and not (resent and got == 0):
            raise ReplyMismatch(f"reply sequence AY{got}, expected AY{seq}")
        why = request.mismatch(message)
        if why is not None:
            raise ReplyMismatch(why)
        return message

    def _exchange(self, frame: bytes, deadline: float, *, sends_request: bool) -> bytes:
        remaining = deadline - self._monotonic()
        if remaining <= 0:
            raise Sip2Timeout("request timed out")
        if log.isEnabledFor(logging.DEBUG):
            log.debug("SIP2 -> %s", masked(frame, self._charset))
        self._sent = self._sent or sends_request
        try:
            return self.transport.exchange(frame, remaining)
        finally:
            self._last_used = self._monotonic()

    def _next_sequence(self) -> int:
        self._seq = (self._seq + 1) % 10
        return self._seq

    def close(self) -> None:
        """Drop the connection; the next request reconnects."""
        try:
            with self._line.turn(self._monotonic() + self.timeout_s):
                self.transport.close()
        except Sip2Timeout:  # a request hangs on the line: closing under it ends it too
            self.transport.close()

    # The messages aabent uses, typed. ``timeout`` overrides the client's for one request.

    def sc_status(self, timeout: float | None = None) -> AcsStatus:
        """99 SC Status -> 98 ACS Status."""
        return AcsStatus.from_message(self.send(rq.sc_status(), timeout))

    def patron_status(
        self, patron: str, pin: str | None, timeout: float | None = None
    ) -> PatronReply:
        """23 Patron Status -> 24."""
        request = rq.patron_status(self.terminal, patron, pin, self._clock())
        return PatronReply.from_message(self.send(request, timeout))

    def patron_information(
        self,
        patron: str,
        pin: str | None,
        summary: rq.Summary | None = None,
        timeout: float | None = None,
    ) -> PatronReply:
        """63 Patron Information -> 64, with the ``summary`` item list."""
        request = rq.patron_information(self.terminal, patron, pin, self._clock(), summary)
        return PatronReply.from_message(self.send(request, timeout))

    def item_information(self, item: str, timeout: float | None = None) -> ItemInfo:
        """17 Item Information -> 18."""
        request = rq.item_information(self.terminal, item, self._clock())
        return ItemInfo.from_message(self.send(request, timeout))

    def renew(
        self, patron: str, pin: str | None, item: str, timeout: float | None = None
    ) -> RenewReply:
        """29 Renew -> 30."""
        request = rq.renew(self.terminal, patron, pin, item, self._clock())
        return RenewReply.from_message(self.send(request, timeout))

    def renew_all(
        self, patron: str, pin: str | None, timeout: float | None = None
    ) -> RenewAllReply:
        """65 Renew All -> 66."""
        request = rq.renew_all(self.terminal, patron, pin, self._clock())
        return RenewAllReply.from_message(self.send(request, timeout))

    def hold(
        self,
        patron: str,
        pin: str | None,
        mode: rq.HoldMode,
        *,
        item: str | None = None,
        title: str | None = None,
        timeout: float | None = None,
    ) -> HoldReply:
        """15 Hold -> 16: place or cancel a hold on an item or a title."""
        request = rq.hold(self.terminal, patron, pin, mode, self._clock(), item=item, title=title)
        return HoldReply.from_message(self.send(request, timeout))

    def end_patron_session(
        self, patron: str, pin: str | None, timeout: float | None = None
    ) -> EndSessionReply:
        """35 End Patron Session -> 36."""
        request = rq.end_patron_session(self.terminal, patron, pin, self._clock())
        return EndSessionReply.from_message(self.send(request, timeout))
