"""The durable outbox: every event is on disk before it goes to MQTT, so a door never waits for
the network and a power cut loses nothing.

SQLite's own durability is the point here (WAL, ``synchronous=FULL``: a commit has reached the
disk when it returns), so this is the one file with SQL for the outbox. Delivery is at-least-once:
a row is deleted only after the broker's PUBACK; event ids are stable, so consumers dedupe.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections import deque
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType
from typing import NamedTuple

from services.bus.client import Delivery, MqttBus

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    -- AUTOINCREMENT: a seq is never reused after deletes, so "after seq" stays meaningful
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    qos INTEGER NOT NULL
)
"""


class OutboxError(Exception):
    """The outbox file cannot be used; the message names the file and the problem."""


class OutboxRow(NamedTuple):
    """One message waiting for the broker, in append order."""

    seq: int
    topic: str
    payload: bytes


def _check_message(topic: str, qos: int) -> None:
    # Refuse at the edge what the broker would never accept, so no row can block the queue.
    if not topic or any(c in topic for c in "+#\0"):
        raise ValueError(f"outbox: topic {topic!r} is empty or has a wildcard")
    if qos not in (0, 1, 2):
        raise ValueError(f"outbox: qos {qos!r} is not 0, 1 or 2")


class Outbox:
    """Messages on their way to MQTT, kept in a SQLite file; safe to use from many threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._listeners: list[Callable[[], None]] = []
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: we say BEGIN/COMMIT ourselves; one statement = one commit.
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            mode = self._db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if mode != "wal":
                raise OutboxError(f"{path}: cannot use write-ahead logging (got {mode!r})")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise OutboxError(f"{path}: cannot open the outbox: {exc}") from None

    def add_append_listener(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` after every append, from the appending thread (keep it short)."""
        self._listeners.append(callback)

    def append(self, topic: str, payload: bytes, qos: int = 1) -> int:
        """Store a message and return its seq; it is on disk when this returns."""
        _check_message(topic, qos)
        with self._lock:
            cur = self._db.execute(
                "INSERT INTO outbox (topic, payload, qos) VALUES (?, ?, ?)", (topic, payload, qos)
            )
            seq = cur.lastrowid
        assert seq is not None  # an INSERT into a rowid table always has one
        for listener in self._listeners:
            listener()
        return seq

    def pending(self, limit: int = 100, *, after: int = 0) -> list[OutboxRow]:
        """Up to ``limit`` unacknowledged messages with seq > ``after``, oldest first."""
        rows = self._rows(limit, after)
        return [OutboxRow(seq, topic, payload) for seq, topic, payload, _ in rows]

    def _rows(self, limit: int, after: int) -> list[tuple[int, str, bytes, int]]:
        with self._lock:
            return self._db.execute(
                "SELECT seq, topic, payload, qos FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?",
                (after, limit),
            ).fetchall()

    def ack(self, seq: int) -> None:
        """Forget a message the broker has acknowledged."""
        self.ack_many((seq,))

    def ack_many(self, seqs: Iterable[int]) -> None:
        """Forget many acknowledged messages in one transaction (one disk flush, not one each)."""
        params = [(seq,) for seq in seqs]
        if not params:
            return
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany("DELETE FROM outbox WHERE seq = ?", params)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def count(self) -> int:
        """How many messages are waiting."""
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM outbox").fetchone()[0])

    def close(self) -> None:
        """Close the file; what is pending stays there for the next process."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> Outbox:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class OutboxPublisher:
    """A thread that moves the outbox to the broker in append order, deleting only after PUBACK.

    While the broker is away nothing is sent and rows accumulate on disk. What was in flight when
    the connection dropped is re-sent by paho after the reconnect; new rows wait until those are
    acknowledged, so a newer event never overtakes an older one.
    """

    def __init__(
        self, outbox: Outbox, bus: MqttBus, *, max_inflight: int = 100, delete_batch: int = 500
    ) -> None:
        if max_inflight < 1:
            raise ValueError("max_inflight must be at least 1")
        self._outbox = outbox
        self._bus = bus
        self._max_inflight = max_inflight
        self._delete_batch = delete_batch
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._progress = threading.Condition()
        self._acknowledged = 0
        self._thread: threading.Thread | None = None
        # Owned by the publisher thread: rows sent and not yet acknowledged, oldest first; the
        # last seq sent; acknowledged seqs not yet deleted.
        self._inflight: deque[tuple[int, Delivery]] = deque()
        self._after = 0
        self._acked: list[int] = []
        outbox.add_append_listener(self._wake.set)
        bus.add_connect_listener(self._wake.set)

    @property
    def acknowledged(self) -> int:
        """Rows the broker has acknowledged since :meth:`start`."""
        return self._acknowledged

    def start(self) -> None:
        """Start publishing in a background thread."""
        if self._thread is not None:
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="outbox-publisher", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread; unacknowledged rows stay in the outbox for the next start."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def wait_drained(self, timeout: float) -> bool:
        """Block until the outbox is empty (every row acknowledged and deleted); True if so."""
        with self._progress:
            return self._progress.wait_for(lambda: self._outbox.count() == 0, timeout)

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()  # before looking, so a wake during the pass is not lost
            try:
                self._collect()
                sent = self._send_more()
                if self._acked and (len(self._acked) >= self._delete_batch or not sent):
                    self._delete()
            except Exception:
                # A full disk or a locked file must not end delivery for good: retry shortly.
                log.exception("outbox publisher failed; retrying")
                self._stopping.wait(1.0)
                continue
            if not sent:
                self._wake.wait(5.0)  # the timeout is only a safety net; wakes do the work
        try:
            self._delete()
        except Exception:
            log.exception("outbox publisher: deleting acknowledged rows failed (re-sent later)")

    def _collect(self) -> None:
        """Move the acknowledged rows from in flight to the delete batch, keeping the order."""
        if not any(d.acknowledged for _, d in self._inflight):
            return
        waiting = []
        for seq, delivery in self._inflight:
            if delivery.acknowledged:
                self._acked.append(seq)
            else:
                waiting.append((seq, delivery))
        self._inflight = deque(waiting)

    def _may_send(self) -> bool:
        if not self._bus.connected:
            return False
        # Rows sent before the last reconnect are re-sent by paho; let them go first.
        session = self._bus.sessions
        return all(d.session == session for _, d in self._inflight)

    def _send_more(self) -> bool:
        """Publish the rows after the last one sent, up to the in-flight limit; True if any."""
        room = self._max_inflight - len(self._inflight)
        if room <= 0 or not self._may_send():
            return False
        sent = False
        for seq, topic, payload, qos in self._outbox._rows(room, self._after):
            try:
                delivery = self._bus.publish(topic, payload, qos=qos, on_ack=self._wake.set)
            except ValueError as exc:
                # Cannot ever be sent (paho refuses it); keeping it would block every later row.
                log.error("outbox row %d dropped: %s", seq, exc, extra={"seq": seq, "topic": topic})
                self._outbox.ack(seq)
            except RuntimeError as exc:
                log.warning("outbox row %d not sent yet: %s", seq, exc, extra={"seq": seq})
                break  # this row and the rest are tried again on the next wake
            else:
                self._inflight.append((seq, delivery))
            sent, self._after = True, seq
        return sent

    def _delete(self) -> None:
        if not self._acked:
            return
        with self._progress:  # one step for wait_drained: rows gone and counted together
            self._outbox.ack_many(self._acked)
            self._acknowledged += len(self._acked)
            self._acked = []
            self._progress.notify_all()
