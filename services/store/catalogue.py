"""The catalogue's data: titles and their copies as tables, and the shape every importer yields.

A title (``CatalogueRecord``) is identified by the library's own record id: the faust number
(danMARC2 field 001 *a) or the id column of a CSV file; a re-import updates the title with the
same record id. Its copies (``CatalogueCopy``) are replaced whole by each import of the title.
"""

from __future__ import annotations

import enum
import functools
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import cast

from sqlalchemy import (
    Boolean,
    Connection,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from services.catalogue.folding import fold, invert_name, split_name
from services.store.base import Base


class CopyStatus(enum.StrEnum):
    """Where a copy is: on the shelf, lent out, held for a patron, or not lendable."""

    AVAILABLE = "available"
    ON_LOAN = "on_loan"
    RESERVED = "reserved"
    NOT_FOR_LOAN = "not_for_loan"
    MISSING = "missing"


def _text_enum(kind: type[enum.StrEnum]) -> Enum:
    """A column of ``kind``'s values as text (no native enum: adding a value needs no DDL)."""
    return Enum(
        kind,
        native_enum=False,
        length=16,
        values_callable=lambda members: [m.value for m in members],
    )


class CatalogueRecord(Base):
    """One title in the catalogue, with the fields the kiosk shows and searches."""

    __tablename__ = "catalogue_records"

    # An integer key because the full-text index (FTS5 rowid) is keyed by integers.
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[str] = mapped_column(String(64), unique=True)
    # Text, not VARCHAR(n): PostgreSQL refuses an over-long value, which would fail a whole
    # import for one long subtitle.
    title: Mapped[str] = mapped_column(Text)
    subtitle: Mapped[str] = mapped_column(Text, default="")
    author: Mapped[str] = mapped_column(Text, default="", doc="heading: 'Last, First'")
    contributors: Mapped[str] = mapped_column(Text, default="", doc="headings joined by '; '")
    year: Mapped[int | None] = mapped_column(Integer)
    isbns: Mapped[str] = mapped_column(Text, default="", doc="ISBN-13s joined by spaces")
    publisher: Mapped[str] = mapped_column(Text, default="")
    dk5: Mapped[str] = mapped_column(Text, default="", doc="DK5 class, 'sk' for fiction")
    fiction: Mapped[bool] = mapped_column(Boolean, default=False)
    subjects: Mapped[str] = mapped_column(Text, default="", doc="subject words joined by '; '")
    abstract: Mapped[str] = mapped_column(Text, default="")
    shelf_mark: Mapped[str] = mapped_column(Text, default="")


class CatalogueCopy(Base):
    """One physical copy of a title: its barcode, where it stands and whether it is in."""

    __tablename__ = "catalogue_copies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_key: Mapped[int] = mapped_column(
        ForeignKey("catalogue_records.id", ondelete="CASCADE"), index=True
    )
    barcode: Mapped[str] = mapped_column(String(64), unique=True)
    department: Mapped[str] = mapped_column(Text, default="")
    shelf_mark: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[CopyStatus] = mapped_column(_text_enum(CopyStatus), default=CopyStatus.AVAILABLE)
    due_date: Mapped[date | None] = mapped_column(Date)


class ImportState(enum.StrEnum):
    """Where a staged import is: reading into staging, applying to the catalogue, or done."""

    STAGING = "staging"
    APPLYING = "applying"
    DONE = "done"


class CatalogueImport(Base):
    """One run of ``catalogue import``: its file, its state and how many batches are applied.

    The journal that lets an import apply in short transactions and still be all or nothing:
    an import cut off while *staging* is discarded, one cut off while *applying* is finished by
    the next import (``services/catalogue/staged.py``).
    """

    __tablename__ = "catalogue_imports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(Text)
    state: Mapped[ImportState] = mapped_column(_text_enum(ImportState))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    batches: Mapped[int] = mapped_column(Integer, default=0)
    applied: Mapped[int] = mapped_column(Integer, default=0)


class CatalogueImportBatch(Base):
    """A batch of checked records of a staged import, as JSON, waiting to be applied."""

    __tablename__ = "catalogue_import_batches"

    import_id: Mapped[int] = mapped_column(
        ForeignKey("catalogue_imports.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    payload: Mapped[str] = mapped_column(Text)


CATALOGUE_TABLES: tuple[Table, ...] = (
    cast(Table, CatalogueRecord.__table__),
    cast(Table, CatalogueCopy.__table__),
    cast(Table, CatalogueImport.__table__),
    cast(Table, CatalogueImportBatch.__table__),
)


def create_tables(connection: Connection) -> None:
    """Create the catalogue tables and their full-text index where missing.

    For tests, the demo and the benchmark; a deployed database gets the same from its migration.
    """
    from services.catalogue import fulltext

    Base.metadata.create_all(connection, tables=CATALOGUE_TABLES)
    fulltext.create_index(connection)


@dataclass(frozen=True)
class ImportedCopy:
    """A copy as a source file describes it; an empty shelf mark takes the title's.

    ``status_given`` is False when the file says nothing of the copy's status (a holding
    without a status subfield): a re-import then keeps the status the copy has (lent at the
    kiosk, say) instead of putting it back on the shelf.
    """

    barcode: str
    department: str = ""
    shelf_mark: str = ""
    status: CopyStatus = CopyStatus.AVAILABLE
    due_date: date | None = None
    status_given: bool = True


@dataclass(frozen=True)
class ImportedRecord:
    """A title read from a MARC or CSV file, not yet stored; ``position`` names where it was."""

    record_id: str
    title: str
    position: str
    subtitle: str = ""
    author: str = ""
    contributors: tuple[str, ...] = ()
    year: int | None = None
    isbns: tuple[str, ...] = ()
    publisher: str = ""
    dk5: str = ""
    fiction: bool = False
    subjects: tuple[str, ...] = ()
    abstract: str = ""
    shelf_mark: str = ""
    copies: tuple[ImportedCopy, ...] = ()
    deleted: bool = False
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Problem:
    """Something wrong in a source file, with where it is: ``"record 12 (byte 5310)"``."""

    position: str
    message: str

    def __str__(self) -> str:
        return f"{self.position}: {self.message}"


def is_fiction_class(dk5: str) -> bool:
    """True for the danMARC2 fiction signature 'sk' (skønlitteratur) in place of a DK5 number."""
    return dk5.strip().casefold() in {"sk", "skønlitteratur"}


def derive_shelf_mark(
    dk5: str,
    fiction: bool,
    author: str,
    title: str,
    subdivision: str = "",
    *,
    corporate: bool = False,
) -> str:
    """The shelf mark a public library files a title under when the source gives none.

    Fiction stands by the author's heading ("Adler-Olsen, Jussi"); non-fiction by its DK5
    number followed by the alphabetical subdivision (the biographee of a 99.4 biography) or the
    author's surname, else the title's first word ("99.4 Andersen", "61.3 Hansen"). A
    ``corporate`` author (MARC 110: "United States") is filed as written, never inverted.
    Source: danMARC2 field 652 (alphabetical subdivision *a) and 096-099 (local shelf marks).
    """
    heading = author if corporate else invert_name(author) if author else ""
    if fiction or not dk5:
        return heading or title
    name = heading if corporate else split_name(heading)[0]
    word = subdivision or name or (title.split() or [""])[0]
    return f"{dk5} {word}".strip()


class RecordError(ValueError):
    """One record cannot be used; the reader reports it with its position and skips it."""


@dataclass(frozen=True)
class FileNotice(Problem):
    """Something about the file as a whole that was accepted with a warning (DBC's padding)."""


class ImportFailed(Exception):
    """The whole file cannot be imported (unreadable, wrong header); nothing is applied."""


Entry = ImportedRecord | Problem
MAX_ID_LENGTH = 64
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_YEAR = re.compile(r"(?<!\d)(1[5-9]\d\d|20\d\d)(?!\d)")
_STATUS_WORDS = {
    CopyStatus.AVAILABLE: ("available", "hjemme", "paa hylden", "ledig", "in"),
    CopyStatus.ON_LOAN: ("on loan", "on_loan", "udlaant", "laant ud", "out"),
    CopyStatus.RESERVED: ("reserved", "reserveret", "on hold", "afhentning"),
    CopyStatus.NOT_FOR_LOAN: ("not for loan", "not_for_loan", "udlaanes ikke", "referenceeks"),
    CopyStatus.MISSING: ("missing", "lost", "bortkommet", "mangler"),
}
_STATUS = {fold(word): status for status, words in _STATUS_WORDS.items() for word in words}


def clean(value: str) -> str:
    """``value`` with control characters and runs of spaces collapsed to one space.

    Source files carry tabs, stray MARC delimiters and NUL bytes; PostgreSQL refuses NUL in text,
    which would fail the whole import for one bad byte.
    """
    if value.isprintable() and "  " not in value and value == value.strip():
        return value  # the common case, without a regex and a split
    return " ".join(_CONTROL.sub(" ", value).split())


def check_id(value: str, what: str) -> str:
    """A record id or barcode, cleaned; empty or over-long ids are a ``RecordError``."""
    value = clean(value)
    if not value:
        raise RecordError(f"no {what}")
    if len(value) > MAX_ID_LENGTH:
        raise RecordError(f"{what} {value[:20]!r}... is longer than {MAX_ID_LENGTH} characters")
    return value


def parse_status(text: str, due: date | None = None) -> CopyStatus:
    """A copy status in English or Danish ("udlånt", "on loan"); empty means in, or out if due."""
    if not text.strip():
        return CopyStatus.ON_LOAN if due else CopyStatus.AVAILABLE
    status = _status_word(text)
    if status is None:
        known = ", ".join(s.value for s in CopyStatus)
        raise RecordError(f"unknown copy status {text!r} (use {known} or Danish)")
    return status


@functools.lru_cache(maxsize=256)
def _status_word(text: str) -> CopyStatus | None:
    # A catalogue writes its few status words again and again: fold each once.
    return _STATUS.get(fold(text))


def parse_due_date(text: str) -> date | None:
    """A due date as 2025-03-31, 31-03-2025, 31.03.2025 or 20250331; empty is None."""
    text = text.strip()
    if not text:
        return None
    if len(text) == 10 and text[4] == "-":
        try:
            return date.fromisoformat(text)  # the common spelling, without strptime's cost
        except ValueError:
            pass
    for pattern in ("%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y", "%d/%m/%Y", "%Y%m%d"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise RecordError(f"due date {text!r} is not a date (use YYYY-MM-DD)")


def parse_year(text: str) -> int | None:
    """The first plausible year in ``text`` ("c2019", "[1998]", "2001-2003"), or None."""
    found = _YEAR.search(text)
    return int(found.group(1)) if found else None
