"""Settings: the example file loads, and every kind of mistake is named with file and key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import BaseModel

from services.cli.main import main
from services.core.hours import parse_intervals
from services.settings import DEFAULT_CONFIG, ConfigError, load_settings


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config" / "site.toml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_example_config_describes_glostrup() -> None:
    s = load_settings(DEFAULT_CONFIG, environ={})
    assert s.site.id == "glostrup"
    assert set(s.doors) == {"main", "basement"}
    assert s.doors["main"].readers[0].kind == "em4100"
    assert s.access.min_age_unstaffed == 15


def test_relative_paths_are_anchored_at_the_checkout(tmp_path: Path) -> None:
    s = load_settings(write(tmp_path, '[site]\ndata_dir = "var"\n'), environ={})
    assert s.site.data_dir == tmp_path / "var"
    assert s.outbox_path == tmp_path / "var" / "outbox.sqlite"


def test_environment_overrides_a_nested_key(tmp_path: Path) -> None:
    s = load_settings(
        write(tmp_path, ""), environ={"AABENT__MQTT__PORT": "1884", "AABENT__SITE__NAME": "Brøndby"}
    )
    assert s.mqtt.port == 1884
    assert s.site.name == "Brøndby"


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope\.toml: no such file"):
        load_settings(tmp_path / "nope.toml", environ={})


def test_broken_toml_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, "[site\nid = 1")
    with pytest.raises(ConfigError, match=r"site\.toml: not valid TOML"):
        load_settings(path, environ={})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[doors.main]\nlock_pin = 99\n", r"doors\.main\.lock_pin: .*less than or equal to 27"),
        ("[site]\ntimezone = 'Mars/Olympus'\n", r"site\.timezone: unknown time zone"),
        ("[access]\npin_requierd = false\n", r"access\.pin_requierd: unknown key"),
        ("[schedule.staffed]\nmon = '18:00-10:00'\n", r"schedule\.staffed\.mon: .*ends before"),
        ("[schedule.staffed]\nmon = '9-17'\n", r"schedule\.staffed\.mon: .*not HH:MM-HH:MM"),
        ("[doors.main]\nlock_pin = 17\ncontact_pin = 17\n", r"contact_pin uses pin 17"),
        (
            "[fire]\ninput_pin = 17\n[doors.main]\nlock_pin = 17\n",
            r"doors\.main\.lock_pin uses pin 17, already fire\.input_pin",
        ),
        ("[[doors.main.readers]]\nkind = 'wiegand'\n[doors.main]\n", r"(?s)lock_pin"),
        (
            "[doors.main]\nlock_pin = 4\n[[doors.main.readers]]\nkind = 'em4100'\n",
            r"em4100 reader needs url",
        ),
    ],
)
def test_invalid_settings_name_the_key_and_problem(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        load_settings(write(tmp_path, text), environ={})
    assert str(info.value).startswith(str(tmp_path / "config" / "site.toml"))


def test_overlapping_intervals_are_refused() -> None:
    with pytest.raises(ValueError, match="overlapping"):
        parse_intervals("10:00-14:00, 13:00-18:00")
    assert parse_intervals("") == ()


def test_check_config_exits_0_for_the_example(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config", str(DEFAULT_CONFIG)]) == 0
    assert "glostrup" in capsys.readouterr().out


def test_check_config_exits_2_naming_file_and_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "[doors.main]\nlock_pin = 99\n")
    assert main(["check-config", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}: doors.main.lock_pin" in err


@pytest.mark.parametrize(
    ("exceptions", "message"),
    [
        ("[[schedule.exceptions]]\ndate = '2025-02-30'\nclosed = true\n", r"not a date"),
        (
            "[[schedule.exceptions]]\ndate = '2025-12-24'\nclosed = true\n" * 2,
            r"2025-12-24 is listed twice",
        ),
    ],
)
def test_check_config_refuses_exception_dates_every_process_would_refuse(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], exceptions: str, message: str
) -> None:
    """An impossible or repeated exception date is found when the file loads: exit 2, no
    traceback, the file and the key named (it used to pass here and stop every process)."""
    path = write(tmp_path, exceptions)
    assert main(["check-config", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}: schedule.exceptions" in err
    assert re.search(message, err)
    assert "Traceback" not in err


def _paths(model: object, where: str = "") -> dict[str, Path]:
    """Every path in a settings tree, by its key."""
    found: dict[str, Path] = {}
    for name, value in model:  # type: ignore[attr-defined]
        key = f"{where}{name}"
        if isinstance(value, Path):
            found[key] = value
        elif isinstance(value, BaseModel):
            found |= _paths(value, f"{key}.")
    return found


def test_every_path_setting_counts_from_the_checkout(tmp_path: Path) -> None:
    text = """
[site]
key_file = "secrets/site.key"
[store]
outbox = "var/outbox.sqlite"
[mqtt]
password_file = "secrets/mqtt"
[sip2]
tls_ca_file = "secrets/ca.pem"
password_file = "secrets/sip2"
[alarms.email]
password_file = "secrets/smtp"
[alarms.webhook]
token_file = "secrets/webhook"
[dashboard]
secret_file = "secrets/dashboard"
tls_cert_file = "secrets/cert.pem"
tls_key_file = "secrets/key.pem"
[kiosk]
floorplan = "config/floorplan.toml"
"""
    paths = _paths(load_settings(write(tmp_path, text), environ={}))
    assert len(paths) == 12  # data_dir keeps its default, and is anchored too
    assert {key: p for key, p in paths.items() if not p.is_relative_to(tmp_path)} == {}
    assert paths["site.data_dir"] == tmp_path / "var"
    assert paths["sip2.password_file"] == tmp_path / "secrets" / "sip2"
