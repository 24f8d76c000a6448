"""Drives the real kiosk window: frames, simulated touches and key presses, screenshots."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from kivy.base import EventLoop
from kivy.core.window import Window
from kivy.tests.common import UnitTestTouch
from kivy.uix.recycleview import RecycleView
from kivy.uix.screenmanager import ScreenManager
from kivy.uix.widget import Widget

from kiosk.screens.widgets import KeyButton


class FakeMonotonic:
    """The app's monotonic clock (idle timeout, scanner timing), moved by the test."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` pass for the app."""
        self.now += seconds


class Driver:
    """What a patron does at the kiosk, done through Kivy's own input path."""

    def __init__(self, app: Any, mono: FakeMonotonic, artifacts: Path) -> None:
        self.app, self.mono, self.artifacts = app, mono, artifacts

    def pump(self, seconds: float = 0.0, frames: int = 2) -> None:
        """Run frames (clock, input, drawing) for at least ``frames`` and ``seconds``."""
        deadline = time.monotonic() + seconds
        done = 0
        while done < frames or time.monotonic() < deadline:
            EventLoop.idle()
            done += 1

    def wait(self, condition: Callable[[], object], timeout: float = 8.0, what: str = "") -> None:
        """Run frames until ``condition()`` holds."""
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what or condition}")
            self.pump(0.02)

    def tap(self, widget: Widget) -> None:
        """A finger down and up on the middle of ``widget``."""
        self.pump()
        x, y = widget.to_window(*widget.center)
        touch = UnitTestTouch(x, y)
        touch.touch_down()
        self.pump()
        touch.touch_up()
        self.pump(frames=3)

    def screen(self, name: str | None = None) -> Any:
        """The screen widget ``name`` (default: the current one)."""
        return self.app.screen(name or self.app.current)

    def key(self, keyboard: Widget, key: str) -> None:
        """Tap one key of an on-screen keyboard."""
        button = next(b for b in keyboard.walk() if isinstance(b, KeyButton) and b.key == key)
        self.tap(button)

    def row(self, view: RecycleView, **match: object) -> Widget:
        """The visible row of a list whose properties match."""
        self.pump(frames=3)
        for child in view.walk():
            if all(getattr(child, k, None) == v for k, v in match.items()):
                return child
        raise AssertionError(f"no row with {match}")

    def scan(self, text: str, gap: float = 0.0) -> None:
        """A keyboard-wedge scanner: a key every ``gap`` seconds (at once by default), Enter."""
        for char in text:
            if gap:
                self.mono.advance(gap)
                self.pump(frames=1)  # the kiosk's flush timer runs between the keys
            Window.dispatch("on_textinput", char)
        self.mono.advance(gap)
        Window.dispatch("on_key_down", 13, 40, None, [])
        self.pump(frames=3)

    def enter(self, gap: float = 0.3) -> None:
        """A person presses Enter after a pause."""
        self.mono.advance(gap)
        Window.dispatch("on_key_down", 13, 40, None, [])
        self.pump(frames=3)

    def type(self, text: str, gap: float = 0.2) -> None:
        """A person at a keyboard: ``gap`` seconds between keys."""
        for char in text:
            self.mono.advance(gap)
            Window.dispatch("on_textinput", char)
            self.pump(0.06)
        self.mono.advance(gap)
        self.pump(0.08)

    def screenshot(self, name: str) -> Path:
        """Save the window as ``tests/artifacts/<name>.png``."""
        self.pump(0.1, frames=4)
        target = self.artifacts / f"{name}.png"
        target.unlink(missing_ok=True)
        numbered = Path(Window.screenshot(name=str(target)))
        numbered.replace(target)
        return target

    def texts(self) -> Iterator[str]:
        """Every text of every widget in the window, on every screen, shown or not."""
        seen: set[int] = set()
        stack: list[Widget] = list(Window.children)
        while stack:
            widget = stack.pop()
            if id(widget) in seen:
                continue
            seen.add(id(widget))
            text = getattr(widget, "text", None)
            if isinstance(text, str) and text:
                yield text
            stack.extend(widget.children)
            if isinstance(widget, ScreenManager):
                stack.extend(widget.screens)
