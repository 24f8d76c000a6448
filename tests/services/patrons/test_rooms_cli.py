"""``aabent rooms list|book|cancel|today`` on a site of the test's own, open round the clock."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from services.cli.main import main

CPH = ZoneInfo("Europe/Copenhagen")
DAYS = "\n".join(f'{d} = "00:00-24:00"' for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"))


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "aabent.toml"
    path.write_text(
        f'[site]\ndata_dir = "{tmp_path / "var"}"\nkey_file = "{tmp_path / "var" / "site.key"}"\n'
        f"[schedule]\npublic_holidays_closed = false\n[schedule.self_service]\n{DAYS}\n"
        '[doors.basement]\nlock_pin = 16\n[rooms.study]\nname = "Studierum"\n'
        'doors = ["basement"]\nslot_minutes = 60\nbookings_per_week = 9\n',
        encoding="utf-8",
    )
    return path


def run(config: Path, *args: str) -> int:
    return main(["-c", str(config), *args])


def tomorrow_noon() -> datetime:
    return (datetime.now(CPH) + timedelta(days=1)).replace(
        hour=12, minute=0, second=0, microsecond=0
    )


def test_staff_book_list_see_today_and_cancel(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    slot = tomorrow_noon()
    at = f"{slot:%Y-%m-%dT%H:%M}"
    assert run(config, "rooms", "list") == 0
    listing = capsys.readouterr().out
    assert listing.startswith("study\tStudierum\tdoors: basement\t60 min slots")
    assert f"{slot:%Y-%m-%d} " in listing and "12:00" in listing
    assert run(config, "rooms", "book", "study", "12345678", "--at", at, "--companions", "2") == 0
    booked = capsys.readouterr().out
    assert booked.startswith("booking 1: study ") and "+2" in booked and "12345678" not in booked
    assert run(config, "rooms", "book", "study", "87654321", "--at", at) == 1
    assert "already booked; nothing changed" in capsys.readouterr().err
    assert run(config, "rooms", "list") == 0
    day_line = next(
        line for line in capsys.readouterr().out.splitlines() if f"{slot:%Y-%m-%d}" in line
    )
    assert "11:00 13:00" in day_line  # 12:00 is taken
    assert run(config, "rooms", "cancel", "1") == 0
    assert capsys.readouterr().out == "booking 1 cancelled\n"
    assert run(config, "rooms", "cancel", "1") == 1
    assert "is cancelled; nothing changed" in capsys.readouterr().err


def test_today_lists_bookings_by_pseudonym(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    now = datetime.now(CPH)
    if now.hour >= 23:
        pytest.skip("no slot of today is left to book in the last hour of the day")
    slot = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    assert run(config, "rooms", "book", "study", "12345678", "--at", f"{slot:%Y-%m-%dT%H:%M}") == 0
    capsys.readouterr()
    assert run(config, "rooms", "today") == 0
    [line] = capsys.readouterr().out.splitlines()
    number, room, span, who, state, via = line.split("\t")
    assert (number, room, state) == ("1", "study", "booked") and span.startswith(f"{slot:%H:%M}-")
    assert who.endswith("+0") and "12345678" not in line and via.startswith("staff ")


def test_an_unknown_room_is_said_and_nothing_changes(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    at = f"{tomorrow_noon():%Y-%m-%dT%H:%M}"
    assert run(config, "rooms", "book", "attic", "12345678", "--at", at) == 1
    assert "no room 'attic' (rooms: study); nothing changed" in capsys.readouterr().err
