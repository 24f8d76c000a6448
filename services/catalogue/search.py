"""Catalogue search for the kiosk: results as the patron types, and one title in full.

A query is folded like the catalogue (``folding``), so case, accents and æ/ae, ø/oe, å/aa do not
matter; its words may come in any order ("Adler-Olsen, Jussi" finds "Jussi Adler-Olsen") and each
matches the start of a word ("kvin bur" finds "Kvinden i buret"). A query shaped like an ISBN,
with or without hyphens, is one word; a complete ISBN-10 or -13 finds both editions' numbers.
Titles rank above authors, authors above subjects.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Row, func, select
from sqlalchemy.orm import Session

from services.catalogue import fulltext
from services.catalogue.folding import (
    compact_isbn,
    display_name,
    looks_like_isbn,
    normalise_isbn,
    tokens,
)
from services.store.catalogue import CatalogueCopy, CatalogueRecord, CopyStatus

MAX_TERMS = 8
COUNT_CAP = 10_000  # beyond this a count is "over 10,000": exact counts of "a" cost time
_ISBN_LABEL = re.compile(r"^\s*isbn(?:-1[03])?\s*:?\s*(?=[\d])", re.IGNORECASE)
MIN_QUERY_CHARS = 2


@dataclass(frozen=True)
class Hit:
    """One title in a result list: what the kiosk shows in a row, availability included."""

    record_id: str
    title: str
    subtitle: str
    author: str
    year: int | None
    isbn: str | None
    shelf_mark: str
    available: int
    copies: int

    @property
    def availability(self) -> str:
        """``"2 of 3 available"``: the summary a row shows (the kiosk translates it)."""
        return f"{self.available} of {self.copies} available"


@dataclass(frozen=True)
class CopyDetail:
    """One copy of a title: where to find it and whether it is in."""

    barcode: str
    department: str
    shelf_mark: str
    status: CopyStatus
    due_date: date | None


@dataclass(frozen=True)
class ItemDetail:
    """A title in full for its detail screen: description, classification and every copy."""

    record_id: str
    title: str
    subtitle: str
    author: str
    contributors: tuple[str, ...]
    year: int | None
    isbns: tuple[str, ...]
    publisher: str
    dk5: str
    fiction: bool
    subjects: tuple[str, ...]
    abstract: str
    shelf_mark: str
    copies: tuple[CopyDetail, ...]

    @property
    def available(self) -> int:
        """How many copies are on the shelf now."""
        return sum(1 for c in self.copies if c.status is CopyStatus.AVAILABLE)


@dataclass(frozen=True)
class Results:
    """The rows for one query, and how many titles match in all (``more``: over ``total``)."""

    hits: list[Hit]
    total: int
    more: bool = False


class RecordNotFound(LookupError):
    """No title has this record id (it was deleted, or the id is mistyped)."""


def parse_query(query: str) -> list[fulltext.Term]:
    """The index terms of what the patron typed; empty when there is nothing to search for.

    "isbn 978-87-..." (or "ISBN: ...") is the number alone, as patrons copy it off a cover.
    """
    query = _ISBN_LABEL.sub("", query)
    if looks_like_isbn(query):
        isbn = normalise_isbn(query)
        if isbn is not None:
            return [fulltext.Term(isbn, prefix=False, isbn_only=True)]
        # Part of an ISBN, or a number in a title ("1984"): one word, matched as a prefix.
        return [fulltext.Term(compact_isbn(query).lower())]
    words = tokens(query)[:MAX_TERMS]
    if sum(len(w) for w in words) < MIN_QUERY_CHARS:
        return []
    return [fulltext.Term(word) for word in words]


def _split(joined: str, separator: str) -> tuple[str, ...]:
    return tuple(part for part in joined.split(separator) if part)


def find(session: Session, query: str, limit: int = 20) -> Results:
    """The first ``limit`` titles for ``query`` and how many match in all (up to COUNT_CAP)."""
    terms = parse_query(query)
    hits = _hits(session, terms, limit)
    total = fulltext.count(session, terms, COUNT_CAP + 1) if len(hits) == limit else len(hits)
    return Results(hits, min(total, COUNT_CAP), more=total > COUNT_CAP)


def search(session: Session, query: str, limit: int = 20) -> list[Hit]:
    """Titles matching ``query``, best first, at most ``limit``, each with its availability."""
    return _hits(session, parse_query(query), limit)


def _hits(session: Session, terms: list[fulltext.Term], limit: int) -> list[Hit]:
    keys = fulltext.match(session, terms, limit)
    if not keys:
        return []
    # The columns a row shows, not ORM objects: a keystroke's answer builds no entities.
    r = CatalogueRecord
    columns = (r.id, r.record_id, r.title, r.subtitle, r.author, r.year, r.isbns, r.shelf_mark)
    records = {row.id: row for row in session.execute(select(*columns).where(r.id.in_(keys)))}
    counts = {
        key: (total, available)
        for key, total, available in session.execute(
            select(
                CatalogueCopy.record_key,
                func.count(),
                func.count().filter(CatalogueCopy.status == CopyStatus.AVAILABLE),
            )
            .where(CatalogueCopy.record_key.in_(keys))
            .group_by(CatalogueCopy.record_key)
        )
    }
    return [_hit(records[key], *counts.get(key, (0, 0))) for key in keys if key in records]


_HitRow = Row[int, str, str, str, str, int | None, str, str]


def _hit(record: _HitRow, copies: int, available: int) -> Hit:
    isbns = record.isbns.split()
    return Hit(
        record_id=record.record_id,
        title=record.title,
        subtitle=record.subtitle,
        author=display_name(record.author),
        year=record.year,
        isbn=isbns[0] if isbns else None,
        shelf_mark=record.shelf_mark,
        available=available,
        copies=copies,
    )


def item(session: Session, record_id: str) -> ItemDetail:
    """The title with ``record_id`` and all its copies; ``RecordNotFound`` if there is none."""
    record = session.scalars(
        select(CatalogueRecord).where(CatalogueRecord.record_id == record_id)
    ).one_or_none()
    if record is None:
        raise RecordNotFound(f"no title with record id {record_id!r}")
    copies = session.scalars(
        select(CatalogueCopy)
        .where(CatalogueCopy.record_key == record.id)
        .order_by(CatalogueCopy.department, CatalogueCopy.shelf_mark, CatalogueCopy.barcode)
    )
    return ItemDetail(
        record_id=record.record_id,
        title=record.title,
        subtitle=record.subtitle,
        author=display_name(record.author),
        contributors=tuple(display_name(c) for c in _split(record.contributors, "; ")),
        year=record.year,
        isbns=_split(record.isbns, " "),
        publisher=record.publisher,
        dk5=record.dk5,
        fiction=record.fiction,
        subjects=_split(record.subjects, "; "),
        abstract=record.abstract,
        shelf_mark=record.shelf_mark,
        copies=tuple(
            CopyDetail(c.barcode, c.department, c.shelf_mark, c.status, c.due_date) for c in copies
        ),
    )
