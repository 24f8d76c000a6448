"""MARC21 and danMARC2 records (ISO 2709 or MARCXML, read with pymarc) as catalogue records.

The two dialects differ where the kiosk looks (danMARC2 from kat-format.dk, MARC21 from LoC):

============  =========================  ==========================================
what          danMARC2                    MARC21
============  =========================  ==========================================
record id     001 *a (faust number)      001
deleted       004 *r = d                 leader/05 = d
title         245 *a, subtitle *c        245 $a, subtitle $b
author        100 *a surname, *h first   100 $a "Surname, First"; 110 $a
others        700 *a/*h                  700 $a
year          008 *a, else 260 *c        008/07-10, else 264/260 $c
ISBN          021 *a (ISBN-10), *e (-13)  020 $a
class         652 *m, else *o ("sk")     084 $a with $2 dk5, else 652 $m
subjects      666, 600, 610              650, 600, 610, 651, 653, 655
abstract      504 *a (resumé)            520 $a $b (summary)
copies        096 (local, see below)     952 (Koha items)
============  =========================  ==========================================

danMARC2 leaves the subfields of the local shelf-mark field 096 to the library, apart from
*u (availability), *r (code: a = not for loan) and *z (library number); following the format's
own suggested definition, aabent reads one 096 per copy as *x barcode (eksemplar), *f department
(fagsal/filial), *a shelf mark plus *b addition, *u status text, *v due date.
In Koha's 952: $p barcode, $c shelving location (department), $o call number, $q date due,
$7 not for loan, $1 lost.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from pymarc import Field, Record

from services.catalogue.folding import normalise_isbn
from services.store.catalogue import (
    CopyStatus,
    ImportedCopy,
    ImportedRecord,
    RecordError,
    check_id,
    clean,
    derive_shelf_mark,
    is_fiction_class,
    parse_due_date,
    parse_status,
    parse_year,
)

_FICTION_FORMS = set("1dfjp")  # MARC21 008/33 literary form: fiction, drama, novels, stories, poems
_DANMARC_SUBJECTS = (("666", "efimoqstu"), ("600", "a"), ("610", "a"))
_MARC21_SUBJECTS = (("650", "axz"), ("600", "a"), ("610", "a"), ("651", "a"), ("653", "a"),
                    ("655", "a"))  # fmt: skip
_SPACES = re.compile(r"\s+")

_SUBFIELD = "\x1f"
_TRAILING = " /:;,.="


def strip_punctuation(value: str) -> str:
    """A subfield without its closing ISBD punctuation: "Kvinden i buret :" -> "Kvinden i buret"."""
    return clean(value).rstrip(_TRAILING).strip()


class Fields:
    """Subfield look-ups that read danMARC2's 001-009 (which carry subfields) like any field.

    ISO 2709 readers, pymarc included, treat tags below 010 as control fields without subfields;
    in danMARC2 they have them ("001 00 *a 12345678 *b 870970"), so their data is split here.
    """

    def __init__(self, record: Record) -> None:
        self._by_tag: dict[str, list[Field]] = {}
        for field in record.get_fields():
            self._by_tag.setdefault(field.tag, []).append(field)

    def _pairs(self, field: Field) -> list[tuple[str, str]]:
        if field.control_field:
            parts = (field.data or "").split(_SUBFIELD)[1:]
            return [(p[0], clean(p[1:])) for p in parts if p]
        return [(s.code, clean(s.value)) for s in field.subfields]

    def has_subfields(self, tag: str) -> bool:
        """True if ``tag`` is present and has subfields (a danMARC2 001, not a MARC21 one)."""
        return any(self._pairs(field) for field in self._by_tag.get(tag, ()))

    def control(self, tag: str) -> str:
        """The data of control field ``tag`` (MARC21 001, 008), or ``""``."""
        fields = self._by_tag.get(tag)
        return (fields[0].data or "").strip() if fields and fields[0].control_field else ""

    def fields(self, tag: str) -> Iterator[dict[str, str]]:
        """Each ``tag`` field as {code: first value}, for fields read one by one (700, 096, 952)."""
        for field in self._by_tag.get(tag, ()):
            codes: dict[str, str] = {}
            for code, value in self._pairs(field):
                codes.setdefault(code, value)
            yield codes

    def values(self, tag: str, codes: str) -> list[str]:
        """Every non-empty value of subfields ``codes`` in every ``tag`` field, in record order."""
        return [
            value
            for field in self._by_tag.get(tag, ())
            for code, value in self._pairs(field)
            if code in codes and value
        ]

    def first(self, tag: str, code: str) -> str:
        """The first value of ``tag`` *``code``, or ``""``."""
        found = self.values(tag, code)
        return found[0] if found else ""

    def subjects(self, sources: Sequence[tuple[str, str]]) -> tuple[str, ...]:
        """Distinct subject words from (tag, codes) pairs, punctuation stripped, in order."""
        seen: dict[str, None] = {}
        for tag, codes in sources:
            for value in self.values(tag, codes):
                seen.setdefault(strip_punctuation(value), None)
        seen.pop("", None)
        return tuple(seen)


def record_from_marc(record: Record, position: str) -> ImportedRecord:
    """One pymarc record, MARC21 or danMARC2, as an ImportedRecord; RecordError if unusable."""
    fields = Fields(record)
    if fields.has_subfields("001"):
        return _from_danmarc(fields, position)
    return _from_marc21(fields, record, position)


def _heading(surname: str, forenames: str) -> str:
    surname, forenames = strip_punctuation(surname), strip_punctuation(forenames)
    return f"{surname}, {forenames}" if surname and forenames else surname or forenames


def _isbns(raw: list[str], warnings: list[str]) -> tuple[str, ...]:
    found: list[str] = []
    for value in raw:
        isbn = normalise_isbn(value)
        if isbn is None:
            warnings.append(f"ISBN {value!r} is not valid (check digit or length); not searchable")
        elif isbn not in found:
            found.append(isbn)
    return tuple(found)


def _from_danmarc(f: Fields, position: str) -> ImportedRecord:
    record_id = check_id(_SPACES.sub("", f.first("001", "a")), "record id (001 *a)")
    title = strip_punctuation(" ; ".join(f.values("245", "a")))
    deleted = f.first("004", "r") == "d"
    if not title and not deleted:
        raise RecordError(f"record {record_id}: no title (245 *a)")
    warnings: list[str] = []
    dk5 = f.first("652", "m") or f.first("652", "o") or f.first("652", "n")
    author = _heading(f.first("100", "a"), f.first("100", "h")) or f.first("110", "a")
    fiction = is_fiction_class(dk5)
    shelf = derive_shelf_mark(dk5, fiction, author, title, f.first("652", "a"))
    return ImportedRecord(
        record_id=record_id,
        title=title,
        position=position,
        subtitle=strip_punctuation(" ".join(f.values("245", "c"))),
        author=author,
        contributors=tuple(
            _heading(field.get("a", ""), field.get("h", "")) for field in f.fields("700")
        ),
        year=parse_year(f.first("008", "a")) or parse_year(f.first("260", "c")),
        isbns=_isbns(f.values("021", "ea"), warnings),
        publisher=strip_punctuation(f.first("260", "b")),
        dk5=dk5,
        fiction=fiction,
        subjects=f.subjects(_DANMARC_SUBJECTS),
        abstract=" ".join(f.values("504", "a")),
        shelf_mark=shelf,
        copies=tuple(_danmarc_copy(field, shelf) for field in f.fields("096") if "x" in field),
        deleted=deleted,
        warnings=tuple(warnings),
    )


def _danmarc_copy(field: dict[str, str], title_shelf: str) -> ImportedCopy:
    due = parse_due_date(field.get("v", ""))
    if field.get("r") == "a":
        status = CopyStatus.NOT_FOR_LOAN
    else:
        status = parse_status(field.get("u", ""), due)
    shelf = " ".join(filter(None, (field.get("a", ""), field.get("b", ""))))
    return ImportedCopy(
        barcode=check_id(field["x"], "copy barcode (096 *x)"),
        department=field.get("f", ""),
        shelf_mark=shelf or title_shelf,
        status=status,
        due_date=due,
    )


def _marc21_fiction(record: Record, dk5: str) -> bool:
    if is_fiction_class(dk5):
        return True
    fixed = record.get("008")
    data = (fixed.data or "") if fixed is not None else ""
    # 008/33 is the literary form only for books (leader/06 a or t).
    return record.leader[6] in "at" and len(data) > 33 and data[33] in _FICTION_FORMS


def _marc21_dk5(f: Fields) -> str:
    for field in f.fields("084"):
        if field.get("2", "").casefold().startswith("dk"):
            return field.get("a", "")
    return f.first("652", "m")


def _from_marc21(f: Fields, record: Record, position: str) -> ImportedRecord:
    record_id = check_id(f.control("001"), "record id (001)")
    title = strip_punctuation(" ".join(f.values("245", "a")))
    deleted = record.leader[5] == "d"
    if not title and not deleted:
        raise RecordError(f"record {record_id}: no title (245 $a)")
    warnings: list[str] = []
    dk5 = _marc21_dk5(f)
    fiction = _marc21_fiction(record, dk5)
    author = strip_punctuation(f.first("100", "a")) or strip_punctuation(f.first("110", "a"))
    shelf = derive_shelf_mark(dk5, fiction, author, title)
    year = parse_year(f.control("008")[7:11]) or parse_year(
        f.first("264", "c") or f.first("260", "c")
    )
    return ImportedRecord(
        record_id=record_id,
        title=title,
        position=position,
        subtitle=strip_punctuation(" ".join(f.values("245", "b"))),
        author=author,
        contributors=tuple(strip_punctuation(v) for v in f.values("700", "a")),
        year=year,
        isbns=_isbns(f.values("020", "a"), warnings),
        publisher=strip_punctuation(f.first("264", "b") or f.first("260", "b")),
        dk5=dk5,
        fiction=fiction,
        subjects=f.subjects(_MARC21_SUBJECTS),
        abstract=" ".join(f.values("520", "ab")),
        shelf_mark=shelf,
        copies=tuple(_koha_copy(field, shelf) for field in f.fields("952") if "p" in field),
        deleted=deleted,
        warnings=tuple(warnings),
    )


def _koha_copy(field: dict[str, str], title_shelf: str) -> ImportedCopy:
    due = parse_due_date(field.get("q", "")[:10])
    if field.get("1", "0") not in ("", "0"):
        status = CopyStatus.MISSING
    elif field.get("7", "0") not in ("", "0"):
        status = CopyStatus.NOT_FOR_LOAN
    else:
        status = CopyStatus.ON_LOAN if due else CopyStatus.AVAILABLE
    return ImportedCopy(
        barcode=check_id(field["p"], "copy barcode (952 $p)"),
        department=field.get("c", ""),
        shelf_mark=field.get("o", "") or title_shelf,
        status=status,
        due_date=due,
    )
