"""The library's real records, read right: encodings, holdings, danMARC2 details, every script."""

from __future__ import annotations

import io

import pytest
from pymarc import Field, Indicators, Record, Subfield

from services.catalogue.marc_files import read_marc
from services.store.catalogue import CopyStatus, FileNotice, ImportedRecord, Problem
from tests.services.catalogue.conftest import Catalogue
from tests.services.catalogue.corpus import (
    DBC_PADDING,
    danmarc_latin1_records,
    encode_record,
    iso2709,
    marc21_latin1_records,
    marc21_utf8_records,
)


def records(data: bytes, **options: str) -> list[ImportedRecord]:
    entries = list(read_marc(io.BytesIO(data), **options))
    assert all(isinstance(e, ImportedRecord) for e in entries), entries
    return [e for e in entries if isinstance(e, ImportedRecord)]


def by_id(data: bytes, **options: str) -> dict[str, ImportedRecord]:
    return {r.record_id: r for r in records(data, **options)}


def test_latin1_danmarc2_keeps_its_danish_letters_without_warnings() -> None:
    found = by_id(iso2709(danmarc_latin1_records()))
    sangbog = found["22677780"]
    assert (sangbog.title, sangbog.author) == ("Højskolesangbogen", "Mørk, Søren")
    assert sangbog.warnings == ()


def test_latin1_marc21_without_escapes_is_read_as_latin1_with_a_warning() -> None:
    [record] = records(iso2709(marc21_latin1_records()))
    assert record.title == "Blåbærgrød for øboere"
    assert any("ISO-8859-1" in w for w in record.warnings)


def test_marc8_with_its_escapes_is_still_marc8() -> None:
    raw = iso2709(marc21_latin1_records()).replace(
        "Blåbærgrød for øboere".encode("latin-1"), b"Caf\xe2e \x1b(B" + b" " * 12
    )
    # MARC-8: the combining acute (0xE2) comes before its "e"; ESC ( B selects ASCII.
    [decoded] = records(raw)
    assert decoded.title == "Café"
    assert decoded.warnings == ()


def test_an_encoding_override_wins_over_detection() -> None:
    raw = iso2709(marc21_latin1_records())
    [record] = records(raw, encoding="latin-1")
    assert record.title == "Blåbærgrød for øboere"
    assert record.warnings == ()


def test_danmarc2_096_without_barcode_makes_copies_with_shelf_mark_and_loan_status() -> None:
    sangbog = by_id(iso2709(danmarc_latin1_records()))["22677780"]
    assert [(c.shelf_mark, c.status) for c in sangbog.copies] == [
        ("78.6 Høj", CopyStatus.NOT_FOR_LOAN),
        ("78.6 Høj", CopyStatus.AVAILABLE),
    ]
    assert len({c.barcode for c in sangbog.copies}) == 2


def test_marc21_852_and_koha_952_without_barcode_are_read_as_copies() -> None:
    found = by_id(iso2709(marc21_utf8_records()))
    [master] = found["ru1"].copies
    assert (master.department, master.shelf_mark) == ("Voksen", "sk Bulgakov")
    assert found["ar1"].copies[0].status is CopyStatus.NOT_FOR_LOAN
    assert [(c.department, c.shelf_mark) for c in found["fa1"].copies] == [("Voksen", "sk Hed")]


def test_danmarc2_non_filing_marker_and_escapes_never_reach_the_title() -> None:
    found = by_id(iso2709(danmarc_latin1_records()))
    assert found["20183712"].title == "Den danske kirkes historie"
    assert found["27092136"].title == "N*E*R*D"


def test_a_danmarc2_volume_record_takes_its_title_from_245_g_n_under_its_head() -> None:
    found = by_id(iso2709(danmarc_latin1_records()))
    assert found["05181909"].title == "Danmarks historie. Bind 1. Landet bliver til"


def test_a_corporate_author_is_not_inverted_in_the_shelf_mark() -> None:
    found = by_id(iso2709(danmarc_latin1_records()))
    assert found["21555513"].shelf_mark == "31.7 United States"


def test_dbc_trailing_padding_is_a_notice_not_a_corrupt_record() -> None:
    entries = list(read_marc(io.BytesIO(iso2709(danmarc_latin1_records()) + DBC_PADDING)))
    assert not [e for e in entries if type(e) is Problem]
    assert any(isinstance(e, FileNotice) and "padding" in e.message for e in entries)


def test_a_leader_length_off_by_one_is_read_with_a_warning() -> None:
    raw = encode_record(danmarc_latin1_records()[0])
    off = f"{int(raw[:5]) + 1:05d}".encode() + raw[5:]
    [record] = records(off)
    assert record.title == "Højskolesangbogen"
    assert any("leader gives" in w for w in record.warnings)


def test_strict_import_of_a_padded_dbc_file_succeeds(catalogue: Catalogue) -> None:
    data = iso2709(danmarc_latin1_records()) + DBC_PADDING
    report = catalogue.load(data, "dbc.iso", strict=True)
    assert report.added == 7
    assert report.skipped == []
    assert len(report.warnings) == 1


@pytest.mark.parametrize(
    ("query", "title"),
    [
        ("Højskolesangbogen", "Højskolesangbogen"),
        ("hoejskolesangbogen", "Højskolesangbogen"),
        ("Hoeg", "Frøken Smillas fornemmelse for sne"),
        ("мастер", "Мастер и Маргарита"),
        ("Булгаков", "Мастер и Маргарита"),
        ("الخيميائي", "الخيميائي"),
        ("بوف", "بوف کور"),
        ("їжак", "Їжак у тумані"),
        ("isbn 9789660000001", "Їжак у тумані"),
        ("ISBN: 978-966-00-0000-1", "Їжак у тумані"),
    ],
)
def test_every_script_is_searchable(catalogue: Catalogue, query: str, title: str) -> None:
    catalogue.load(iso2709(danmarc_latin1_records()), "dbc.iso")
    catalogue.load(iso2709(marc21_utf8_records()), "ils.mrc")
    assert title in catalogue.titles(query)


def test_a_reimport_updates_withdraws_and_keeps_copy_statuses_the_file_does_not_give(
    catalogue: Catalogue,
) -> None:
    from datetime import date

    from sqlalchemy import update
    from sqlalchemy.orm import Session

    from services.store.catalogue import CatalogueCopy

    first = danmarc_latin1_records()
    catalogue.load(iso2709(first), "dbc.iso")
    with Session(catalogue.engine) as session, session.begin():  # lent at the kiosk meanwhile
        session.execute(
            update(CatalogueCopy)
            .where(CatalogueCopy.barcode.in_(["22677780/096-2", "20183712/096-1"]))
            .values(status=CopyStatus.ON_LOAN, due_date=date(2027, 1, 5))
        )
    again = danmarc_latin1_records()
    again[1]["004"].data = again[1]["004"].data.replace("\x1frn", "\x1frd")  # withdrawn
    report = catalogue.load(iso2709(again), "dbc.iso")
    assert (report.updated, report.deleted) == (6, 1)
    copies = {c.barcode: c for c in catalogue.item("22677780").copies}
    assert copies["22677780/096-1"].status is CopyStatus.NOT_FOR_LOAN  # the file says so
    assert copies["22677780/096-2"].status is CopyStatus.ON_LOAN  # the file says nothing
    assert copies["22677780/096-2"].due_date == date(2027, 1, 5)
    assert "Den danske kirkes historie" not in catalogue.titles("kirkes")


def test_a_field_holding_a_field_terminator_is_read_by_its_directory() -> None:
    # The record is decoded in one piece and split on 0x1E; a field whose directory length
    # takes in a 0x1E of its own must not shift the fields after it.
    head = danmarc_latin1_records()[0]
    odd = Record(leader=str(head.leader))
    for field in head.get_fields():
        if field.tag == "245":
            field = Field(tag="245", indicators=Indicators("0", "0"),
                          subfields=[Subfield("a", "Højskole\x1esangbogen")])  # fmt: skip
        odd.add_field(field)
    [record] = records(encode_record(odd))
    assert (record.title, record.author) == ("Højskole sangbogen", "Mørk, Søren")
    assert record.shelf_mark and len(record.copies) == 2
