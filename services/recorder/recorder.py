"""The recorder: every message of every site into the database, once, in batches.

With ``recorder.all_sites`` it subscribes to ``<prefix>/+/#``: on a municipality's central
broker (the branches bridged to it, config/mosquitto/README.md) every branch; otherwise to its
own site's topics, as a branch's server does. Each row, state and alarm is keyed by the site
its topic names, and the topic contract (services/recorder/contract.py) is applied per site.

The MQTT thread only decodes and queues; one writer thread takes whatever has arrived (up to
``recorder.batch_size``) and commits it as one batch: events (a redelivered id is skipped by the
database), the latest states, and the alarms they raise or clear. While a commit runs the next
batch gathers, so batches grow with the load; an idle writer waits ``recorder.linger_ms`` after
the first message, so that one commit takes many. Raised alarms go to the notifier after the
commit, so a notice never announces something not stored. A batch's acknowledgements go to the
broker together (:meth:`MqttBus.acknowledge`, one write).

A message is acknowledged to the broker only after its batch is committed (or it was refused),
in arrival order. The bus must use a persistent session and manual acknowledgement
(``MqttBus(..., persistent_session=True, manual_ack=True)``): whatever the recorder had not
committed when it stopped, crashed or lost the database, the broker still holds and sends again.
The broker's in-flight limit (``max_inflight_messages``) also bounds what waits in memory.

Every message received is acknowledged once, whatever became of it (stored, a duplicate,
refused, a batch that failed row by row); a writer error that escapes all that is logged and
the writer goes on, its batch left unacknowledged for the broker to send again. Should the
broker still stop sending (a window of lost acknowledgements, or Mosquitto 2.0.11 losing count
of it), the bus notices and reconnects (``MqttBus._watch``, ``mqtt.stall_s``). And when the
recorder itself holds messages it has not committed for ``mqtt.stall_s`` (the database away or
hanging), it says so in the log and in :meth:`Recorder.counters` (``waiting_s``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

from services.bus.client import MqttBus
from services.bus.topics import every_site
from services.recorder.batch import BatchContext, Outcome, Received, write_batch
from services.recorder.inbox import Refusal, Refused, decode_any
from services.recorder.notify import Notifier
from services.settings import Settings

log = logging.getLogger(__name__)

COMPONENT = "recorder"  # our status/<component>: its last will, queued for us, is no alarm
Ack = Callable[[], None]
# The database cannot be reached (or is locked): no message's fault, so nothing is refused.
_AWAY = (OperationalError, InterfaceError, PoolTimeout)
_LOG_FIRST = 10  # refusals logged one by one per reason, then every 1000th


@dataclass(frozen=True, slots=True)
class _Entry:
    """One message in the writer's queue: what to store (None: only to acknowledge), its ack,
    and when it arrived (``time.monotonic()``): a batch waits ``recorder.linger_ms`` after it."""

    received: Received | None
    ack: Ack
    at: float


class Recorder:
    """Stores every event of every site once, keeps current states, derives alarms."""

    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        bus: MqttBus,
        *,
        clock: Callable[[], datetime],
        notifier: Notifier | None = None,
        component: str = COMPONENT,
    ) -> None:
        self.settings = settings
        self.site = settings.site.id
        self.sessions, self.bus, self.clock, self.notifier = sessions, bus, clock, notifier
        self._cfg = settings.recorder
        self._context = BatchContext(
            site=settings.site.id,
            site_name=settings.site.name,
            retention_days=settings.retention.days,
            own_status=f"status/{component}",
            self_resolved=timedelta(minutes=settings.recorder.self_resolved_minutes),
        )
        # One lock for the counters and the writer's queue: a message costs the MQTT thread one
        # acquisition. ``_lock`` wakes those waiting for idle, ``_arrived`` the writer.
        lock = threading.RLock()
        self._lock = threading.Condition(lock)
        self._arrived = threading.Condition(lock)
        self._inbox: deque[_Entry] = deque()
        self._stopping = False  # the writer takes what is queued, commits it and ends
        self._pending = 0
        self._stored = 0
        self._duplicates = 0
        self._rejected: Counter[str] = Counter()
        self._abandon = threading.Event()
        self._closed = False
        self._progress_at = time.monotonic()  # when the writer last finished a batch
        self._waiting_logged = False
        self._writer = threading.Thread(target=self._run, name="recorder-writer", daemon=True)

    # --- counters -----------------------------------------------------------------------------

    @property
    def stored(self) -> int:
        """Events inserted since start."""
        with self._lock:
            return self._stored

    @property
    def duplicates(self) -> int:
        """Events received again (redelivered) and skipped."""
        with self._lock:
            return self._duplicates

    @property
    def rejected(self) -> dict[str, int]:
        """Messages refused, by reason (``oversized``, ``json``, ``event``, …)."""
        with self._lock:
            return dict(self._rejected)

    def counters(self) -> dict[str, object]:
        """A snapshot for the dashboard's health view."""
        with self._lock:
            return {
                "stored": self._stored,
                "duplicates": self._duplicates,
                "rejected": dict(self._rejected),
                "queued": self._pending,
                "waiting_s": round(self._waiting_s(), 1),
                "stalls": self.bus.stalls,
            }

    def _waiting_s(self) -> float:
        """How long messages have waited for the writer without it finishing any; 0 if none."""
        return time.monotonic() - self._progress_at if self._pending else 0.0

    def _busy(self) -> bool:
        """The bus's question (every ``mqtt.stall_s / 4``): do we hold messages not yet
        acknowledged? Also where a writer that stopped making progress is reported."""
        with self._lock:
            pending, waiting = self._pending, self._waiting_s()
            report = waiting >= self.settings.mqtt.stall_s and not self._waiting_logged
            resumed = not pending and self._waiting_logged
            self._waiting_logged = (self._waiting_logged or report) and not resumed
        if report:
            log.warning(
                "%d messages received and not committed for %.0f s: the broker holds them "
                "until the database takes them",
                pending,
                waiting,
            )
        elif resumed:
            log.warning("the writer is committing again")
        return pending > 0

    # --- life cycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Start the writer and subscribe: to every site (``recorder.all_sites``) or our own."""
        self._writer.start()
        self.bus.watch_busy(self._busy)
        topics = self.bus.topics
        wanted = every_site(topics.prefix) if self._cfg.all_sites else topics.everything
        self.bus.subscribe_acked(wanted, self.receive)

    def stop(self, timeout: float = 10.0) -> None:
        """Take nothing more, write and acknowledge what was taken, end the writer.

        Stop the bus only after this, so the last acknowledgements reach the broker; what
        arrives meanwhile is left unacknowledged, and the broker sends it again next time.
        """
        if not self._writer.is_alive():
            return
        with self._lock:
            self._closed = self._stopping = True
            self._arrived.notify()
        self._writer.join(timeout)
        if self._writer.is_alive():
            self._abandon.set()  # the database stays unreachable: give up the retries
            self._writer.join(5.0)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until everything received so far is committed; False on timeout."""
        with self._lock:
            return self._lock.wait_for(lambda: self._pending == 0, timeout)

    # --- the MQTT side ------------------------------------------------------------------------

    def receive(self, topic: str, payload: bytes, ack: Ack) -> None:
        """Decode one message and queue it for the writer (the bus's callback).

        A refused or ignored message is queued too, to be acknowledged in its turn.
        """
        if self._closed:
            return  # stopping: unacknowledged, so the broker keeps it for the next start
        try:
            found = decode_any(self.bus.topics.prefix, topic, payload, self._cfg.max_payload_bytes)
        except Refused as refused:
            self._refuse(topic, refused.reason, refused.detail)
            found = None
        received = None if found is None else Received(found[1], self.clock(), found[0])
        now = time.monotonic()
        with self._lock:
            if self._closed:
                return  # as above: stop() came while this one was decoded
            if not self._pending:
                self._progress_at = now  # waiting starts with the first one
            self._pending += 1
            self._inbox.append(_Entry(received, ack, now))
            if len(self._inbox) == 1 or len(self._inbox) == self._cfg.batch_size:
                self._arrived.notify()  # the writer waits for a first message, or a full batch

    def _refuse(self, topic: str, reason: Refusal, detail: str) -> None:
        with self._lock:
            self._rejected[reason] += 1
            count = self._rejected[reason]
        if count <= _LOG_FIRST or count % 1000 == 0:
            log.warning("rejected message on %s (%s, %d so far): %s", topic, reason, count, detail)

    # --- the writer ---------------------------------------------------------------------------

    def _run(self) -> None:
        stopping = False
        while not stopping:
            batch, stopping = self._next_batch()
            if not batch:
                continue
            try:
                stored = [entry.received for entry in batch if entry.received is not None]
                if not stored or self._write(stored):
                    # Committed (or nothing to commit): the broker may forget them, in order.
                    self.bus.acknowledge(entry.ack for entry in batch)
            except Exception:
                # Not the database being away (_write retries that) nor one bad row (written
                # one by one): a bug. The writer must not die of it; the batch stays with the
                # broker, which sends it again after the next reconnect (the bus's watch).
                log.exception("writer failed on a batch of %d; left with the broker", len(batch))
            with self._lock:
                self._pending -= len(batch)
                self._progress_at = time.monotonic()
                self._lock.notify_all()

    def _next_batch(self) -> tuple[list[_Entry], bool]:
        """What has arrived, once the first of it is ``recorder.linger_ms`` old or a whole
        ``recorder.batch_size`` is there; and whether to stop after it.

        While a commit runs the next batch gathers, so under load batches grow by themselves
        and the linger costs nothing; an idle writer waits that long so one commit takes many.
        """
        size, linger = self._cfg.batch_size, self._cfg.linger_ms / 1000
        with self._lock:
            while not self._inbox and not self._stopping:
                self._arrived.wait()
            while not self._stopping and len(self._inbox) < size:
                left = self._inbox[0].at + linger - time.monotonic()
                if left <= 0:
                    break
                self._arrived.wait(left)
            stopping = self._stopping
            take = len(self._inbox) if stopping else min(size, len(self._inbox))
            batch = [self._inbox.popleft() for _ in range(take)]
        return batch, stopping

    def _write(self, batch: list[Received]) -> bool:
        """Commit the batch, retrying while the database is away; False if given up."""
        delay = 0.5
        while True:
            try:
                outcome = self._attempt(batch)
                break
            except _AWAY as exc:
                # The database is away (or locked): keep the batch and try again.
                if self._abandon.is_set():
                    log.error(
                        "database unreachable; %d messages left with the broker: %s",
                        len(batch),
                        exc,
                    )
                    return False
                log.warning("database unreachable, retrying in %.1f s: %s", delay, exc)
                self._abandon.wait(delay)
                delay = min(delay * 2, 30.0)
        self._account(outcome)
        return True

    def _attempt(self, batch: list[Received]) -> Outcome:
        try:
            return self._commit(batch)
        except _AWAY:
            raise
        except Exception as exc:  # one bad row must not cost the batch, nor the writer
            log.warning("batch of %d failed (%s); writing one by one", len(batch), exc)
            return self._commit_singly(batch)

    def _commit_singly(self, batch: list[Received]) -> Outcome:
        total = Outcome()
        for received in batch:
            try:
                one = self._commit([received])
            except _AWAY:
                raise  # not this message's fault: the whole batch is tried again
            except Exception as exc:
                self._refuse("(database)", Refusal.DATABASE, str(exc).splitlines()[0])
                continue
            total.stored += one.stored
            total.duplicates += one.duplicates
            total.raised += one.raised
        return total

    def _commit(self, batch: Sequence[Received]) -> Outcome:
        with self.sessions() as session, session.begin():
            return write_batch(session, batch, self._context)

    def _account(self, outcome: Outcome) -> None:
        with self._lock:
            self._stored += outcome.stored
            self._duplicates += outcome.duplicates
        for notice in outcome.raised:
            log.warning(
                "alarm %s raised: %s at %s: %s",
                notice.alarm_id,
                notice.kind,
                notice.source,
                notice.message,
            )
            if self.notifier is not None:  # each channel takes the severities it is set for
                self.notifier.notify(notice)
