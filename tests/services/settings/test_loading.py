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


READER = "[[doors.{door}.readers]]\nkind = '{kind}'\nurl = '{url}'\n"


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (
            "[doors.main]\nlock_pin = 17\n"
            + READER.format(door="main", kind="em4100", url="/dev/ttyUSB0")
            + "[doors.basement]\nlock_pin = 16\n"
            + READER.format(door="basement", kind="barcode", url="/dev/ttyUSB0"),
            "doors.basement.readers.0.url: /dev/ttyUSB0 is already doors.main.readers.0.url"
            " (one serial device, one reader)",
        ),
        (
            "[doors.main]\nlock_pin = 17\n"
            + READER.format(door="main", kind="em4100", url="/dev/ttyAMA0")
            + READER.format(door="main", kind="pinpad", url="/dev/ttyAMA0"),
            "doors.main.readers.1.url: /dev/ttyAMA0 is already doors.main.readers.0.url"
            " (one serial device, one reader)",
        ),
        (
            "[schedule.self_service]\nmon = '07:00-22:00'\n"
            "[schedule.staffed]\nmon = '06:00-18:00'\n",
            "schedule.staffed.mon: 06:00-18:00 is outside the self-service hours (07:00-22:00)",
        ),
        (
            "[schedule.self_service]\ntue = '12:00-20:00'\n"
            "[schedule.staffed]\ntue = '09:00-13:00'\n",
            "schedule.staffed.tue: 09:00-13:00 is outside the self-service hours (12:00-20:00)",
        ),
        (
            "[[schedule.exceptions]]\ndate = '2026-12-23'\nself_service = '08:00-12:00'\n"
            "staffed = '10:00-14:00'\n",
            "schedule.exceptions.0.staffed: 10:00-14:00 is outside the self-service hours "
            "(08:00-12:00)",
        ),
        (
            "[access]\npin_lockout_failures = 12\npin_block_failures_24h = 10\n",
            "access.pin_lockout_failures: 12 failures to lock is more than the 10 that block "
            "(pin_block_failures_24h): the card would be blocked before it is ever locked",
        ),
        (
            "[doors.site]\nlock_pin = 17\n",
            "doors.site: 'site' is reserved (the source of building-wide events); name the door "
            "otherwise",
        ),
        (
            "[doors.opening]\nlock_pin = 17\n",
            "doors.opening: 'opening' is reserved (a building-wide topic); name the door otherwise",
        ),
    ],
    ids=[
        "two-doors-one-device",
        "one-door-one-device",
        "staffed-before-open",
        "staffed-across-the-opening",
        "staffed-outside-an-exception",
        "lock-above-block",
        "door-site",
        "door-opening",
    ],
)
def test_check_config_refuses_settings_that_cannot_work_together(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, line: str
) -> None:
    path = write(tmp_path, text)
    assert main(["check-config", str(path)]) == 2
    assert f"{path}: {line}\n" in capsys.readouterr().err


def test_readers_on_loop_urls_are_separate_devices(tmp_path: Path) -> None:
    text = (
        "[doors.main]\nlock_pin = 17\n"
        + READER.format(door="main", kind="em4100", url="loop://")
        + READER.format(door="main", kind="pinpad", url="loop://")
    )
    assert len(load_settings(write(tmp_path, text), environ={}).doors["main"].readers) == 2


def test_a_day_without_self_service_may_be_staffed_only(tmp_path: Path) -> None:
    text = "[schedule.self_service]\nsun = ''\n[schedule.staffed]\nsun = '10:00-14:00'\n"
    text += "[[schedule.exceptions]]\ndate = '2026-12-24'\nself_service = ''\n"
    text += "staffed = '09:00-12:00'\n"
    assert load_settings(write(tmp_path, text), environ={}).schedule.staffed.sun


def test_staffed_hours_inside_self_service_pass(tmp_path: Path) -> None:
    text = "[schedule.self_service]\nmon = '07:00-12:00, 13:00-22:00'\n[schedule.staffed]\n"
    text += "mon = '08:00-12:00, 13:00-18:00'\n"
    assert load_settings(write(tmp_path, text), environ={}).schedule.staffed.mon


READERS = (
    "[doors.main]\nlock_pin = 17\n"
    + READER.format(door="main", kind="em4100", url="/dev/ttyUSB0")
    + READER.format(door="main", kind="pinpad", url="/dev/ttyUSB1")
)


def test_environment_overrides_a_key_of_one_reader(tmp_path: Path) -> None:
    s = load_settings(
        write(tmp_path, READERS),
        environ={
            "AABENT__DOORS__MAIN__READERS__1__URL": "/dev/ttyACM0",
            "AABENT__DOORS__MAIN__READERS__0__BAUDRATE": "19200",
        },
    )
    first, second = s.doors["main"].readers
    assert (first.kind, first.url, first.baudrate) == ("em4100", "/dev/ttyUSB0", 19200)
    assert (second.kind, second.url) == ("pinpad", "/dev/ttyACM0")


def test_environment_adds_a_reader_and_replaces_the_list(tmp_path: Path) -> None:
    added = load_settings(
        write(tmp_path, READERS),
        environ={
            "AABENT__DOORS__MAIN__READERS__2__KIND": "barcode",
            "AABENT__DOORS__MAIN__READERS__2__URL": "/dev/ttyUSB2",
        },
    )
    assert [r.kind for r in added.doors["main"].readers] == ["em4100", "pinpad", "barcode"]
    replaced = load_settings(
        write(tmp_path, READERS),
        environ={"AABENT__DOORS__MAIN__READERS": "[{kind = 'barcode', url = 'loop://'}]"},
    )
    assert [r.kind for r in replaced.doors["main"].readers] == ["barcode"]


def test_environment_adds_a_whole_door_with_its_readers(tmp_path: Path) -> None:
    s = load_settings(
        write(tmp_path, READERS),
        environ={
            "AABENT__DOORS__SIDE__LOCK_PIN": "5",
            "AABENT__DOORS__SIDE__READERS__0__KIND": "wiegand",
            "AABENT__DOORS__SIDE__READERS__0__D0_PIN": "20",
            "AABENT__DOORS__SIDE__READERS__0__D1_PIN": "21",
        },
    )
    assert s.doors["side"].readers[0].d1_pin == 21


def test_a_reader_override_with_a_gap_in_the_list_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(
            write(tmp_path, READERS), environ={"AABENT__DOORS__MAIN__READERS__5__URL": "x"}
        )
    assert str(info.value) == (
        "AABENT__DOORS__MAIN__READERS__5: doors.main.readers has 2 entries; "
        "an override may change one of them (0-1) or add the next (2)"
    )


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
