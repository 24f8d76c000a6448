"""The public address: a message's recording, or its text spoken by espeak-ng, played by ALSA.

One path for every announcement: each language in turn becomes a WAV file (the recording as
it is, or ``espeak-ng -v da -w``), sox sets the message's volume and joins them, and the player
plays the result: ``aplay -D <device>`` on a Pi, or (``file:<path>``, for tests and the demo)
the same WAV written to a file. Quiet hours silence the speaker, never the event.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from datetime import datetime, time
from pathlib import Path

from services.settings import BuildingSettings
from services.settings.building import MessageSettings

log = logging.getLogger(__name__)

ESPEAK_VOICES = {"da": "da", "en": "en-gb"}
FILE_DEVICE = "file:"  # "file:/tmp/announcements.wav" writes instead of playing
TIMEOUT_S = 120.0

Run = Callable[[Sequence[str]], None]


def run(argv: Sequence[str]) -> None:
    """Run a tool; a failure names the tool and what it said."""
    done = subprocess.run(list(argv), capture_output=True, timeout=TIMEOUT_S, check=False)
    if done.returncode != 0:
        said = done.stderr.decode(errors="replace").strip()[:200]
        raise AudioError(f"{argv[0]} exited {done.returncode}: {said}")


class AudioError(RuntimeError):
    """An announcement could not be made (a tool missing or failing)."""


class Speaker:
    """Makes announcements from ``[building]``'s messages through its audio device."""

    def __init__(
        self, cfg: BuildingSettings, *, wall: Callable[[], datetime], run_tool: Run = run
    ) -> None:
        self.cfg, self.wall, self._run = cfg, wall, run_tool

    def announce(self, message: str) -> Path | None:
        """Play ``message`` in each language; the file played, or None when quiet or unknown."""
        spec = self.cfg.messages.get(message)
        if spec is None:
            log.warning("announcement %r is not in building.messages", message)
            return None
        if self._quiet(self.wall().time()):
            log.info("announcement %r not played: quiet hours", message)
            return None
        with tempfile.TemporaryDirectory(prefix="aabent-audio-") as tmp:
            folder = Path(tmp)
            parts = [
                self._part(spec, lang, folder / f"{lang}.wav") for lang in self.cfg.audio.languages
            ]
            parts = [p for p in parts if p is not None]
            if not parts:
                return None
            joined = folder / "announcement.wav"
            # One rate and channel count, so recordings and speech join; then the volume.
            volume = f"{spec.volume / 100:.2f}"
            self._run(
                ["sox", *map(str, parts), "-r", "22050", "-c", "1", str(joined), "vol", volume]
            )
            return self._play(joined)

    def _part(self, spec: MessageSettings, lang: str, target: Path) -> Path | None:
        recording = spec.recording_da if lang == "da" else spec.recording_en
        if recording is not None and recording.is_file():
            return recording
        text = spec.da if lang == "da" else spec.en
        if not text:
            return None
        self._run(["espeak-ng", "-v", ESPEAK_VOICES[lang], "-w", str(target), text])
        return target

    def _play(self, wav: Path) -> Path:
        device = self.cfg.audio.device
        if device.startswith(FILE_DEVICE):
            target = Path(device.removeprefix(FILE_DEVICE))
            shutil.copyfile(wav, target)
            return target
        self._run(["aplay", "-q", "-D", device, str(wav)])
        return wav

    def _quiet(self, now: time) -> bool:
        a, b = self.cfg.audio.quiet_from, self.cfg.audio.quiet_until
        if a is None or b is None:
            return False
        start, end = time.fromisoformat(a), time.fromisoformat(b)
        return start <= now < end if start <= end else (now >= start or now < end)
