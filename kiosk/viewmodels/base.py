"""What every view model shares: the translator, the job runner, and forgetting on reset."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from kivy.event import EventDispatcher

from kiosk.background import Runner
from kiosk.i18n import Translator

T = TypeVar("T")


class ViewModel(EventDispatcher):  # type: ignore[misc]
    """Base of the view models: texts follow the language, late results of old work are dropped.

    Work started before :meth:`forget` (a privacy reset, a new search) cannot write its result
    into the screen afterwards: each job carries the generation it was started in.
    """

    def __init__(self, tr: Translator, runner: Runner, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.tr, self._runner, self._generation = tr, runner, 0
        tr.bind(lang=lambda *_: self.relabel())

    def start(
        self,
        job: Callable[[], T],
        done: Callable[[T], None],
        failed: Callable[[BaseException], None],
    ) -> None:
        """Run ``job`` off the Kivy thread; its outcome is delivered only if still wanted."""
        generation = self._generation

        def on_done(result: T) -> None:
            if generation == self._generation:
                done(result)

        def on_failed(error: BaseException) -> None:
            if generation == self._generation:
                failed(error)

        self._runner.run(job, on_done, on_failed)

    def forget(self) -> None:
        """Drop the results of every job still running."""
        self._generation += 1

    def relabel(self) -> None:
        """Rewrite the texts in the current language (the state itself is unchanged)."""

    def reset(self) -> None:
        """Back to the empty start: nothing of the last patron is left."""
        self.forget()
