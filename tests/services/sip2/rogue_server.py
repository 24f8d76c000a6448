"""A second test library system: SIP2 over TCP on loopback that misbehaves as real servers do.

The pysip2 server (:mod:`tests.services.sip2.acs_server`) is honest. This one answers from the
same holdings (:mod:`tests.services.sip2.library`) but writes its frames by hand, so it can do
what Evergreen's SIPServer, Koha and their kin have been seen doing:

- a staff note holding a raw CR LF in a patron's screen message (AF), optionally with the text
  after the CR sent a few milliseconds late (``notes``, ``tail_delay_s``), or in a random share
  of all patron replies (``cr_share``);
- answering 97 Request ACS Resend with sequence number 0, as SIPServer does (``resend_sequence``);
- a checksum garbled in transit on the next replies to a command (``garble``), so 97 is needed;
- a failed 66 Renew All that still carries an item list (``ARRAY(0x…)``, twice), and a good one
  that lists an item twice (``renew_all``);
- dropping a connection idle for ``idle_timeout_s`` (SIPServer: 60 s), without a word;
- a reply that answers another patron (``answer_for``);
- doing a renewal and then closing the connection before the reply (``close_after``), or going
  down altogether (``down_after``);
- refusing every message before a 93 login when ``login`` is set (it closes the connection);
- taking its time over each answer (``think_s``), as a real library system's lookup does.

It speaks error detection when the request does (AY/AZ), as servers do.
"""

from __future__ import annotations

import contextlib
import random
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from services.sip2.messages import Message, decode
from tests.services.sip2.library import BOOKS, INSTITUTION, LIBRARY_NAME, PATRONS, TODAY, Member

ARRAY = "ARRAY(0x55d5c6a0e2b8)"  # what SIPServer's Perl puts in BM when a renew all fails


def _checksum(head: bytes) -> str:
    return f"{-sum(head) & 0xFFFF:04X}"


def _stamp() -> str:
    return datetime(TODAY.year, TODAY.month, TODAY.day, 10, 0).strftime("%Y%m%d    %H%M%S")


def _sip_date(day: date | None) -> str:
    return "" if day is None else day.strftime("%Y%m%d") + "    235959"


def _status(member: Member | None) -> str:
    flags = member.flags if member else frozenset()
    return "".join("Y" if i in flags else " " for i in range(14))


@dataclass
class Reply:
    """A reply as text, the AF screen message kept apart so it may hold a CR LF."""

    body: str
    screen: str | None = None
    tail: str = ""  # fields after AF (SIPServer sends AG print line last)

    def parts(self, sequence: int | None, charset: str) -> tuple[bytes, bytes]:
        """The frame split where a CR inside AF is (the second part empty when there is none)."""
        text = self.body + (f"AF{self.screen}|" if self.screen is not None else "") + self.tail
        head = text.encode(charset)
        if sequence is not None:
            head += b"AY" + str(sequence).encode() + b"AZ"
            head += _checksum(head).encode()
        frame = head + b"\r"
        cut = frame.find(b"\r")
        return (frame, b"") if cut == len(frame) - 1 else (frame[: cut + 1], frame[cut + 1 :])


@dataclass
class Rogue:
    """What the server does wrong; a test sets the fields it needs."""

    notes: dict[str, str] = field(default_factory=dict)  # card -> AF text (may hold CR LF)
    tail_delay_s: float = 0.0
    cr_share: float = 0.0  # share of patron replies that get a staff note with CR LF
    resend_sequence: int | None = 0  # AY of a reply resent on 97; None: the original's
    garble: dict[str, int] = field(default_factory=dict)  # reply command -> how many to garble
    renew_all: str = "honest"  # "failed_with_items" or "duplicates"
    idle_timeout_s: float | None = None
    answer_for: dict[str, str] = field(default_factory=dict)  # asked card -> card answered
    close_after: set[str] = field(default_factory=set)  # request commands done, then hung up
    down_after: set[str] = field(default_factory=set)  # done, then the whole server goes down
    login: tuple[str, str] | None = None
    think_s: float = 0.0  # how long each answer takes (a real library system's lookup)


class RogueAcs:
    """The server: one thread per connection on 127.0.0.1, a free port."""

    def __init__(self, rogue: Rogue | None = None, *, seed: int = 10, charset: str = "utf-8"):
        self.rogue = rogue or Rogue()
        self.charset = charset
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self.due = {b.item_id: b.due(TODAY) for b in BOOKS.values()}
        self.renewals: list[str] = []  # every item renewed, in order (duplicates included)
        self.requests: list[str] = []  # every request command received, in order
        self.connections = 0
        self.idle_drops = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._socks: list[socket.socket] = []
        self._stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def stop(self) -> None:
        """Close the listener and every connection."""
        self._stop.set()
        for sock in [self._listener, *self._socks]:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._socks.append(conn)
                self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        buffer = b""
        last: tuple[bytes, bytes, Reply | None] = (b"", b"", None)
        logged_in = self.rogue.login is None
        with contextlib.suppress(OSError), conn:
            conn.settimeout(self.rogue.idle_timeout_s)
            while True:
                try:
                    chunk = conn.recv(65536)
                except TimeoutError:
                    with self._lock:
                        self.idle_drops += 1
                    return  # idle too long: hang up without a word, as SIPServer does
                if not chunk:
                    return
                buffer += chunk
                while b"\r" in buffer:
                    raw, buffer = buffer.split(b"\r", 1)
                    raw = raw.lstrip(b"\n")
                    if not raw:
                        continue
                    request = decode(raw, charset=self.charset)
                    with self._lock:
                        self.requests.append(request.command)
                    if request.command == "97":
                        self._resend(conn, last)
                        continue
                    if request.command == "93":
                        logged_in = self._logged_in(request)
                    elif not logged_in:
                        return  # SIPServer closes a connection that did not log in
                    reply = self._answer(request)
                    time.sleep(self.rogue.think_s)
                    if request.command in self.rogue.down_after:
                        self.stop()
                        return
                    if request.command in self.rogue.close_after:
                        return
                    last = self._send(conn, request, reply)

    def _logged_in(self, request: Message) -> bool:
        wanted = self.rogue.login
        return wanted is None or (request.first("CN"), request.first("CO")) == wanted

    def _send(
        self, conn: socket.socket, request: Message, reply: Reply
    ) -> tuple[bytes, bytes, Reply]:
        first, rest = reply.parts(request.sequence, self.charset)
        frame = first + rest
        command = frame[:2].decode()
        with self._lock:
            garble = self.rogue.garble.get(command, 0)
            if garble:
                self.rogue.garble[command] = garble - 1
        sent = frame[:-2] + (b"0" if frame[-2:-1] != b"0" else b"1") + b"\r" if garble else frame
        if rest and not garble and self.rogue.tail_delay_s:
            conn.sendall(first)
            time.sleep(self.rogue.tail_delay_s)
            conn.sendall(rest)
        else:
            conn.sendall(sent)
        return first, rest, reply

    def _resend(self, conn: socket.socket, last: tuple[bytes, bytes, Reply | None]) -> None:
        first, rest, reply = last
        if reply is None:
            return
        sequence = self.rogue.resend_sequence
        if sequence is None:  # the original trailer, as the spec's ACS would
            conn.sendall(first + rest)
            return
        a, b = reply.parts(sequence, self.charset)
        conn.sendall(a + b)

    # -- answers -----------------------------------------------------------------------------

    def _answer(self, request: Message) -> Reply:
        handler: dict[str, Callable[[Message], Reply]] = {
            "93": lambda r: Reply("941"),
            "99": self._status,
            "23": self._patron,
            "63": self._patron,
            "17": self._item,
            "29": self._renew,
            "65": self._renew_all,
            "35": lambda r: Reply(f"36Y{_stamp()}AO{INSTITUTION}|AA{r.first('AA') or ''}|"),
        }
        return handler[request.command](request)

    def _status(self, request: Message) -> Reply:
        supported = "YNNYYYYYYNYNNNYY"
        return Reply(f"98YYNYNN010003{_stamp()}2.00AO{INSTITUTION}|AM{LIBRARY_NAME}|BX{supported}|")

    def _note(self, card: str) -> str | None:
        if card in self.rogue.notes:
            return self.rogue.notes[card]
        if self.rogue.cr_share and self._random.random() < self.rogue.cr_share:
            return "Husk: betal erstatning\r\nStaff: ring til låneren"
        return None

    def _patron(self, request: Message) -> Reply:
        asked = request.first("AA") or ""
        card = self.rogue.answer_for.get(asked, asked)
        member = PATRONS.get(card)
        pin = request.first("AD")
        cq = ""
        if member is not None and pin is not None:
            ok = member.pin is None or pin == member.pin
            cq = f"CQ{'Y' if ok else 'N'}|"
        command = "24" if request.command == "23" else "64"
        counts = ""
        lists = ""
        if command == "64":
            summary = request.fixed.get("summary", "")
            fines = member.fines if member else []
            loans = member.loans if member else []
            counts = f"0000{0:04d}{len(loans):04d}{len(fines):04d}00000000"
            if summary.find("Y") == 2:
                lists = "".join(f"AU{i}|" for i in loans)
            elif summary.find("Y") == 3:
                lists = "".join(f"AV{f}|" for f in fines)
        fee = ""
        if member is not None and member.fee_amount is not None:
            fee = f"BHDKK|BV{member.fee_amount}|"
        name = member.name if member else ""
        birth = f"PB{member.birth}|" if member and member.birth else ""
        body = (
            f"{command}{_status(member)}009{_stamp()}{counts}AO{INSTITUTION}|AA{card}|AE{name}|"
            f"BL{'Y' if member else 'N'}|{cq}{fee}{lists}{birth}"
        )
        return Reply(body, self._note(card), "AGprint|")

    def _item(self, request: Message) -> Reply:
        item = request.first("AB") or ""
        book = BOOKS.get(item)
        due = self.due.get(item)
        status = "04" if due else ("03" if book else "01")
        due_field = f"AH{_sip_date(due)}|" if due else ""
        title = book.title if book else ""
        return Reply(f"18{status}0001{_stamp()}AB{item}|AJ{title}|{due_field}")

    def _renew_one(self, item: str) -> str | None:
        book = BOOKS.get(item)
        if book is None:
            return "Ukendt materiale"
        if book.refuse_renewal:
            return book.refuse_renewal
        with self._lock:
            self.due[item] = (self.due.get(item) or TODAY) + timedelta(days=14)
            self.renewals.append(item)
        return None

    def _renew(self, request: Message) -> Reply:
        item, card = request.first("AB") or "", request.first("AA") or ""
        refusal = self._renew_one(item)
        ok = "0N" if refusal else "1Y"
        title = BOOKS[item].title if item in BOOKS else ""
        return Reply(
            f"30{ok}NN{_stamp()}AO{INSTITUTION}|AA{card}|AB{item}|AJ{title}|"
            f"AH{_sip_date(self.due.get(item))}|",
            refusal,
        )

    def _renew_all(self, request: Message) -> Reply:
        member = PATRONS.get(request.first("AA") or "")
        mode = self.rogue.renew_all
        if member is None or 0 in member.flags or mode == "failed_with_items":
            # SIPServer: ok 0, and the Perl array reference stringified into BM, twice.
            return Reply(
                f"660{0:04d}{0:04d}{_stamp()}AO{INSTITUTION}|BM{ARRAY}|BM{ARRAY}|",
                "Lånerkortet er spærret",
            )
        results = {item: self._renew_one(item) for item in member.loans}
        renewed = [i for i, r in results.items() if r is None]
        unrenewed = [i for i, r in results.items() if r is not None]
        if mode == "duplicates":
            renewed, unrenewed = renewed + renewed, unrenewed + unrenewed
        lists = "".join(f"BM{i}|" for i in renewed) + "".join(f"BN{i}|" for i in unrenewed)
        return Reply(f"661{len(renewed):04d}{len(unrenewed):04d}{_stamp()}AO{INSTITUTION}|{lists}")
