"""MARC21 and danMARC2, ISO 2709 and MARCXML, read into catalogue records; bad records named."""

from __future__ import annotations

import io
from datetime import date

import pytest
from pymarc import record_to_xml

from services.catalogue.marc import Fields
from services.catalogue.marc_files import read_marc
from services.store.catalogue import CopyStatus, ImportedRecord, ImportFailed, Problem
from tests.services.catalogue.records import danmarc, fixed_field, iso2709, marc21

KVINDEN = danmarc(
    "29000007",
    "Kvinden i buret",
    surname="Adler-Olsen",
    forenames="Jussi",
    isbn13="978-87-567-9039-0",
    year="2007",
    abstract="Carl Mørck får Afdeling Q.",
    subjects=("krimi", "København"),
    copies=(
        {"x": "3740001001", "f": "Voksen", "u": "Hjemme"},
        {"x": "3740001002", "f": "Voksen", "u": "Udlånt", "v": "2025-03-31"},
        {"x": "3740001003", "f": "Magasin", "r": "a"},
    ),
)


def read(data: bytes) -> list[ImportedRecord | Problem]:
    return list(read_marc(io.BytesIO(data)))


def only_record(data: bytes) -> ImportedRecord:
    [entry] = read(data)
    assert isinstance(entry, ImportedRecord), entry
    return entry


def test_a_danmarc2_record_gives_faust_title_author_isbn_dk5_and_abstract() -> None:
    record = only_record(iso2709(KVINDEN))
    assert record.record_id == "29000007"
    assert record.title == "Kvinden i buret"
    assert record.author == "Adler-Olsen, Jussi"
    assert record.year == 2007
    assert record.isbns == ("9788756790390",)
    assert record.dk5 == "sk" and record.fiction
    assert record.subjects == ("krimi", "København")
    assert record.abstract == "Carl Mørck får Afdeling Q."


def test_danmarc2_copies_come_from_field_096() -> None:
    copies = only_record(iso2709(KVINDEN)).copies
    assert [(c.barcode, c.department, c.status, c.due_date) for c in copies] == [
        ("3740001001", "Voksen", CopyStatus.AVAILABLE, None),
        ("3740001002", "Voksen", CopyStatus.ON_LOAN, date(2025, 3, 31)),
        ("3740001003", "Magasin", CopyStatus.NOT_FOR_LOAN, None),
    ]


def test_fiction_is_shelved_by_author_and_non_fiction_by_dk5_and_name() -> None:
    fiction = only_record(iso2709(KVINDEN))
    biography = only_record(iso2709(danmarc(
        "29000008", "Karen Blixen", surname="Thurman", forenames="Judith", dk5="99.4",
        subdivision="Blixen", copies=({"x": "1"},),
    )))  # fmt: skip
    cooking = only_record(iso2709(danmarc("29000009", "Almanak", surname="Meyer",
                                          forenames="Claus", dk5="64.1")))  # fmt: skip
    assert fiction.shelf_mark == "Adler-Olsen, Jussi"
    assert biography.shelf_mark == "99.4 Blixen"  # the biographee, not the biographer
    assert biography.copies[0].shelf_mark == "99.4 Blixen"
    assert cooking.shelf_mark == "64.1 Meyer"


def test_a_copy_with_its_own_shelf_mark_keeps_it() -> None:
    record = danmarc("1", "Zappa", surname="Reuter", forenames="Bjarne",
                     copies=({"x": "9", "f": "Børn", "a": "Reuter", "b": "(lydbog)"},))  # fmt: skip
    assert only_record(iso2709(record)).copies[0].shelf_mark == "Reuter (lydbog)"


def test_a_marc21_record_gives_control_number_title_subtitle_author_and_summary() -> None:
    data = iso2709(marc21(
        "ocm123", "Frøken Smillas fornemmelse for sne", subtitle="roman",
        author="Høeg, Peter,", isbn="8776950271", fixed=fixed_field(1992, "1"),
        summary="Smilla følger sporene i sneen.", subjects=("Grønland.",),
        items=({"p": "B-1", "c": "Voksen", "o": "Høeg", "q": "2025-04-01"},),
    ))  # fmt: skip
    record = only_record(data)
    assert record.record_id == "ocm123"
    assert (record.title, record.subtitle) == ("Frøken Smillas fornemmelse for sne", "roman")
    assert record.author == "Høeg, Peter"
    assert record.year == 1992
    assert record.fiction and record.shelf_mark == "Høeg, Peter"
    assert record.isbns == ("9788776950279",)
    assert record.subjects == ("Grønland",)
    assert record.abstract == "Smilla følger sporene i sneen."
    [copy] = record.copies
    assert (copy.barcode, copy.department, copy.shelf_mark) == ("B-1", "Voksen", "Høeg")
    assert (copy.status, copy.due_date) == (CopyStatus.ON_LOAN, date(2025, 4, 1))


def test_marcxml_reads_like_iso_2709() -> None:
    xml = (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<collection xmlns="http://www.loc.gov/MARC21/slim">\n'
        + record_to_xml(marc21("x1", "Matilda", author="Dahl, Roald"))
        + b"\n"
        + record_to_xml(marc21("x2", "Ronja Røverdatter"))
        + b"\n</collection>\n"
    )
    records = read(xml)
    assert [(r.record_id, r.title) for r in records if isinstance(r, ImportedRecord)] == [
        ("x1", "Matilda"), ("x2", "Ronja Røverdatter"),
    ]  # fmt: skip


def test_danmarc2_marcxchange_keeps_the_faust_number_of_datafield_001() -> None:
    xml = """<?xml version="1.0" encoding="UTF-8"?>
<marcx:collection xmlns:marcx="info:lc/xmlns/marcxchange-v1">
  <marcx:record format="danMARC2" type="Bibliographic">
    <marcx:leader>00000n    2200000   4500</marcx:leader>
    <marcx:datafield ind1="0" ind2="0" tag="001">
      <marcx:subfield code="a">2 904 927 8</marcx:subfield>
      <marcx:subfield code="b">870970</marcx:subfield>
    </marcx:datafield>
    <marcx:datafield ind1="0" ind2="0" tag="245">
      <marcx:subfield code="a">Glas kaster skygge</marcx:subfield>
      <marcx:subfield code="c">om litterær oversættelse</marcx:subfield>
    </marcx:datafield>
  </marcx:record>
</marcx:collection>
""".encode()
    record = only_record(xml)
    assert record.record_id == "29049278"
    assert (record.title, record.subtitle) == ("Glas kaster skygge", "om litterær oversættelse")


def test_a_record_with_a_wrong_length_is_skipped_and_named_by_number_and_byte_offset() -> None:
    good = iso2709(KVINDEN)
    bad = b"99999" + good[5:-20] + b"\x1d"  # the leader lies and the directory cannot be true
    entries = read(good + bad + good.replace(b"29000007", b"29000017"))
    assert [type(e).__name__ for e in entries] == ["ImportedRecord", "Problem", "ImportedRecord"]
    problem = entries[1]
    assert isinstance(problem, Problem)
    assert problem.position == f"record 2 (byte {len(good)})"
    assert "runs past the end of the record" in problem.message


def test_a_truncated_last_record_is_skipped_with_its_position() -> None:
    good = iso2709(KVINDEN)
    entries = read(good + good[:100])
    assert isinstance(entries[0], ImportedRecord)
    assert entries[1] == Problem(
        f"record 2 (byte {len(good)})", "the file ends inside this record (no record terminator)"
    )


def test_a_record_without_title_or_id_is_skipped() -> None:
    no_title = iso2709(danmarc("1", ""))
    assert read(no_title) == [Problem("record 1 (byte 0)", "record 1: no title (245 *a, *g or *n)")]
    no_id = iso2709(marc21("", "Titel"))
    assert read(no_id) == [Problem("record 1 (byte 0)", "no record id (001)")]


def test_a_bad_due_date_skips_the_record() -> None:
    data = iso2709(danmarc("1", "Zappa", copies=({"x": "9", "v": "31-31-2025"},)))
    [problem] = read(data)
    assert isinstance(problem, Problem)
    assert "due date '31-31-2025' is not a date" in problem.message


def test_an_invalid_isbn_is_a_warning_and_the_title_is_kept() -> None:
    record = only_record(iso2709(danmarc("1", "Zappa", isbn10="87-02-00000-0")))
    assert record.isbns == ()
    assert record.warnings == (
        "ISBN '87-02-00000-0' is not valid (check digit or length); not searchable",
    )


def test_a_deleted_record_is_read_as_a_deletion() -> None:
    assert only_record(iso2709(danmarc("1", "", deleted=True))).deleted
    assert only_record(iso2709(marc21("m1", "Titel", deleted=True))).deleted


def test_xml_that_is_not_well_formed_fails_the_import_with_its_line() -> None:
    xml = b'<collection xmlns="http://www.loc.gov/MARC21/slim">\n<record>\n<leader>x</record>\n'
    with pytest.raises(ImportFailed, match=r"line 3, column \d+: not well-formed XML"):
        read(xml)


def test_an_xml_record_with_a_broken_leader_is_skipped_with_its_line() -> None:
    xml = (b'<collection xmlns="http://www.loc.gov/MARC21/slim">\n<record>\n'
           b'<leader>short</leader><controlfield tag="001">1</controlfield>\n</record>\n'
           b"</collection>")  # fmt: skip
    [problem] = read(xml)
    assert isinstance(problem, Problem)
    assert problem.position == "record 1 (line 2)"
    assert problem.message.startswith("leader: RecordLeaderInvalid")


@pytest.mark.parametrize("cleaning", [False, True])
def test_the_first_value_of_a_subfield_is_its_first_non_empty_one(cleaning: bool) -> None:
    # A record with nothing to clean is searched as text, the others split into subfields.
    data = [
        ("001", "00\x1fa29000007\x1fb870970"),
        ("245", "00\x1fa\x1fa Kvinden i buret \x1fcroman\x1fa2"),
        ("100", "00\x1fhJussi\x1faAdler-Olsen"),
        ("100", "00\x1faMørck"),
        *([("504", "00\x1faTo  mellemrum")] if cleaning else []),
    ]
    fields = Fields("00000nam  22000000  4500", data)
    assert fields.first("245", "a") == "Kvinden i buret"
    assert fields.first("245", "c") == "roman"
    assert fields.first("100", "a") == "Adler-Olsen"
    assert fields.first("001", "b") == "870970"
    assert fields.first("100", "x") == fields.first("650", "a") == ""
    assert fields.values("245", "a") == ["Kvinden i buret", "2"]
