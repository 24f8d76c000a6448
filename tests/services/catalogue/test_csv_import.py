"""CSV catalogues: one row per copy, Danish or English headers, bad rows named by line."""

from __future__ import annotations

import io
from datetime import date

import pytest

from services.catalogue.csv_import import read_csv
from services.store.catalogue import CopyStatus, ImportedRecord, ImportFailed, Problem

HEADER = "id,title,author,year,isbn,dk5,subjects,barcode,department,status,due_date\n"


def read(text: str | bytes) -> list[ImportedRecord | Problem]:
    data = text.encode() if isinstance(text, str) else text
    return list(read_csv(io.BytesIO(data)))


def test_consecutive_rows_with_one_id_are_the_copies_of_one_title() -> None:
    entries = read(
        HEADER
        + "1001,Kvinden i buret,Jussi Adler-Olsen,2007,978-87-567-9039-0,sk,krimi; Afdeling Q,"
        "B1,Voksen,udlånt,2025-03-31\n"
        "1001,,,,,,,B2,Magasin,,\n"
        '1002,Almanak,"Meyer, Claus",2010,,64.1,madlavning,,,,\n'
    )
    first, second = entries
    assert isinstance(first, ImportedRecord) and isinstance(second, ImportedRecord)
    assert (first.record_id, first.title, first.author, first.year) == (
        "1001", "Kvinden i buret", "Adler-Olsen, Jussi", 2007,
    )  # fmt: skip
    assert first.subjects == ("krimi", "Afdeling Q")
    assert [(c.barcode, c.department, c.status, c.due_date) for c in first.copies] == [
        ("B1", "Voksen", CopyStatus.ON_LOAN, date(2025, 3, 31)),
        ("B2", "Magasin", CopyStatus.AVAILABLE, None),
    ]
    assert first.copies[0].shelf_mark == "Adler-Olsen, Jussi"
    assert (second.author, second.shelf_mark, second.copies) == ("Meyer, Claus", "64.1 Meyer", ())


def test_danish_headers_and_semicolons_from_danish_excel_are_understood() -> None:
    text = "\ufeffFaust;Titel;Forfatter;År;Stregkode;Afdeling;Opstilling;Status;Afleveringsdato\n"
    text += "29000007;Zappa;Bjarne Reuter;1977;3740001;Børn;Reuter;Reserveret;\n"
    [record] = read(text)
    assert isinstance(record, ImportedRecord)
    assert (record.record_id, record.title, record.year) == ("29000007", "Zappa", 1977)
    [copy] = record.copies
    assert (copy.department, copy.shelf_mark, copy.status) == (
        "Børn",
        "Reuter",
        CopyStatus.RESERVED,
    )


def test_a_row_with_the_wrong_number_of_fields_is_skipped_with_its_line() -> None:
    entries = read(HEADER + "1,Zappa,,,,,,,,,\n2,Matilda,Roald Dahl,1988\n3,Ronja,,,,,,,,,\n")
    assert entries[1] == Problem("line 3", "4 fields, the header has 11")
    assert [e.record_id for e in entries if isinstance(e, ImportedRecord)] == ["1", "3"]


def test_a_bad_value_skips_its_title_naming_the_line_and_the_id() -> None:
    entries = read(
        HEADER
        + "1,Zappa,,,,,,B1,Børn,,\n"
        + "1,Zappa,,,,,,B2,Børn,udsolgt,\n"
        + "2,Matilda,,19x8,,,,,,,\n"
        + "3,,Nobody,,,,,,,,\n"
    )
    assert entries == [
        Problem("line 3", "id 1: unknown copy status 'udsolgt' "
                "(use available, on_loan, reserved, not_for_loan, missing or Danish)"),
        Problem("line 4", "year '19x8' is not a year"),
        Problem("line 5", "id 3: no title"),
    ]  # fmt: skip


def test_line_numbers_count_the_lines_of_quoted_multi_line_fields() -> None:
    text = 'id,title,abstract,year\n1,Zappa,"Første linje\nanden linje",1977\n2,Ronja,,år 1981?\n'
    entries = read(text)
    assert isinstance(entries[0], ImportedRecord)
    assert entries[0].abstract == "Første linje anden linje"
    assert isinstance(entries[1], ImportedRecord) and entries[1].year == 1981


def test_a_second_non_consecutive_block_of_an_id_is_read_as_a_new_title() -> None:
    entries = read(HEADER + "1,Zappa,,,,,,B1,,,\n2,Ronja,,,,,,B2,,,\n1,Zappa,,,,,,B3,,,\n")
    assert [e.record_id for e in entries if isinstance(e, ImportedRecord)] == ["1", "2", "1"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("id,title,colour\n1,2,3\n", "line 1: unknown column 'colour'"),
        ("id,author\n1,2\n", "line 1: no 'title' column"),
        ("id,title,titel\n1,2,3\n", "line 1: column 'titel' appears twice"),
        ("\n", "line 1: the file is empty"),
    ],
)
def test_a_header_that_cannot_be_used_fails_the_whole_file(content: str, message: str) -> None:
    with pytest.raises(ImportFailed, match=message):
        read(content)


def test_a_file_that_is_not_utf8_fails_with_advice() -> None:
    data = "id,title\n1,Blæksprutten\n".encode("cp1252")
    with pytest.raises(ImportFailed, match=r"not UTF-8 .*CSV UTF-8"):
        read(data)
