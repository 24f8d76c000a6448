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
copies        096 (local holdings)       852 (holdings), 952 (Koha items)
============  =========================  ==========================================

How each holdings field becomes a copy is in ``holdings.py``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from pymarc import Record

from services.catalogue import holdings
from services.catalogue.folding import normalise_isbn
from services.store.catalogue import (
    ImportedRecord,
    RecordError,
    check_id,
    clean,
    derive_shelf_mark,
    is_fiction_class,
    parse_year,
)

_FICTION_FORMS = set("1dfjp")  # MARC21 008/33 literary form: fiction, drama, novels, stories, poems
_DANMARC_SUBJECTS = (("666", "efimoqstu"), ("600", "a"), ("610", "a"))
_MARC21_SUBJECTS = (("650", "axz"), ("600", "a"), ("610", "a"), ("651", "a"), ("653", "a"),
                    ("655", "a"))  # fmt: skip
_SPACES = re.compile(r"\s+")

_SUBFIELD = "\x1f"
_TRAILING = " /:;,.="
_DANMARC_MARKS = re.compile(r"@([0-9A-Fa-f]{4})|@(.)|¤")


def strip_punctuation(value: str) -> str:
    """A subfield without its closing ISBD punctuation: "Kvinden i buret :" -> "Kvinden i buret"."""
    if value.isprintable() and "  " not in value:
        # Nothing for ``clean`` to do but strip the ends (a printable text's only white space
        # is the space), which happens here anyway: a call less for nearly every value.
        return value.rstrip(_TRAILING).strip()
    return clean(value).rstrip(_TRAILING).strip()


class Fields:
    """Subfield look-ups over a record's (tag, data) fields, danMARC2's 001-009 included.

    ISO 2709 readers, pymarc included, treat tags below 010 as control fields without subfields;
    in danMARC2 they have them ("001 00 *a 12345678 *b 870970"), so their data is split here.
    danMARC2 text also carries its own marks: ``¤`` before the words a title files under (not
    shown) and ``@`` escaping the next character (``@*`` is "*") or a code point (``@00E9``).
    """

    def __init__(self, leader: str, fields: Iterable[tuple[str, str]]) -> None:
        self.leader = leader
        self._by_tag: dict[str, list[str]] = {}
        datas: list[str] = []
        for tag, data in fields:
            datas.append(data)
            same = self._by_tag.get(tag)
            if same is None:
                self._by_tag[tag] = [data]
            else:
                same.append(data)
        self.danmarc = _SUBFIELD in "".join(self._by_tag.get("001", ()))
        # Each field is split once, on first use: a record is asked for 245 or 652 many times.
        self._split: dict[str, list[list[tuple[str, str]]]] = {}
        # Most records need no cleaning at all; deciding that once for the record is cheaper
        # than once per field.
        text = "".join(datas)
        self._plain = (
            "  " not in text
            and text.replace(_SUBFIELD, "").isprintable()
            and not (self.danmarc and ("@" in text or "¤" in text))
        )

    @classmethod
    def of_record(cls, record: Record) -> Fields:
        """The fields of a pymarc record (as the MARCXML reader builds them)."""
        fields = []
        for field in record.get_fields():
            if field.control_field:
                fields.append((field.tag, field.data or ""))
            else:
                subfields = "".join(f"{_SUBFIELD}{s.code}{s.value}" for s in field.subfields)
                fields.append((field.tag, f"{field.indicator1}{field.indicator2}{subfields}"))
        return cls(str(record.leader), fields)

    def _parsed(self, tag: str) -> list[list[tuple[str, str]]]:
        # The callers look in ``_split`` first: a call less for the fields asked for again.
        datas = self._by_tag.get(tag)
        if not datas:
            found = []
        elif self._plain:
            # (Data without subfields, a control field, splits into no pairs.)
            found = [[(p[0], p[1:].strip()) for p in data.split(_SUBFIELD)[1:] if p]
                     for data in datas]  # fmt: skip
        else:
            found = [self._pairs(data) for data in datas]
        self._split[tag] = found
        return found

    def _pairs(self, data: str) -> list[tuple[str, str]]:
        if _SUBFIELD not in data:
            return []
        parts = data.split(_SUBFIELD)[1:]
        if self.danmarc and ("@" in data or "¤" in data):
            return [(p[0], clean(danmarc_text(p[1:]))) for p in parts if p]
        if "  " not in data and data.replace(_SUBFIELD, "").isprintable():
            # The common case, decided once per field: only the ends of values to strip.
            return [(p[0], p[1:].strip()) for p in parts if p]
        return [(p[0], clean(p[1:])) for p in parts if p]

    def control(self, tag: str) -> str:
        """The data of control field ``tag`` (MARC21 001, 008), or ``""``."""
        fields = self._by_tag.get(tag)
        return fields[0].strip() if fields and _SUBFIELD not in fields[0] else ""

    def fields(self, tag: str) -> list[dict[str, str]]:
        """Each ``tag`` field as {code: first value}, for fields read one by one (700, 096, 952)."""
        if tag not in self._by_tag:
            return []
        # reversed: the first value of a code wins
        return [dict(reversed(pairs)) for pairs in self._split.get(tag) or self._parsed(tag)]

    def values(self, tag: str, codes: str) -> list[str]:
        """Every non-empty value of subfields ``codes`` in every ``tag`` field, in record order."""
        if tag not in self._by_tag:
            return []  # most tags asked for are not there: no comprehension to run
        fields = self._split.get(tag) or self._parsed(tag)
        return [value for pairs in fields for code, value in pairs if code in codes and value]

    def first(self, tag: str, code: str) -> str:
        """The first value of ``tag`` *``code``, or ``""``."""
        if self._plain:
            # Nothing to clean: found in the field's text, without splitting it into pairs.
            for data in self._by_tag.get(tag, ()):
                start = data.find(_SUBFIELD + code)
                while start >= 0:
                    end = data.find(_SUBFIELD, start + 2)
                    value = (data[start + 2 : end] if end >= 0 else data[start + 2 :]).strip()
                    if value:
                        return value
                    start = data.find(_SUBFIELD + code, end) if end >= 0 else -1
            return ""
        for pairs in self._split.get(tag) or self._parsed(tag):
            for found, value in pairs:
                if found == code and value:
                    return value
        return ""

    def subjects(self, sources: Sequence[tuple[str, str]]) -> tuple[str, ...]:
        """Distinct subject words from (tag, codes) pairs, punctuation stripped, in order."""
        seen: dict[str, None] = {}
        for tag, codes in sources:
            for value in self.values(tag, codes):
                seen.setdefault(strip_punctuation(value), None)
        seen.pop("", None)
        return tuple(seen)


def danmarc_text(value: str) -> str:
    """danMARC2 text as shown: ``¤`` dropped, ``@*`` -> ``*``, ``@00E9`` -> ``é``."""
    if "@" not in value and "¤" not in value:
        return value
    return _DANMARC_MARKS.sub(_unmark, value)


def _unmark(found: re.Match[str]) -> str:
    if found.group(1):
        return chr(int(found.group(1), 16))
    return found.group(2) or ""


Heads = dict[str, str]


def record_from_fields(fields: Fields, position: str, heads: Heads | None = None) -> ImportedRecord:
    """One record's fields, MARC21 or danMARC2, as an ImportedRecord; RecordError if unusable.

    ``heads`` collects the titles of danMARC2 head records (004 *a h/s) read so far, so a
    volume record (014 *a the head's faust) is titled "Danmarks historie. Bind 1".
    """
    if fields.danmarc:
        return _from_danmarc(fields, position, {} if heads is None else heads)
    return _from_marc21(fields, position)


def record_from_marc(record: Record, position: str) -> ImportedRecord:
    """One pymarc record, MARC21 or danMARC2, as an ImportedRecord; RecordError if unusable."""
    return record_from_fields(Fields.of_record(record), position)


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


def _danmarc_title(f: Fields, record_id: str, heads: Heads) -> str:
    """245 *a; a volume or section record (245 *g/*n/*o) adds its number under its head's title."""
    title = strip_punctuation(" ; ".join(f.values("245", "a")))
    parts = [strip_punctuation(v) for v in f.values("245", "gno")]
    if parts:
        head = heads.get(f.first("014", "a"), "")
        title = ". ".join(p for p in (head, *parts, title) if p)
    if f.first("004", "a") in ("h", "s") and title:
        heads[record_id] = title
    return title


def _from_danmarc(f: Fields, position: str, heads: Heads) -> ImportedRecord:
    faust = f.first("001", "a")
    record_id = check_id(faust if faust.isalnum() else _SPACES.sub("", faust), "record id (001 *a)")
    title = _danmarc_title(f, record_id, heads)
    deleted = f.first("004", "r") == "d"
    if not title and not deleted:
        raise RecordError(f"record {record_id}: no title (245 *a, *g or *n)")
    warnings: list[str] = []
    dk5 = f.first("652", "m") or f.first("652", "o") or f.first("652", "n")
    person = _heading(f.first("100", "a"), f.first("100", "h"))
    author = person or strip_punctuation(f.first("110", "a"))
    fiction = is_fiction_class(dk5)
    shelf = derive_shelf_mark(
        dk5, fiction, author, title, f.first("652", "a"), corporate=not person
    )
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
        copies=holdings.danmarc_copies(record_id, f.fields("096"), shelf, warnings),
        deleted=deleted,
        warnings=tuple(warnings),
    )


def _marc21_fiction(f: Fields, dk5: str) -> bool:
    if is_fiction_class(dk5):
        return True
    data = f.control("008")
    # 008/33 is the literary form only for books (leader/06 a or t).
    return f.leader[6:7] in ("a", "t") and len(data) > 33 and data[33] in _FICTION_FORMS


def _marc21_dk5(f: Fields) -> str:
    for field in f.fields("084"):
        if field.get("2", "").casefold().startswith("dk"):
            return field.get("a", "")
    return f.first("652", "m")


def _from_marc21(f: Fields, position: str) -> ImportedRecord:
    record_id = check_id(f.control("001"), "record id (001)")
    title = strip_punctuation(" ".join(f.values("245", "a")))
    deleted = f.leader[5:6] == "d"
    if not title and not deleted:
        raise RecordError(f"record {record_id}: no title (245 $a)")
    warnings: list[str] = []
    dk5 = _marc21_dk5(f)
    fiction = _marc21_fiction(f, dk5)
    person = strip_punctuation(f.first("100", "a"))
    author = person or strip_punctuation(f.first("110", "a"))
    shelf = derive_shelf_mark(dk5, fiction, author, title, corporate=not person)
    year = parse_year(f.control("008")[7:11]) or parse_year(
        f.first("264", "c") or f.first("260", "c")
    )
    copies = holdings.marc21_copies(record_id, f.fields("852"), f.fields("952"), shelf, warnings)
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
        copies=copies,
        deleted=deleted,
        warnings=tuple(warnings),
    )
