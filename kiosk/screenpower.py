"""The kiosk's own screen switched off and on with its equipment group: a configured command.

Which command works depends on the display stack (X11 with DPMS: ``xset dpms force off``;
Wayland: ``wlr-randr``; a Pi without a desktop: ``vcgencmd display_power 0``), so it is a
setting (``kiosk.screen_off_command``/``screen_on_command``). The window also goes black by
itself (``app.kv``'s cover), so a display stack without power control still shows nothing and
takes no touches. The command runs off the Kivy thread; a failure is logged, never raised.
"""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Sequence

from kiosk.background import Runner

log = logging.getLogger(__name__)
COMMAND_TIMEOUT_S = 10.0


class ScreenPower:
    """Runs the off or on command once per change of ``on``."""

    def __init__(self, runner: Runner, off: Sequence[str], on: Sequence[str]) -> None:
        self._runner, self._off, self._on = runner, tuple(off), tuple(on)
        self._state: bool | None = None

    def set(self, on: bool) -> None:
        """Switch the screen; the same state twice runs nothing."""
        if on == self._state:
            return
        self._state = on
        command = self._on if on else self._off
        if command:
            self._runner.run(lambda: _run(command), _ignore, _failed)


def _run(command: tuple[str, ...]) -> None:
    done = subprocess.run(command, capture_output=True, timeout=COMMAND_TIMEOUT_S, check=False)
    if done.returncode != 0:
        log.warning("screen command %s exited %d: %s", command[0], done.returncode,
                    done.stderr.decode(errors="replace").strip()[:200])  # fmt: skip


def _ignore(_result: object) -> None:
    """Done: nothing to show."""


def _failed(error: BaseException) -> None:
    log.warning("screen command failed: %s", error)
