"""Applying imports: whole or not at all, corrupt records skipped, re-import updates by id."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError

from services.store.catalogue import CopyStatus, ImportFailed, Problem
from tests.services.catalogue.conftest import Catalogue
from tests.services.catalogue.records import danmarc, iso2709

HEADER = "id,title,author,year,isbn,dk5,subjects,barcode,department,status,due_date\n"
TWO_TITLES = (
    HEADER
    + "1001,Kvinden i buret,Jussi Adler-Olsen,2007,,sk,krimi,B1,Voksen,,\n"
    + "1001,Kvinden i buret,,,,,,B2,Voksen,udlånt,2025-03-31\n"
    + "1002,Almanak,Claus Meyer,2010,,64.1,madlavning,B3,Voksen,,\n"
)


def test_an_import_stores_titles_and_copies_and_reports_what_it_did(catalogue: Catalogue) -> None:
    report = catalogue.load(TWO_TITLES)
    assert (report.read, report.added, report.updated, report.copies) == (2, 2, 0, 3)
    assert report.summary() == (
        "2 records: 2 added, 0 updated, 0 deleted, 3 copies, 0 skipped, 0 warnings"
    )
    assert catalogue.counts() == (2, 3)


def test_reimport_updates_a_title_by_its_id_and_replaces_its_copies(catalogue: Catalogue) -> None:
    catalogue.load(TWO_TITLES)
    report = catalogue.load(HEADER + "1001,Kvinden i buret,Jussi Adler-Olsen,2008,,sk,,B9,Børn,,\n")
    assert (report.added, report.updated) == (0, 1)
    detail = catalogue.item("1001")
    assert detail.year == 2008
    assert [(c.barcode, c.department) for c in detail.copies] == [("B9", "Børn")]
    assert catalogue.counts() == (2, 2)  # Almanak, untouched, keeps its copy
    assert catalogue.titles("kvinden") == ["Kvinden i buret"]


def test_a_copy_that_moves_to_another_title_leaves_the_old_one(catalogue: Catalogue) -> None:
    catalogue.load(TWO_TITLES)
    catalogue.load(HEADER + "1003,Nordkraft,Jakob Ejersbo,2002,,sk,,B3,Voksen,,\n")
    assert catalogue.item("1002").copies == ()
    assert [c.barcode for c in catalogue.item("1003").copies] == ["B3"]


def test_a_record_marked_deleted_is_removed_with_its_copies(catalogue: Catalogue) -> None:
    catalogue.load(iso2709(danmarc("29000007", "Kvinden i buret", copies=({"x": "B1"},))), "a.mrc")
    report = catalogue.load(iso2709(danmarc("29000007", "", deleted=True)), "b.mrc")
    assert report.deleted == 1
    assert catalogue.counts() == (0, 0)
    assert catalogue.search("kvinden") == []


def test_corrupt_records_are_skipped_and_the_rest_is_applied(catalogue: Catalogue) -> None:
    report = catalogue.load(TWO_TITLES + "1004,,,,,,,,,,\n1005,Ronja,,,,,,B5,,,\n")
    assert report.skipped == [Problem("line 5", "id 1004: no title")]
    assert catalogue.counts() == (3, 4)


def test_strict_mode_applies_nothing_when_a_record_is_corrupt(catalogue: Catalogue) -> None:
    with pytest.raises(ImportFailed, match="1 corrupt records, the first at line 5: id 1004"):
        catalogue.load(TWO_TITLES + "1004,,,,,,,,,,\n", strict=True)
    assert catalogue.counts() == (0, 0)


def test_a_repeated_record_id_or_barcode_in_one_file_skips_the_later_record(
    catalogue: Catalogue,
) -> None:
    report = catalogue.load(
        TWO_TITLES + "1005,Ronja,,,,,,B1,,,\n1006,Matilda,,,,,,B6,,,\n1001,Igen,,,,,,B7,,,\n"
    )
    assert report.skipped == [
        Problem("line 5", "record 1005: barcode B1 is already used by record 1001"),
        Problem("line 7", "record id 1001 repeats (line 2)"),
    ]
    assert catalogue.counts() == (3, 4)


def test_a_file_that_cannot_be_read_applies_nothing(catalogue: Catalogue) -> None:
    catalogue.load(TWO_TITLES)
    broken = TWO_TITLES.replace("1002,Almanak", "1002,Almanak-2") + '1009,x,"unterminated\n'
    with pytest.raises(ImportFailed, match=r"catalogue\.csv: line 5: broken CSV"):
        catalogue.load(broken)
    assert catalogue.titles("almanak") == ["Almanak"]


def test_a_database_failure_part_way_rolls_back_the_whole_import(catalogue: Catalogue) -> None:
    catalogue.load(TWO_TITLES)
    many = HEADER + "".join(f"{2000 + n},Titel {n},,,,,,C{n},,,\n" for n in range(2500))

    def fail_on_second_batch(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if "INSERT INTO catalogue_copies" in statement and "C2499" in str(parameters):
            raise RuntimeError("disk full")

    event.listen(catalogue.engine, "before_cursor_execute", fail_on_second_batch)
    try:
        with pytest.raises((RuntimeError, DBAPIError), match="disk full"):
            catalogue.load(many)
    finally:
        event.remove(catalogue.engine, "before_cursor_execute", fail_on_second_batch)
    assert catalogue.counts() == (2, 3)
    assert catalogue.search("titel") == []


def test_an_unknown_file_fails_with_its_name(catalogue: Catalogue) -> None:
    with pytest.raises(ImportFailed, match=r"nowhere\.csv: No such file"):
        from services.catalogue.importer import import_file

        import_file(None, catalogue.folder / "nowhere.csv")  # type: ignore[arg-type]


def test_status_words_in_danish_are_stored_as_statuses(catalogue: Catalogue) -> None:
    catalogue.load(
        HEADER + "1,Zappa,,,,,,B1,,Hjemme,\n1,,,,,,,B2,,reserveret,\n1,,,,,,,B3,,Bortkommet,\n"
    )
    assert [c.status for c in catalogue.item("1").copies] == [
        CopyStatus.AVAILABLE, CopyStatus.RESERVED, CopyStatus.MISSING,
    ]  # fmt: skip


def test_the_demo_catalogue_imports_cleanly_with_fiction_non_fiction_and_departments(
    catalogue: Catalogue,
) -> None:
    demo = Path(__file__).resolve().parents[3] / "config" / "demo-catalogue.csv"
    report = catalogue.load(demo.read_bytes())
    assert not report.skipped and not report.warnings
    assert 50 <= report.added <= 100
    [ninja] = catalogue.search("ternet ninja")
    assert ninja.shelf_mark == "Matthesen, Anders"
    assert {c.department for c in catalogue.item(ninja.record_id).copies} == {"Børn"}
    [krimi] = catalogue.search("kvinden i buret")
    assert {c.department for c in catalogue.item(krimi.record_id).copies} == {"Voksen", "Magasin"}
    assert catalogue.search("H.C. Andersen biografi")[0].shelf_mark == "99.4 Andersen"
