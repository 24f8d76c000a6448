"""``aabent patrons …`` run through ``services.cli.main`` on a site of the test's own."""

from __future__ import annotations

import io
import os
import select
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from services.cli.main import main
from services.core.credentials import Credential
from services.core.patrons import PatronStatus, PinCheck
from services.patrons.registry import LocalRegistry
from services.settings import load_settings
from services.store.engine import make_engine, make_sessionmaker

ROOT = Path(__file__).resolve().parents[3]
DEMO = ROOT / "config" / "demo-patrons.csv"
Opener = Callable[[], LocalRegistry]


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "aabent.toml"
    path.write_text(
        f'[site]\ndata_dir = "{tmp_path / "var"}"\nkey_file = "{tmp_path / "var" / "site.key"}"\n',
        encoding="utf-8",
    )
    return path


@pytest.fixture
def registry(config: Path) -> Iterator[Opener]:
    """Opens the site's registry the way a door would, after the command under test ran."""
    engines: list[Engine] = []

    def open_registry() -> LocalRegistry:
        settings = load_settings(config, environ={})
        engines.append(make_engine(settings.database_url))
        key = settings.site.site_key()
        return LocalRegistry(make_sessionmaker(engines[-1]), key)

    yield open_registry
    for engine in engines:
        engine.dispose()


def _run(config: Path, *args: str) -> int:
    return main(["-c", str(config), "patrons", *args])


def test_import_prints_the_summary_and_count_counts(
    config: Path, registry: Opener, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(config, "import", str(DEMO)) == 0
    assert capsys.readouterr().out == f"{DEMO}: 6 rows, 6 patrons added, 0 updated\n"
    assert _run(config, "count") == 0
    assert capsys.readouterr().out == "6\n"
    auth = registry().authenticate(Credential.from_text("10000001"), "1234")
    assert auth.pin is PinCheck.OK


def test_a_bad_file_lists_its_problems_and_imports_nothing(
    config: Path, registry: Opener, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("card_number,name,pin\n10000001,Karen,1234\n10000002,,12\n", encoding="utf-8")
    assert _run(config, "import", str(bad)) == 1
    err = capsys.readouterr().err
    assert f"{bad}:3: name: missing" in err and f"{bad}:3: pin: a PIN is 4 to 8 digits" in err
    assert "nothing imported" in err and "10000002" not in err
    assert registry().count() == 0


def test_add_a_cpr_patron_with_a_pin(
    config: Path, registry: Opener, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--cpr", "010180-0000", "--name", "Mads Nielsen", "--pin", "2468"]
    assert _run(config, "add", *args) == 0
    out = capsys.readouterr().out
    assert out.startswith("added patron p-") and "Mads Nielsen" in out and "0101" not in out
    auth = registry().authenticate(Credential.from_text("0101800000"), "2468")
    assert auth.pin is PinCheck.OK and auth.patron is not None
    assert str(auth.patron.birth_date) == "1980-01-01"


def test_add_without_pin_from_a_script_stores_no_pin(
    config: Path, registry: Opener, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    args = ["--card", "10000003", "--name", "Freja Hansen", "--birth-date", "2014-03-01"]
    assert _run(config, "add", *args, "--expires", "2030-12-31") == 0
    auth = registry().authenticate(Credential.from_text("10000003"), "1111")
    assert auth.patron is not None and auth.pin is PinCheck.WRONG
    assert str(auth.patron.expires) == "2030-12-31" and auth.patron.guardian_consent is False


def test_add_refuses_a_taken_card_and_a_bad_cpr(
    config: Path, registry: Opener, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(config, "add", "--card", "10000001", "--name", "Karen", "--pin", "1234") == 0
    assert _run(config, "add", "--card", "10000001", "--name", "Other", "--pin", "1234") == 1
    assert "another patron" in capsys.readouterr().err
    assert _run(config, "add", "--cpr", "3213801234", "--name", "Mads") == 1
    err = capsys.readouterr().err
    assert "--cpr: the first six digits are not a date" in err and "3213801234" not in err
    assert registry().count() == 1


def test_a_bad_date_is_a_usage_error(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        _run(config, "add", "--card", "10000001", "--name", "Karen", "--expires", "31-12-2029")
    assert exit_.value.code == 2
    assert "not a date as YYYY-MM-DD" in capsys.readouterr().err


def test_block_and_unblock(
    config: Path, registry: Opener, capsys: pytest.CaptureFixture[str]
) -> None:
    _run(config, "import", str(DEMO))
    capsys.readouterr()
    assert _run(config, "block", "10000001") == 0
    assert "is now blocked" in capsys.readouterr().out
    patron = registry().find(Credential.from_text("10000001"))
    assert patron is not None and patron.status is PatronStatus.BLOCKED
    assert _run(config, "unblock", "10000005") == 0
    patron = registry().find(Credential.from_text("10000005"))
    assert patron is not None and patron.status is PatronStatus.ACTIVE


def test_block_an_unknown_card(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(config, "block", "99999999") == 1
    assert capsys.readouterr().err == "aabent: no patron holds this card\n"


def test_set_pin_from_a_script_reads_stdin(
    config: Path, registry: Opener, monkeypatch: pytest.MonkeyPatch
) -> None:
    _run(config, "import", str(DEMO))
    monkeypatch.setattr(sys, "stdin", io.StringIO("9876\n"))
    assert _run(config, "set-pin", "010180-0000") == 0
    registry = registry()
    assert registry.authenticate(Credential.from_text("0101800000"), "9876").pin is PinCheck.OK
    assert registry.authenticate(Credential.from_text("0101800000"), "2468").pin is PinCheck.WRONG


def test_set_pin_refuses_a_bad_pin(
    config: Path,
    registry: Opener,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _run(config, "import", str(DEMO))
    monkeypatch.setattr(sys, "stdin", io.StringIO("12\n"))
    assert _run(config, "set-pin", "10000001") == 1
    assert "4 to 8 digits" in capsys.readouterr().err
    assert registry().authenticate(Credential.from_text("10000001"), "1234").pin is (PinCheck.OK)


def test_set_pin_on_a_terminal_asks_twice_and_never_echoes(config: Path, registry: Opener) -> None:
    assert main(["-c", str(config), "patrons", "import", str(DEMO)]) == 0
    master, slave = os.openpty()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "services.cli.main",
            "-c",
            str(config),
            "patrons",
            "set-pin",
            "10000001",
        ],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        cwd=ROOT,
        start_new_session=True,
    )
    os.close(slave)
    try:
        seen = _read_until(master, b"New PIN: ")
        os.write(master, b"5678\n")
        seen += _read_until(master, b"PIN again: ")
        os.write(master, b"5678\n")
        assert proc.wait(timeout=30) == 0
        seen += _read_until(master, b"now active")
    finally:
        proc.kill()
        os.close(master)
    assert b"5678" not in seen
    assert registry().authenticate(Credential.from_text("10000001"), "5678").pin is (PinCheck.OK)


def _read_until(fd: int, wanted: bytes, timeout: float = 30.0) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while wanted not in seen:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            raise AssertionError(f"no {wanted!r} within {timeout}s; got {seen!r}")
        try:
            seen += os.read(fd, 1024)
        except OSError:  # the child closed the terminal
            break
    return seen
