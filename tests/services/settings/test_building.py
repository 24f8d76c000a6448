"""``[building]``: validated like the rest, each problem named by its key."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.core.evening import SequenceRules
from services.settings import ConfigError, load_settings

DOOR = '[doors.main]\nlock_pin = 17\n[[doors.main.readers]]\nkind = "barcode"\nurl = "loop://"\n'


def load(tmp_path: Path, text: str) -> object:
    cfg = tmp_path / "config" / "aabent.toml"
    cfg.parent.mkdir(exist_ok=True)
    cfg.write_text(DOOR + text, encoding="utf-8")
    return load_settings(cfg, environ={})


def test_the_default_sequences_are_the_cores() -> None:
    from services.settings import BuildingSettings

    assert BuildingSettings().sequences.rules() == SequenceRules()


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "[building]\nenabled = true\n[[building.sequences.closes]]\noffset_min = -5\n"
            'action = "announce"\ntarget = "nope"\n',
            "building.sequences.closes.0.target: no message 'nope' in building.messages",
        ),
        (
            '[building.lights.ground]\npin = 5\nmqtt_topic = "x"\n',
            "building.lights.ground: give either pin or mqtt_topic",
        ),
        (
            "[building.panel]\narm_pin = 17\narmed_pin = 21\n",
            "building.panel.arm_pin uses pin 17, already doors.main.lock_pin",
        ),
        (
            '[[building.sequences.opens]]\noffset_min = -5\naction = "arm"\ntarget = "x"\n',
            "building.sequences.opens.0.target: arm takes no target",
        ),
    ],
    ids=["unknown-message", "pin-and-topic", "shared-pin", "target-on-arm"],
)
def test_a_wrong_building_section_is_named(tmp_path: Path, text: str, problem: str) -> None:
    with pytest.raises(ConfigError) as err:
        load(tmp_path, text)
    assert problem in str(err.value)
