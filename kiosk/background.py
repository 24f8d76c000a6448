"""Blocking service calls off the Kivy thread, their results back on it.

A search, a SIP2 request or a check-in may take seconds; the screen must keep answering touches
meanwhile. :class:`Background` runs the job in a small thread pool and delivers the result with
``Clock.schedule_once`` (threads meet Kivy only there). :class:`Inline` runs it at once, for
view-model tests and tools without a window.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Protocol, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")


class Runner(Protocol):
    """Runs ``job`` and hands its result to ``done``, or its exception to ``failed``."""

    def run(
        self,
        job: Callable[[], T],
        done: Callable[[T], None],
        failed: Callable[[BaseException], None],
    ) -> None:
        """Start ``job``; ``done``/``failed`` are called on the Kivy thread."""
        ...


class Inline:
    """Runs jobs at once in the caller's thread."""

    def run(
        self,
        job: Callable[[], T],
        done: Callable[[T], None],
        failed: Callable[[BaseException], None],
    ) -> None:
        """Run ``job`` now."""
        try:
            result = job()
        except Exception as exc:
            failed(exc)
            return
        done(result)


class Background:
    """Runs jobs in worker threads; results come back through Kivy's clock."""

    def __init__(self, workers: int = 3) -> None:
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="kiosk-job")
        self.pending = 0  # jobs started and not yet delivered (tests wait for 0)

    def run(
        self,
        job: Callable[[], T],
        done: Callable[[T], None],
        failed: Callable[[BaseException], None],
    ) -> None:
        """Start ``job`` in a worker thread."""
        from kivy.clock import Clock

        self.pending += 1

        def deliver(future: Future[T], _dt: Any = None) -> None:
            self.pending -= 1
            error = future.exception()
            if error is not None:
                failed(error)
            else:
                done(future.result())

        future = self._pool.submit(job)
        future.add_done_callback(lambda f: Clock.schedule_once(lambda dt: deliver(f, dt)))

    def shutdown(self) -> None:
        """Stop taking jobs; running ones finish, their results are dropped."""
        self._pool.shutdown(wait=False, cancel_futures=True)
