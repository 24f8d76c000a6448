"""``aabent sip2 check`` and ``aabent sip2 patron CARD`` as staff run them, against the test ACS."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

from services.settings import Sip2Settings, load_settings
from tests.services.sip2.conftest import ROOT, Acs
from tests.services.sip2.library import LOGIN
from tests.services.sip2.rogue_server import Rogue, RogueAcs

# The real ``aabent`` entry point (services.cli.main) in a process of its own, with only this
# package's commands registered, so other jobs' commands in progress cannot break these tests.
MAIN = (
    "import sys, services.cli.main as cli; cli.COMMAND_MODULES = ('services.sip2.cli',); "
    "sys.exit(cli.main(sys.argv[1:]))"
)


def aabent(config: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """Run ``aabent -c config ARGS`` with ``stdin`` piped in."""
    return subprocess.run(
        [sys.executable, "-c", MAIN, "-c", str(config), *args],
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=30,
    )


def config_for(tmp_path: Path, port: int, login: bool = False) -> Path:
    """A settings file pointing [sip2] at the test ACS."""
    lines = ["[sip2]", 'host = "127.0.0.1"', f"port = {port}", "timeout_s = 1.0"]
    if login:
        (tmp_path / "sip2.password").write_text(LOGIN[1] + "\n")
        lines += [f'login_user = "{LOGIN[0]}"', f'password_file = "{tmp_path / "sip2.password"}"']
    path = tmp_path / "aabent.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_check_logs_in_and_prints_what_the_library_system_supports(
    acs_login: Acs, tmp_path: Path
) -> None:
    result = aabent(config_for(tmp_path, acs_login.port, login=True), "sip2", "check")
    assert result.returncode == 0, result.stderr
    assert "institution DK-761500" in result.stdout
    assert "online: yes" in result.stdout
    assert "supports: patron status, SC/ACS status" in result.stdout
    assert "does not support: checkout, checkin" in result.stdout


def test_check_says_so_when_the_library_system_is_not_there(tmp_path: Path) -> None:
    result = aabent(config_for(tmp_path, 1), "sip2", "check")
    assert result.returncode == 1 and "library system unavailable" in result.stderr


def test_patron_reads_the_pin_without_echo_and_never_prints_card_or_pin(
    acs: Acs, tmp_path: Path
) -> None:
    result = aabent(config_for(tmp_path, acs.port), "sip2", "patron", "9000000001", stdin="1234\n")
    assert result.returncode == 0, result.stderr
    assert "card ****01 (card)" in result.stdout and "PIN: accepted" in result.stdout
    assert "birth date: 1980-03-01" in result.stdout
    assert "9000000001" not in result.stdout + result.stderr
    assert "1234" not in result.stdout + result.stderr


def test_patron_with_a_wrong_pin_exits_3(acs: Acs, tmp_path: Path) -> None:
    result = aabent(config_for(tmp_path, acs.port), "sip2", "patron", "9000000002", stdin="0\n")
    assert result.returncode == 3 and "PIN: wrong" in result.stdout
    assert "refused: wrong_pin" in result.stdout


def test_patron_gives_the_doors_answer_and_an_exit_code_per_outcome(
    acs: Acs, tmp_path: Path
) -> None:
    config = config_for(tmp_path, acs.port)
    admitted = aabent(config, "sip2", "patron", "9000000001", stdin="1234\n")
    assert admitted.returncode == 0 and "door, self-service hours: admitted" in admitted.stdout
    unknown = aabent(config, "sip2", "patron", "9000009999", stdin="1234\n")
    assert unknown.returncode == 3 and "PIN: not judged" in unknown.stdout
    assert "refused: unknown_card (Kortet kendes ikke)" in unknown.stdout
    blocked = aabent(config, "sip2", "patron", "9000000002", stdin="2222\n")
    assert blocked.returncode == 4 and "refused: patron_blocked" in blocked.stdout
    lost = aabent(config, "sip2", "patron", "9000000003", stdin="3333\n")
    assert lost.returncode == 4 and "refused: card_lost" in lost.stdout
    no_pin = aabent(config, "sip2", "patron", "9000000001", "--no-pin")
    assert no_pin.returncode == 3 and "refused: pin_required" in no_pin.stdout


def test_patron_takes_the_birth_date_from_a_cpr_number_as_the_door_does(
    acs: Acs, tmp_path: Path
) -> None:
    result = aabent(config_for(tmp_path, acs.port), "sip2", "patron", "0103801234", stdin="0000\n")
    assert result.returncode == 0, result.stdout
    assert "birth date: 1980-03-01 (from the CPR number)" in result.stdout


def test_patron_says_a_login_is_needed_when_none_is_configured(
    rogue: RogueAcs, tmp_path: Path
) -> None:
    rogue.rogue = Rogue(login=LOGIN)  # closes the connection of anyone who does not log in
    result = aabent(config_for(tmp_path, rogue.port), "sip2", "patron", "9000000001", stdin="1\n")
    assert result.returncode == 1 and "no login_user is set in [sip2]" in result.stderr


def test_the_example_config_documents_sip2_and_keeps_the_local_directory() -> None:
    settings = load_settings(ROOT / "config" / "aabent.toml")
    assert settings.patrons.directory == "local"
    text = (ROOT / "config" / "aabent.toml").read_text()
    example = text[text.index("# [sip2]") :]
    settings_lines = re.findall(r"^# ([a-z_\[].*)$", example, flags=re.MULTILINE)
    uncommented = "\n".join(settings_lines)
    sip2 = Sip2Settings.model_validate(tomllib.loads(uncommented)["sip2"])
    assert (sip2.transport, sip2.agency, sip2.offline_days) == ("fbs-https", "761500", 14)
