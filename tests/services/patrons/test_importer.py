"""CSV import into the local registry: every row checked first, then all patrons or none."""

from __future__ import annotations

import io
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from services.core.access import AccessRules, DoorContext, Reason, decide
from services.core.credentials import Credential, SiteKey
from services.core.patrons import PatronStatus, PinCheck
from services.core.schedule import OpeningState
from services.patrons.importer import ImportSummary, PatronImportError, import_patrons
from services.patrons.registry import LocalRegistry
from services.store.engine import make_sessionmaker
from services.store.patrons import PatronRecord
from services.store.schema import create_schema

KEY = SiteKey(b"import-test-key-0123456789abcdefgh")
DEMO = Path(__file__).resolve().parents[3] / "config" / "demo-patrons.csv"
HEADER = "card_number,cpr,name,birth_date,pin,status,expires,guardian_consent\n"


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    create_schema(engine)
    return make_sessionmaker(engine)


@pytest.fixture
def registry(sessions: sessionmaker[Session]) -> LocalRegistry:
    return LocalRegistry(sessions, KEY)


def _import(sessions: sessionmaker[Session], source: Path | io.StringIO) -> ImportSummary:
    with sessions() as session, session.begin():
        return import_patrons(session, KEY, source)


def _csv(tmp_path: Path, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / "patrons.csv"
    path.write_bytes(text.encode(encoding))
    return path


def _card(number: str) -> Credential:
    return Credential.from_text(number)


def test_imported_patrons_open_with_their_pin(
    sessions: sessionmaker[Session], registry: LocalRegistry, tmp_path: Path
) -> None:
    path = _csv(tmp_path, HEADER + "10000001,,Karen Jensen,1975-04-12,1234,,2029-12-31,\n")
    assert _import(sessions, path) == ImportSummary(added=1, updated=0, rows=1)
    auth = registry.authenticate(_card("10000001"), "1234")
    assert auth.pin is PinCheck.OK and auth.patron is not None
    assert auth.patron.birth_date == date(1975, 4, 12)
    assert auth.patron.expires == date(2029, 12, 31)
    assert auth.patron.status is PatronStatus.ACTIVE and auth.patron.guardian_consent is False


def test_danish_excel_file_with_bom_semicolons_and_crlf(
    sessions: sessionmaker[Session], registry: LocalRegistry, tmp_path: Path
) -> None:
    text = "card_number;name;guardian_consent\r\n10000005;Søren Ærø-Åberg;Ja\r\n"
    _import(sessions, _csv(tmp_path, text, encoding="utf-8-sig"))
    patron = registry.find(_card("10000005"))
    assert patron is not None
    assert patron.name == "Søren Ærø-Åberg" and patron.guardian_consent is True


def test_a_cpr_row_takes_its_birth_date_from_the_cpr_number(
    sessions: sessionmaker[Session], registry: LocalRegistry, tmp_path: Path
) -> None:
    _import(sessions, _csv(tmp_path, "cpr,name\n010513-4000,Oscar Pedersen\n"))
    patron = registry.find(_card("0105134000"))
    assert patron is not None and patron.birth_date == date(2013, 5, 1)


def test_every_bad_row_is_reported_and_nothing_is_written(
    sessions: sessionmaker[Session], registry: LocalRegistry, tmp_path: Path
) -> None:
    text = HEADER + (
        "10000001,,Karen Jensen,,1234,,,\n"  # fine, but must not be written
        "10000002,,,12-04-1975,12,sleeping,2029-02-30,maybe\n"
        ",3213801234,Mads Nielsen,,,,,\n"
        ",010180-0000,Mads Nielsen,1980-01-02,,,,\n"
        "0101800000,,Card Like Cpr,,,,,\n"
        ",,Nobody,,,,,\n"
        "10000001,,Karen Twice,,,,,\n"
        "10000009,too,many,fields,,,,,\n"
    )
    path = _csv(tmp_path, text)
    with pytest.raises(PatronImportError) as caught:
        _import(sessions, path)
    assert caught.value.problems == (
        f"{path}:3: name: missing",
        f"{path}:3: birth_date: expected a date as YYYY-MM-DD",
        f"{path}:3: pin: a PIN is 4 to 8 digits",
        f"{path}:3: status: expected one of active, blocked, expired, card_lost, pin_blocked",
        f"{path}:3: expires: not a real date (YYYY-MM-DD)",
        f"{path}:3: guardian_consent: expected yes/no, ja/nej or 1/0",
        f"{path}:4: cpr: the first six digits are not a date",
        f"{path}:5: birth_date: differs from the birth date in the CPR number",
        f"{path}:6: card_number: reads as a CPR number (a date and four digits); use the cpr field",
        f"{path}:7: card_number: missing (a row needs card_number or cpr)",
        f"{path}:8: card_number: the same number is on line 2",
        f"{path}:9: has 9 fields, the header has 8",
    )
    for number in ("10000002", "3213801234", "010180", "0101800000"):
        assert number not in str(caught.value)
    assert registry.count() == 0


def test_a_bad_header_is_reported_before_any_row(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    path = _csv(tmp_path, "card,navn\n10000001,Karen\n")
    with pytest.raises(PatronImportError) as caught:
        _import(sessions, path)
    assert caught.value.problems == (
        f"{path}:1: card: unknown column",
        f"{path}:1: navn: unknown column",
        f"{path}:1: name: missing column",
        f"{path}:1: card_number: missing column (card_number or cpr)",
    )


def test_a_file_that_is_not_utf8_names_the_line(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    path = _csv(tmp_path, "card_number,name\n10000001,Karen\n10000002,Søren\n", "cp1252")
    with pytest.raises(PatronImportError, match=rf"^{path}:3: not UTF-8"):
        _import(sessions, path)


def test_a_missing_file_is_named(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    with pytest.raises(PatronImportError, match=r"nope\.csv: cannot read"):
        _import(sessions, tmp_path / "nope.csv")


def test_reimport_updates_the_patron_matched_by_card_and_keeps_empty_cells(
    sessions: sessionmaker[Session], registry: LocalRegistry, tmp_path: Path
) -> None:
    _import(
        sessions, _csv(tmp_path, HEADER + "10000001,,Karen Jensen,1975-04-12,1234,,2029-12-31,ja\n")
    )
    before = registry.find(_card("10000001"))
    text = HEADER + "10000001,,Karen Holm,,,blocked,,\n10000002,,Ida Møller,,,,,\n"
    assert _import(sessions, _csv(tmp_path, text)) == ImportSummary(added=1, updated=1, rows=2)
    after = registry.find(_card("10000001"))
    assert before is not None and after is not None
    assert after.patron_id == before.patron_id
    assert after.name == "Karen Holm" and after.status is PatronStatus.BLOCKED
    assert (after.birth_date, after.expires, after.guardian_consent) == (
        date(1975, 4, 12),
        date(2029, 12, 31),
        True,
    )
    assert registry.authenticate(_card("10000001"), "1234").pin is PinCheck.OK
    assert registry.count() == 2


def test_importing_the_same_file_twice_changes_nothing(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    _import(sessions, DEMO)
    with sessions() as session:
        first = {
            r.patron_id: (r.pin_hash, r.updated) for r in session.scalars(select(PatronRecord))
        }
    assert _import(sessions, DEMO) == ImportSummary(added=0, updated=6, rows=6)
    with sessions() as session:
        again = {
            r.patron_id: (r.pin_hash, r.updated) for r in session.scalars(select(PatronRecord))
        }
    assert again == first


def test_a_new_card_for_a_known_cpr_number_replaces_the_old_card(
    sessions: sessionmaker[Session], registry: LocalRegistry, tmp_path: Path
) -> None:
    _import(sessions, _csv(tmp_path, "card_number,cpr,name\n10000004,0105134000,Oscar\n"))
    _import(sessions, _csv(tmp_path, "card_number,cpr,name\n10000044,0105134000,Oscar\n"))
    assert registry.find(_card("10000004")) is None
    assert registry.find(_card("10000044")) == registry.find(_card("0105134000"))
    assert registry.count() == 1


def test_a_card_and_a_cpr_number_of_two_patrons_cannot_be_joined(
    sessions: sessionmaker[Session], registry: LocalRegistry, tmp_path: Path
) -> None:
    _import(sessions, _csv(tmp_path, "card_number,cpr,name\n10000001,,Karen\n,0101800000,Mads\n"))
    path = _csv(tmp_path, "card_number,cpr,name\n10000001,0101800000,Karen\n")
    with pytest.raises(PatronImportError) as caught:
        _import(sessions, path)
    assert caught.value.problems == (f"{path}:2: cpr: card and CPR number belong to two patrons",)
    assert registry.find(_card("10000001")) is not None
    assert registry.find(_card("10000001")) != registry.find(_card("0101800000"))


def test_two_rows_for_one_stored_patron_are_refused(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    _import(sessions, _csv(tmp_path, "card_number,cpr,name\n10000004,0105134000,Oscar\n"))
    path = _csv(tmp_path, "card_number,cpr,name\n10000004,,Oscar\n,0105134000,Oscar P\n")
    with pytest.raises(PatronImportError) as caught:
        _import(sessions, path)
    assert caught.value.problems == (f"{path}:3: cpr: the same patron is on line 2",)


def test_an_open_text_stream_imports_too(
    sessions: sessionmaker[Session], registry: LocalRegistry
) -> None:
    stream = io.StringIO("\ufeffcard_number;name\n\n10000001;Karen\n;;\n")
    assert _import(sessions, stream) == ImportSummary(added=1, updated=0, rows=1)
    assert registry.count() == 1


@pytest.mark.parametrize(
    ("cell", "consent"), [("yes", True), ("JA", True), ("1", True), ("no", False), ("Nej", False)]
)
def test_guardian_consent_spellings(
    sessions: sessionmaker[Session],
    registry: LocalRegistry,
    tmp_path: Path,
    cell: str,
    consent: bool,
) -> None:
    _import(sessions, _csv(tmp_path, f"card_number,name,guardian_consent\n10000001,Freja,{cell}\n"))
    patron = registry.find(_card("10000001"))
    assert patron is not None and patron.guardian_consent is consent


DEMO_OUTCOMES = {
    ("10000001", "1234"): Reason.GRANTED,  # Karen Jensen, adult, library card
    ("010180-0000", "2468"): Reason.GRANTED,  # Mads Nielsen, adult, yellow health card
    ("10000003", "1111"): Reason.UNDER_AGE,  # Freja Hansen, 12, no guardian consent
    ("10000004", "2222"): Reason.GRANTED,  # Oscar Pedersen, 13, guardian consent
    ("010513-4000", "2222"): Reason.GRANTED,  # Oscar's health card
    ("10000005", "3333"): Reason.PATRON_BLOCKED,  # Søren Larsen
    ("10000006", "4444"): Reason.PATRON_EXPIRED,  # Ida Møller, expired 2026-06-30
    ("10000001", "0000"): Reason.WRONG_PIN,
}


@pytest.mark.parametrize(("number", "pin"), list(DEMO_OUTCOMES))
def test_the_demo_patrons_meet_the_door_as_the_readme_says(
    sessions: sessionmaker[Session], registry: LocalRegistry, number: str, pin: str
) -> None:
    assert _import(sessions, DEMO) == ImportSummary(added=6, updated=0, rows=6)
    now = datetime(2026, 11, 25, 20, 0, tzinfo=ZoneInfo("Europe/Copenhagen"))
    auth = registry.authenticate(Credential.from_text(number), pin)
    decision = decide(now, auth, DoorContext(OpeningState.SELF_SERVICE), AccessRules())
    assert decision.reason is DEMO_OUTCOMES[(number, pin)]
