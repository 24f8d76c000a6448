"""``aabent program import``: iCalendar with recurrences, CSV with relative dates, the demo."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, select

from services.program.importer import ImportWindow, ProgramImportError, import_file
from services.program.store import activities_between
from services.store.base import Base
from services.store.engine import make_engine, make_sessionmaker
from services.store.program import PROGRAM_TABLES, ProgramActivity

ZONE = ZoneInfo("Europe/Copenhagen")
NOW = datetime(2026, 3, 20, 9, 0, tzinfo=ZONE)  # a Friday; summer time begins 2026-03-29
ROOT = Path(__file__).resolve().parents[3]

ICS = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:strik@test
SUMMARY:Strikkecafé
LOCATION:Caféen
CATEGORIES:Fællesskab
DTSTART;TZID=Europe/Copenhagen:20260106T100000
DTEND;TZID=Europe/Copenhagen:20260106T120000
RRULE:FREQ=WEEKLY;BYDAY=TU
EXDATE;TZID=Europe/Copenhagen:20260331T100000
X-AABENT-CAPACITY:20
END:VEVENT
BEGIN:VEVENT
UID:foredrag@test
SUMMARY:Foredrag
DTSTART:20260326T180000Z
DURATION:PT90M
X-AABENT-REGISTRATION:TRUE
X-AABENT-CAPACITY:80
END:VEVENT
BEGIN:VEVENT
UID:aflyst@test
SUMMARY:Aflyst koncert
STATUS:CANCELLED
DTSTART;TZID=Europe/Copenhagen:20260325T190000
END:VEVENT
BEGIN:VEVENT
UID:bad@test
SUMMARY:Uden start
END:VEVENT
END:VCALENDAR
"""


@pytest.fixture
def db(tmp_path: Path) -> Engine:
    """A SQLite file with the program's tables."""
    engine = make_engine(f"sqlite:///{tmp_path / 'program.sqlite'}")
    Base.metadata.create_all(engine, tables=list(PROGRAM_TABLES))
    return engine


def run_import(engine: Engine, path: Path, weeks: int = 3):  # type: ignore[no-untyped-def]
    with make_sessionmaker(engine).begin() as session:
        return import_file(session, path, ImportWindow.around(NOW, ZONE, weeks))


def stored(engine: Engine) -> list[ProgramActivity]:
    with make_sessionmaker(engine)() as session:
        return list(session.scalars(select(ProgramActivity).order_by(ProgramActivity.starts)))


def test_weekly_events_are_expanded_in_the_window_at_the_same_wall_clock_time(
    db: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "program.ics"
    path.write_text(ICS, encoding="utf-8")
    report = run_import(db, path)
    assert report.added == 3 and report.updated == 0
    assert len(report.skipped) == 1 and "event 4" in report.skipped[0]
    events = stored(db)
    knitting = [e for e in events if e.title == "Strikkecafé"]
    # Tuesdays from 2026-03-20 for three weeks, without the excluded 31 March.
    days = [e.starts.astimezone(ZONE).date() for e in knitting]
    assert days == [date(2026, 3, 24), date(2026, 4, 7)]
    # 10:00 both before and after summer time begins.
    assert {e.starts.astimezone(ZONE).time() for e in knitting} == {time(10, 0)}
    assert knitting[0].uid == "strik@test/2026-03-24"
    first = knitting[0]
    assert (first.capacity, first.location, first.category) == (20, "Caféen", "Fællesskab")
    talk = next(e for e in events if e.title == "Foredrag")
    assert talk.registration and talk.capacity == 80 and talk.uid == "foredrag@test"
    assert talk.ends - talk.starts == timedelta(minutes=90)
    assert not any(e.title == "Aflyst koncert" for e in events)


def test_importing_again_updates_events_and_keeps_their_seats(db: Engine, tmp_path: Path) -> None:
    path = tmp_path / "program.ics"
    path.write_text(ICS, encoding="utf-8")
    run_import(db, path)
    with make_sessionmaker(db).begin() as session:
        session.execute(ProgramActivity.__table__.update().values(seats_taken=4))
    path.write_text(ICS.replace("LOCATION:Caféen", "LOCATION:Salen"), encoding="utf-8")
    report = run_import(db, path)
    assert (report.added, report.updated) == (0, 3)
    events = stored(db)
    assert len(events) == 3 and {e.seats_taken for e in events} == {4}
    assert {e.location for e in events if e.title == "Strikkecafé"} == {"Salen"}


MOVED = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:sang@test
SUMMARY:Fællessang
DTSTART;TZID=Europe/Copenhagen:20260305T140000
DTEND;TZID=Europe/Copenhagen:20260305T150000
RRULE:FREQ=WEEKLY;BYDAY=TH
END:VEVENT
BEGIN:VEVENT
UID:sang@test
RECURRENCE-ID;TZID=Europe/Copenhagen:20260326T140000
SUMMARY:Fællessang (flyttet)
DTSTART;TZID=Europe/Copenhagen:20260327T160000
DTEND;TZID=Europe/Copenhagen:20260327T170000
LOCATION:Salen
END:VEVENT
BEGIN:VEVENT
UID:sang@test
RECURRENCE-ID;TZID=Europe/Copenhagen:20260402T140000
SUMMARY:Fællessang
STATUS:CANCELLED
DTSTART;TZID=Europe/Copenhagen:20260402T140000
END:VEVENT
BEGIN:VEVENT
UID:broken@test
SUMMARY:Regel uden mening
DTSTART;TZID=Europe/Copenhagen:20260323T100000
RRULE:FREQ=SOMETIMES
END:VEVENT
END:VCALENDAR
"""


def test_a_moved_or_cancelled_occurrence_replaces_the_planned_one(
    db: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "program.ics"
    path.write_text(MOVED, encoding="utf-8")
    report = run_import(db, path)
    assert len(report.skipped) == 1 and "event 2" in report.skipped[0]  # the broken rule only
    singing = [(e.uid, e.title, e.starts.astimezone(ZONE), e.location) for e in stored(db)]
    assert singing == [
        # planned for Thursday 26 March, moved to Friday 16:00: same uid, so its seats stay
        (
            "sang@test/2026-03-26",
            "Fællessang (flyttet)",
            datetime(2026, 3, 27, 16, tzinfo=ZONE),
            "Salen",
        ),
        # 2 April cancelled; 9 April as planned, at 14:00 after summer time began
        ("sang@test/2026-04-09", "Fællessang", datetime(2026, 4, 9, 14, tzinfo=ZONE), ""),
    ]


def test_a_reimport_withdraws_what_the_calendar_cancelled_and_keeps_broken_series(
    db: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "program.ics"
    planned = MOVED.split("BEGIN:VEVENT\nUID:sang@test\nRECURRENCE-ID")[0] + "END:VCALENDAR\n"
    path.write_text(planned, encoding="utf-8")
    assert run_import(db, path).added == 3  # 26 March, 2 and 9 April as planned
    with make_sessionmaker(db).begin() as session:
        april = session.scalars(
            select(ProgramActivity).where(ProgramActivity.uid.endswith("04-02"))
        )
        april.one().seats_taken = 2
    path.write_text(MOVED.replace("FREQ=WEEKLY;BYDAY=TH", "FREQ=WEEKLY;BYDAY=XX"), encoding="utf-8")
    report = run_import(db, path)  # the series is broken now: skipped, and nothing withdrawn
    assert report.withdrawn == 0 and len(stored(db)) == 3
    path.write_text(MOVED, encoding="utf-8")
    report = run_import(db, path)
    assert (report.updated, report.withdrawn) == (2, 1)
    assert [e.uid for e in stored(db)] == ["sang@test/2026-03-26", "sang@test/2026-04-09"]
    assert report.summary() == "0 added, 2 updated, 1 skipped, 1 withdrawn"


def test_a_bad_occurrence_skips_its_whole_series(db: Engine, tmp_path: Path) -> None:
    path = tmp_path / "program.ics"
    broken = MOVED.replace("LOCATION:Salen", "LOCATION:Salen\nX-AABENT-CAPACITY:mange")
    path.write_text(broken, encoding="utf-8")
    report = run_import(db, path)
    assert stored(db) == [] and "event 1" in report.skipped[0] and "capacity" in report.skipped[0]


def test_csv_takes_absolute_and_relative_dates_and_reports_bad_rows(
    db: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "program.csv"
    path.write_text(
        "title;start;end;capacity;registration;location\n"
        "Lektiecafé;2026-03-23 15:00;17:00;30;;Ungeafdelingen\n"
        "Læsehund;+2 16:00;17:00;3;ja;Børnebiblioteket\n"
        "Uden slut;+1 10:00;09:00;;;\n"
        "Mærkelig;i morgen;10:00;;;\n"
        "Forkert antal;+1 10:00;11:00;mange;;\n",
        encoding="utf-8",
    )
    report = run_import(db, path)
    assert report.added == 2 and len(report.skipped) == 3
    assert "row 4" in report.skipped[0] and "not after the start" in report.skipped[0]
    assert "row 5" in report.skipped[1] and "i morgen" in report.skipped[1]
    assert "capacity" in report.skipped[2]
    dog = next(e for e in stored(db) if e.title == "Læsehund")
    assert dog.starts.astimezone(ZONE) == datetime(2026, 3, 22, 16, 0, tzinfo=ZONE)
    assert dog.registration and dog.capacity == 3


def test_a_file_that_is_neither_is_refused_whole(db: Engine, tmp_path: Path) -> None:
    path = tmp_path / "program.csv"
    path.write_text("navn,tid\nStrik,10\n", encoding="utf-8")
    with pytest.raises(ProgramImportError, match="missing columns: end, start, title"):
        run_import(db, path)
    with pytest.raises(ProgramImportError, match="No such file"):
        run_import(db, tmp_path / "missing.ics")


def test_the_demo_program_fills_the_coming_two_weeks_with_glostrup_style_events(
    db: Engine,
) -> None:
    report = run_import(db, ROOT / "config" / "demo-program.ics", weeks=4)
    assert not report.skipped and report.added > 30
    with make_sessionmaker(db)() as session:
        fortnight = activities_between(session, NOW, NOW + timedelta(days=14))
    titles = {e.title for e in fortnight}
    for kind in ("Strikkecafé", "Fællessang", "Repair Café", "Læs for en hund", "Lektiecafé"):
        assert kind in titles
    assert any(t.startswith("IT-café") for t in titles)
    assert any(t.startswith("Foredrag") for t in titles)
    assert any(e.registration for e in fortnight)


def test_an_activitys_page_comes_from_ical_url_or_the_csv_and_only_over_http(
    db: Engine, tmp_path: Path
) -> None:
    ics = tmp_path / "pages.ics"
    ics.write_text(
        "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//test//EN\n"
        "BEGIN:VEVENT\nUID:side@test\nSUMMARY:Med side\n"
        "DTSTART;TZID=Europe/Copenhagen:20260324T100000\nDURATION:PT1H\n"
        "URL:https://glostrupbib.dk/arrangementer/med-side\nEND:VEVENT\n"
        "BEGIN:VEVENT\nUID:js@test\nSUMMARY:Skummel\n"
        "DTSTART;TZID=Europe/Copenhagen:20260324T120000\nDURATION:PT1H\n"
        "URL:javascript:alert(1)\nEND:VEVENT\n"
        "END:VCALENDAR\n",
        encoding="utf-8",
    )
    run_import(db, ics)
    csv = tmp_path / "pages.csv"
    csv.write_text(
        "title;start;end;url\nLæsehund;+2 16:00;17:00;http://bib.example/laesehund\n"
        "Ingen side;+2 18:00;19:00;bib.example/uden-skema\n",
        encoding="utf-8",
    )
    run_import(db, csv)
    pages = {e.title: e.url for e in stored(db)}
    assert pages["Med side"] == "https://glostrupbib.dk/arrangementer/med-side"
    assert pages["Skummel"] == "" and pages["Ingen side"] == ""
    assert pages["Læsehund"] == "http://bib.example/laesehund"
    with make_sessionmaker(db)() as session:
        items = activities_between(session, NOW, NOW + timedelta(days=7))
    assert {i.title: i.url for i in items}["Med side"].endswith("/med-side")
