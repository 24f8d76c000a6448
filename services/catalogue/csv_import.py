"""Catalogue records from a CSV file: one row per copy, consecutive rows with one id are one title.

The header names the columns, in English or Danish, in any order; only ``id`` and ``title`` are
required. Title columns are read from a title's first row. A title without copies is one row with
an empty barcode. Lists (authors, ISBNs, subjects) are separated by ``;`` inside a field. The
delimiter is ``,``, ``;`` (Danish Excel) or a tab, taken from the header line; the file must be
UTF-8 (Excel: "CSV UTF-8").

A row that cannot be used skips its title, reported with its line; a header that cannot be used,
or a file that is not UTF-8, fails the import with its line.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import BinaryIO

from services.catalogue.folding import fold, invert_name, normalise_isbn
from services.store.catalogue import (
    Entry,
    ImportedCopy,
    ImportedRecord,
    ImportFailed,
    Problem,
    RecordError,
    check_id,
    clean,
    derive_shelf_mark,
    is_fiction_class,
    parse_due_date,
    parse_status,
    parse_year,
)

COLUMNS = {
    "id": ("id", "record_id", "faust", "faustnummer", "postid"),
    "title": ("title", "titel"),
    "subtitle": ("subtitle", "undertitel"),
    "author": ("author", "forfatter", "ophav"),
    "contributors": ("contributors", "medforfattere", "bidragydere"),
    "year": ("year", "aar", "udgivelsesaar"),
    "isbn": ("isbn",),
    "publisher": ("publisher", "forlag"),
    "dk5": ("dk5", "klassemaerke", "klasse"),
    "fiction": ("fiction", "skoenlitteratur"),
    "subjects": ("subjects", "emner", "emneord"),
    "abstract": ("abstract", "resume", "beskrivelse"),
    "barcode": ("barcode", "stregkode", "eksemplar"),
    "department": ("department", "afdeling"),
    "shelf_mark": ("shelf_mark", "shelfmark", "opstilling", "hyldesignatur"),
    "status": ("status",),
    "due_date": ("due_date", "due", "afleveringsdato", "afleveres"),
}
_ALIASES = {fold(alias).replace(" ", "_"): name for name, aliases in COLUMNS.items()
            for alias in aliases}  # fmt: skip
_YES = {"1", "ja", "j", "yes", "y", "true", "x"}
_NO = {"", "0", "nej", "n", "no", "false"}


def _header(row: list[str]) -> list[str]:
    names: list[str] = []
    for raw in row:
        key = fold(raw).replace(" ", "_")
        name = _ALIASES.get(key)
        if name is None:
            known = ", ".join(COLUMNS)
            raise ImportFailed(f"line 1: unknown column {raw!r} (known: {known})")
        if name in names:
            raise ImportFailed(f"line 1: column {raw!r} appears twice")
        names.append(name)
    for required in ("id", "title"):
        if required not in names:
            raise ImportFailed(f"line 1: no {required!r} column (the header needs id and title)")
    return names


def _split(value: str) -> tuple[str, ...]:
    return tuple(part for part in (clean(p) for p in value.split(";")) if part)


def _fiction(row: dict[str, str]) -> bool:
    flag = fold(row.get("fiction", ""))
    if flag in _YES:
        return True
    if flag not in _NO:
        raise RecordError(f"fiction {row['fiction']!r} is not yes/no (ja/nej)")
    return is_fiction_class(row.get("dk5", ""))


def _title(row: dict[str, str], position: str) -> ImportedRecord:
    record_id = check_id(row["id"], "id")
    title = clean(row["title"])
    if not title:
        raise RecordError(f"id {record_id}: no title")
    author = invert_name(clean(row.get("author", "")))
    dk5, fiction = clean(row.get("dk5", "")), _fiction(row)
    isbns: list[str] = []
    warnings: list[str] = []
    for raw in _split(row.get("isbn", "").replace(",", ";")):
        isbn = normalise_isbn(raw)
        if isbn is None:
            warnings.append(f"ISBN {raw!r} is not valid (check digit or length); not searchable")
        elif isbn not in isbns:
            isbns.append(isbn)
    return ImportedRecord(
        record_id=record_id,
        title=title,
        position=position,
        subtitle=clean(row.get("subtitle", "")),
        author=author,
        contributors=tuple(invert_name(c) for c in _split(row.get("contributors", ""))),
        year=_year(row.get("year", "")),
        isbns=tuple(isbns),
        publisher=clean(row.get("publisher", "")),
        dk5=dk5,
        fiction=fiction,
        subjects=_split(row.get("subjects", "")),
        abstract=clean(row.get("abstract", "")),
        shelf_mark=derive_shelf_mark(dk5, fiction, author, title),
        warnings=tuple(warnings),
    )


def _year(value: str) -> int | None:
    year = parse_year(value)
    if value.strip() and year is None:
        raise RecordError(f"year {value.strip()!r} is not a year")
    return year


def _copy(row: dict[str, str], title_shelf: str) -> ImportedCopy | None:
    if not clean(row.get("barcode", "")):
        return None
    due = parse_due_date(row.get("due_date", ""))
    return ImportedCopy(
        barcode=check_id(row["barcode"], "barcode"),
        department=clean(row.get("department", "")),
        shelf_mark=clean(row.get("shelf_mark", "")) or title_shelf,
        status=parse_status(row.get("status", ""), due),
        due_date=due,
        status_given=bool(clean(row.get("status", "")) or due),
    )


@dataclass
class _Title:
    """The rows of one title read so far; a problem in any of them skips the title."""

    record_id: str
    line: int
    record: ImportedRecord | None = None
    copies: list[ImportedCopy] = field(default_factory=list)
    problem: Problem | None = None

    @classmethod
    def start(cls, values: dict[str, str], line: int) -> _Title:
        """A title from its first row."""
        title = cls(clean(values["id"]), line)
        try:
            title.record = _title(values, f"line {line}")
        except RecordError as exc:
            title.problem = Problem(f"line {line}", str(exc))
        return title

    def add(self, values: dict[str, str], line: int) -> None:
        """Add the copy of one row (the first row's too)."""
        if self.record is None or self.problem is not None:
            return
        try:
            copy = _copy(values, self.record.shelf_mark)
        except RecordError as exc:
            self.problem = Problem(f"line {line}", f"id {self.record_id}: {exc}")
            return
        if copy is not None:
            self.copies.append(copy)

    def entry(self) -> Entry:
        """The finished title, or the problem that skips it."""
        if self.problem is not None or self.record is None:
            return self.problem or Problem(f"line {self.line}", "unreadable title")
        return replace(self.record, copies=tuple(self.copies))


def _delimiter(header_line: str) -> str:
    return max(",;\t", key=header_line.count)


def read_csv(stream: BinaryIO) -> Iterator[Entry]:
    """Each title of a CSV file as an ``ImportedRecord``, or a ``Problem`` naming its line."""
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    try:
        yield from _titles(text)
    except UnicodeDecodeError:
        raise ImportFailed(
            "the file is not UTF-8 (save it as 'CSV UTF-8'); nothing imported"
        ) from None
    finally:
        text.detach()


def _titles(text: io.TextIOWrapper) -> Iterator[Entry]:
    first = text.readline()
    if not first.strip():
        raise ImportFailed("line 1: the file is empty (no header)")
    delimiter = _delimiter(first)
    names = _header(next(csv.reader([first], delimiter=delimiter)))
    reader = csv.reader(text, delimiter=delimiter, strict=True)
    current: _Title | None = None
    line = 1  # the line the previous row ended on; rows may span lines inside quotes
    try:
        for row in reader:
            start, line = line + 1, reader.line_num + 1
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(names):
                if current is not None:
                    yield current.entry()
                current = None
                yield Problem(f"line {start}", f"{len(row)} fields, the header has {len(names)}")
                continue
            values = dict(zip(names, row, strict=True))
            if current is None or clean(values["id"]) != current.record_id:
                if current is not None:
                    yield current.entry()
                current = _Title.start(values, start)
            current.add(values, start)
    except csv.Error as exc:
        raise ImportFailed(f"line {line + 1}: broken CSV ({exc}); nothing imported") from None
    if current is not None:
        yield current.entry()
