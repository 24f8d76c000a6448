"""The recorder: every message of one site into the database, once, in batches.

The MQTT thread only decodes and queues; one writer thread drains the queue and commits a batch
per ``recorder.batch_size`` messages or ``recorder.linger_ms``: events (a redelivered id is
skipped by the database), the latest states, and the alarms they raise or clear. Critical alarms
go to the notifier after the commit, so a notice never announces something not stored.

The bus must use a persistent session (``MqttBus(..., persistent_session=True)``): while the
recorder restarts the broker keeps its QoS 1 messages. Messages already acknowledged to the
broker are written before :meth:`Recorder.stop` returns.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from services.bus.client import MqttBus
from services.recorder.alarms import Severity
from services.recorder.batch import BatchContext, Outcome, Received, write_batch
from services.recorder.inbox import Refusal, Refused, decode
from services.recorder.notify import Notifier
from services.settings import Settings

log = logging.getLogger(__name__)

COMPONENT = "recorder"  # our status/<component>: its last will, queued for us, is no alarm
_STOP = object()
_LOG_FIRST = 10  # refusals logged one by one per reason, then every 1000th


class Recorder:
    """Stores every event of one site once, keeps current states, derives alarms."""

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
        )
        self._queue: queue.Queue[Received | object] = queue.Queue()
        self._lock = threading.Condition()
        self._pending = 0
        self._stored = 0
        self._duplicates = 0
        self._rejected: Counter[str] = Counter()
        self._abandon = threading.Event()
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
            }

    # --- life cycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Start the writer and subscribe to everything of the site."""
        self._writer.start()
        self.bus.subscribe(self.bus.topics.everything, self.receive)

    def stop(self, timeout: float = 10.0) -> None:
        """Write what was received, then end the writer; stop the bus first so nothing follows."""
        if not self._writer.is_alive():
            return
        self._queue.put(_STOP)
        self._writer.join(timeout)
        if self._writer.is_alive():
            self._abandon.set()  # the database stays unreachable: give up the retries
            self._writer.join(5.0)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until everything received so far is committed; False on timeout."""
        with self._lock:
            return self._lock.wait_for(lambda: self._pending == 0, timeout)

    # --- the MQTT side ------------------------------------------------------------------------

    def receive(self, topic: str, payload: bytes) -> None:
        """Decode one message and queue it for the writer (the bus's callback)."""
        try:
            item = decode(self.bus.topics, topic, payload, self._cfg.max_payload_bytes)
        except Refused as refused:
            self._refuse(topic, refused.reason, refused.detail)
            return
        if item is None:
            return
        with self._lock:
            self._pending += 1
        self._queue.put(Received(item, self.clock()))

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
            if batch:
                self._write(batch)
                with self._lock:
                    self._pending -= len(batch)
                    self._lock.notify_all()

    def _next_batch(self) -> tuple[list[Received], bool]:
        first = self._queue.get()
        if first is _STOP:
            return self._drain(), True
        assert isinstance(first, Received)
        batch = [first]
        deadline = time.monotonic() + self._cfg.linger_ms / 1000
        while len(batch) < self._cfg.batch_size:
            try:
                item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if item is _STOP:
                return batch + self._drain(), True
            assert isinstance(item, Received)
            batch.append(item)
        return batch, False

    def _drain(self) -> list[Received]:
        rest: list[Received] = []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return rest
            if isinstance(item, Received):
                rest.append(item)

    def _write(self, batch: list[Received]) -> None:
        delay = 0.5
        while True:
            try:
                outcome = self._commit(batch)
                break
            except (OperationalError, InterfaceError) as exc:
                # The database is away (or locked): keep the batch and try again.
                if self._abandon.is_set():
                    log.error("database unreachable; %d messages not stored: %s", len(batch), exc)
                    return
                log.warning("database unreachable, retrying in %.1f s: %s", delay, exc)
                self._abandon.wait(delay)
                delay = min(delay * 2, 30.0)
            except Exception as exc:  # one bad row must not cost the batch, nor the writer
                log.warning("batch of %d failed (%s); writing one by one", len(batch), exc)
                outcome = self._commit_singly(batch)
                break
        self._account(outcome)

    def _commit_singly(self, batch: list[Received]) -> Outcome:
        total = Outcome()
        for received in batch:
            try:
                one = self._commit([received])
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
            if self.notifier is not None and notice.severity == Severity.CRITICAL:
                self.notifier.notify(notice)
