"""The audio adapter: quiet hours, unknown messages, a recording played as it is."""

from __future__ import annotations

import subprocess
from datetime import datetime
from pathlib import Path

from hardware.audio import Speaker
from services.settings import BuildingSettings
from tests.hardware.evening_rig import CPH


def speaker(tmp_path: Path, hour: int, **audio: object) -> Speaker:
    cfg = BuildingSettings.model_validate(
        {"audio": {"device": f"file:{tmp_path / 'out.wav'}", "languages": ["da"], **audio}}
    )
    return Speaker(cfg, wall=lambda: datetime(2026, 11, 25, hour, 0, tzinfo=CPH))


def test_quiet_hours_across_midnight_silence_the_speaker(tmp_path: Path) -> None:
    quiet = {"quiet_from": "22:30", "quiet_until": "06:00"}
    assert speaker(tmp_path, 23, **quiet).announce("closed") is None
    assert speaker(tmp_path, 3, **quiet).announce("closed") is None
    assert not (tmp_path / "out.wav").exists()
    played = speaker(tmp_path, 21, **quiet).announce("closed")
    assert played == tmp_path / "out.wav" and played.stat().st_size > 10_000


def test_an_unknown_message_plays_nothing(tmp_path: Path) -> None:
    assert speaker(tmp_path, 21).announce("no_such_message") is None


def test_a_recording_is_played_instead_of_the_spoken_text(tmp_path: Path) -> None:
    tone = tmp_path / "tone.wav"
    subprocess.run(
        ["sox", "-n", "-r", "22050", "-c", "1", str(tone), "synth", "1.5", "sine", "440"],
        check=True,
    )
    cfg = BuildingSettings.model_validate(
        {
            "audio": {"device": f"file:{tmp_path / 'out.wav'}", "languages": ["da"]},
            "messages": {"closed": {"da": "Lukket", "recording_da": str(tone)}},
            "sequences": {"closes": [{"offset_min": 0, "action": "announce", "target": "closed"}]},
        }
    )
    played = Speaker(cfg, wall=lambda: datetime(2026, 11, 25, 21, tzinfo=CPH)).announce("closed")
    assert played is not None
    seconds = float(subprocess.check_output(["soxi", "-D", str(played)], text=True))
    assert abs(seconds - 1.5) < 0.01
