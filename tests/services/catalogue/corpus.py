"""A small real-shaped corpus, written reproducibly: what DBC and an ILS really export.

- danMARC2 ISO 2709 in ISO-8859-1 with leader/09 blank (as DBC's files are), local holdings in
  096 without a barcode, the ¤ non-filing marker, ``@`` escapes, a volume record (245 *g/*n)
  under its head record (014 *a), a corporate author (110);
- MARC21 in UTF-8 with 852 holdings, Cyrillic, Arabic and Persian titles, Koha 952 without $p;
- MARC21 in Latin-1 with leader/09 blank (no MARC-8 escapes anywhere);
- DBC's trailing padding after the last record: ``1A 19 19 19``.
"""

from __future__ import annotations

from pymarc import Field, Leader, Record

from tests.services.catalogue.records import SUB, _field

DBC_PADDING = b"\x1a\x19\x19\x19"


def _danmarc_latin1(faust: str, *fields: Field, head: str = "", kind: str = "e") -> Record:
    record = Record(leader="00000nam  22000000  4500")  # leader/09 blank: not UTF-8
    record.add_field(Field(tag="001", data=f"00{SUB}a{faust}{SUB}b870970{SUB}fa"))
    record.add_field(Field(tag="004", data=f"00{SUB}rn{SUB}a{'b' if head else kind}"))
    if head:
        record.add_field(_field("014", a=head))
    for field in fields:
        record.add_field(field)
    return record


def danmarc_latin1_records() -> list[Record]:
    """Danish titles with æ/ø/å, 096 holdings, ¤, @ escapes, a volume and a corporate author."""
    return [
        _danmarc_latin1(
            "22677780",
            _field("100", a="Mørk", h="Søren"),
            _field("245", a="Højskolesangbogen"),
            _field("652", m="78.6"),
            _field("096", z="820040", b="78.6 Høj", u="Udlånes ikke"),
            _field("096", z="820040", b="78.6 Høj", c="b"),
        ),
        _danmarc_latin1(
            "20183712",
            _field("245", a="Den ¤danske kirkes historie"),
            _field("652", m="27.6"),
            _field("096", z="820040", b="27.6 Dan"),
        ),
        _danmarc_latin1(
            "27092136",
            _field("245", a="N@*E@*R@*D"),
            _field("652", m="sk"),
        ),
        _danmarc_latin1(
            "05181895", _field("245", a="Danmarks historie"), _field("652", m="96"), kind="h"
        ),
        _danmarc_latin1(
            "05181909",
            _field("245", g="Bind 1", n="Landet bliver til"),
            _field("652", m="96"),
            head="05181895",
        ),
        _danmarc_latin1(
            "21555513",
            _field("110", a="United States"),
            _field("245", a="Statistical abstract"),
            _field("652", m="31.7"),
        ),
        _danmarc_latin1(
            "25775481",
            _field("100", a="Høeg", h="Peter"),
            _field("245", a="Frøken Smillas fornemmelse for sne"),
            _field("652", m="sk"),
        ),
    ]


def _marc21(control: str, *fields: Field, utf8: bool = True) -> Record:
    record = Record(force_utf8=utf8)
    record.leader = Leader(f"00000nam {'a' if utf8 else ' '}2200000 a 4500")
    record.add_field(Field(tag="001", data=control))
    for field in fields:
        record.add_field(field)
    return record


def marc21_utf8_records() -> list[Record]:
    """Cyrillic, Arabic and Persian titles as a Danish library lends them, with 852 or 952."""
    return [
        _marc21(
            "ru1",
            _field("100", a="Булгаков, Михаил"),
            _field("245", a="Мастер и Маргарита"),
            _field("852", a="DK-726500", b="Voksen", h="sk", i="Bulgakov"),
        ),
        _marc21(
            "ar1",
            _field("100", a="كويلو، باولو"),
            _field("245", a="الخيميائي"),
            _field("852", a="DK-726500", b="Voksen", h="sk", i="Coelho", z="not for loan"),
        ),
        _marc21("fa1", _field("245", a="بوف کور"), _field("952", a="GLO", c="Voksen", o="sk Hed")),
        _marc21("uk1", _field("245", a="Їжак у тумані"), _field("020", a="9789660000001")),
    ]


def marc21_latin1_records() -> list[Record]:
    """A MARC21 record in Latin-1 with leader/09 blank, as many small systems export."""
    return [_marc21("l1", _field("245", a="Blåbærgrød for øboere"), utf8=False)]


def _field_bytes(field: Field, codec: str) -> bytes:
    if field.control_field:
        return (field.data or "").encode(codec) + b"\x1e"
    body = "".join(f"{SUB}{s.code}{s.value}" for s in field.subfields)
    return (f"{field.indicator1}{field.indicator2}{body}").encode(codec) + b"\x1e"


def encode_record(record: Record) -> bytes:
    """One record as ISO 2709 in the encoding its leader/09 says (blank: ISO-8859-1).

    pymarc's ``as_marc`` marks every record it writes with non-ASCII text as UTF-8, so the
    Latin-1 records of real exports are written here, byte by byte as ISO 2709 defines them.
    """
    codec = "utf-8" if str(record.leader)[9] == "a" else "iso8859-1"
    directory, data = b"", b""
    for field in record.get_fields():
        chunk = _field_bytes(field, codec)
        directory += f"{field.tag}{len(chunk):04d}{len(data):05d}".encode("ascii")
        data += chunk
    directory += b"\x1e"
    base = 24 + len(directory)
    length = base + len(data) + 1
    leader = str(record.leader)
    head = f"{length:05d}{leader[5:12]}{base:05d}{leader[17:]}".encode("ascii")
    return head + directory + data + b"\x1d"


def iso2709(records: list[Record]) -> bytes:
    """The records as one ISO 2709 file."""
    return b"".join(encode_record(record) for record in records)
