"""MARC records built with pymarc, as a library system would export them."""

from __future__ import annotations

from pymarc import Field, Indicators, Leader, Record, Subfield

SUB = "\x1f"


def _field(tag: str, **subfields: str) -> Field:
    return Field(
        tag=tag,
        indicators=Indicators("0", "0"),
        subfields=[Subfield(code.rstrip("_"), value) for code, value in subfields.items()],
    )


def danmarc(
    faust: str,
    title: str,
    *,
    surname: str = "",
    forenames: str = "",
    dk5: str = "sk",
    subdivision: str = "",
    isbn10: str = "",
    isbn13: str = "",
    year: str = "",
    abstract: str = "",
    subjects: tuple[str, ...] = (),
    copies: tuple[dict[str, str], ...] = (),
    deleted: bool = False,
) -> Record:
    """A danMARC2 record: 001/004/008 with subfields, 021, 100 *a/*h, 245, 504, 652, 666, 096."""
    record = Record(leader="00000nam  22000000  4500", force_utf8=True)
    record.add_field(Field(tag="001", data=f"00{SUB}a{faust}{SUB}b870970{SUB}fa"))
    record.add_field(Field(tag="004", data=f"00{SUB}r{'d' if deleted else 'n'}{SUB}ae"))
    if year:
        record.add_field(Field(tag="008", data=f"00{SUB}tm{SUB}a{year}{SUB}ldan"))
    if isbn10 or isbn13:
        record.add_field(_field("021", **{k: v for k, v in (("a", isbn10), ("e", isbn13)) if v}))
    if surname:
        record.add_field(_field("100", a=surname, h=forenames))
    record.add_field(_field("245", a=title))
    if abstract:
        record.add_field(_field("504", a=abstract))
    if dk5:
        record.add_field(_field("652", m=dk5, **({"a": subdivision} if subdivision else {})))
    for subject in subjects:
        record.add_field(_field("666", s=subject))
    for copy in copies:
        record.add_field(_field("096", z="726500", **copy))
    return record


def marc21(
    control: str,
    title: str,
    *,
    subtitle: str = "",
    author: str = "",
    isbn: str = "",
    fixed: str = "",
    summary: str = "",
    subjects: tuple[str, ...] = (),
    items: tuple[dict[str, str], ...] = (),
    deleted: bool = False,
) -> Record:
    """A MARC21 record: 001, 008, 020, 100, 245 $a $b, 520, 650, Koha 952 items."""
    record = Record(force_utf8=True)
    record.leader = Leader(f"00000{'d' if deleted else 'n'}am a2200000 a 4500")
    record.add_field(Field(tag="001", data=control))
    if fixed:
        record.add_field(Field(tag="008", data=fixed))
    if isbn:
        record.add_field(_field("020", a=isbn))
    if author:
        record.add_field(_field("100", a=author))
    record.add_field(
        _field("245", a=title + (" :" if subtitle else ""), **({"b": subtitle} if subtitle else {}))
    )
    if summary:
        record.add_field(_field("520", a=summary))
    for subject in subjects:
        record.add_field(_field("650", a=subject))
    for copy in items:
        record.add_field(_field("952", **copy))
    return record


def iso2709(*records: Record) -> bytes:
    """The records as one ISO 2709 file."""
    return b"".join(record.as_marc() for record in records)


def fixed_field(year: int, literary_form: str = "0") -> str:
    """A MARC21 book 008 with a publication year and literary form (008/33)."""
    data = list("250101s" + str(year) + "    dk            000 0 dan d")
    data[33] = literary_form
    return "".join(data)
