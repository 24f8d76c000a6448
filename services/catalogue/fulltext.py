"""The full-text index of the catalogue: SQLite FTS5 on a device, a tsvector on PostgreSQL.

This is the one module with SQL strings, because the database's own text search is the point.
Both back-ends index the same
folded words (``folding.tokens``) in four weighted parts, title > author > subject > ISBN, and
answer the same ``match`` call with record keys, best first:

- SQLite: an FTS5 table whose rowid is ``catalogue_records.id``, ranked by ``bm25`` with column
  weights; prefix indexes make results-as-you-type cheap.
- PostgreSQL: ``catalogue_fts(record_key, document tsvector)`` built with the ``simple``
  configuration (no stemming or stop words: the text is folded already) and ``setweight`` A-D,
  a GIN index, ranked by ``ts_rank`` with the weights below.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, text
from sqlalchemy.orm import Session

from services.catalogue.folding import fold, isbn_keys

# bm25 column weights (title, author, subjects, isbn) and ts_rank weights {D, C, B, A}: a word in
# the title outranks the same word in the author, which outranks a subject word.
_BM25 = "bm25(catalogue_fts, 10.0, 4.0, 1.5, 1.0)"
_TS_WEIGHTS = "{0.05, 0.15, 0.4, 1.0}"

SQLITE_DDL = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS catalogue_fts USING fts5("
    "title, author, subjects, isbn, prefix='2 3 4', tokenize='unicode61 remove_diacritics 0')",
)
POSTGRESQL_DDL = (
    "CREATE TABLE IF NOT EXISTS catalogue_fts ("
    "record_key INTEGER PRIMARY KEY REFERENCES catalogue_records (id) ON DELETE CASCADE, "
    "document TSVECTOR NOT NULL)",
    "CREATE INDEX IF NOT EXISTS ix_catalogue_fts_document ON catalogue_fts USING GIN (document)",
)

CANDIDATES = 5000
# A document as the index stores it: record key, then the folded title, author, subjects, ISBNs
# (``document``).
DocumentRow = tuple[int, str, str, str, str]
_SQLITE_MATCH = text(
    "SELECT rowid FROM (SELECT rowid, "
    f"{_BM25} AS score FROM catalogue_fts WHERE catalogue_fts MATCH :q "
    "ORDER BY rowid DESC LIMIT :candidates) ORDER BY score, rowid DESC LIMIT :limit"
)
_PG_MATCH = text(
    "SELECT record_key FROM (SELECT record_key, document FROM catalogue_fts "
    "WHERE document @@ to_tsquery('simple', :q) ORDER BY record_key DESC LIMIT :candidates) AS c "
    f"ORDER BY ts_rank('{_TS_WEIGHTS}', document, to_tsquery('simple', :q)) DESC, "
    "record_key DESC LIMIT :limit"
)
_SQLITE_COUNT = text(
    "SELECT count(*) FROM (SELECT 1 FROM catalogue_fts WHERE catalogue_fts MATCH :q LIMIT :cap)"
)
_PG_COUNT = text(
    "SELECT count(*) FROM (SELECT 1 FROM catalogue_fts "
    "WHERE document @@ to_tsquery('simple', :q) LIMIT :cap) AS c"
)
# Positional, for the driver's executemany (``add_documents``): sqlite3 and psycopg marks.
_SQLITE_INSERT = (
    "INSERT INTO catalogue_fts (rowid, title, author, subjects, isbn) VALUES (?, ?, ?, ?, ?)"
)
_PG_UPSERT = (
    "INSERT INTO catalogue_fts (record_key, document) VALUES (%s, "
    "setweight(to_tsvector('simple', %s), 'A') || "
    "setweight(to_tsvector('simple', %s), 'B') || "
    "setweight(to_tsvector('simple', %s), 'C') || "
    "setweight(to_tsvector('simple', %s), 'D')) "
    "ON CONFLICT (record_key) DO UPDATE SET document = EXCLUDED.document"
)


@dataclass(frozen=True)
class Term:
    """One folded query word; ``prefix`` matches words that start with it (as-you-type)."""

    word: str
    prefix: bool = True
    isbn_only: bool = False


def document(
    title: str, author: str, subjects: Iterable[str], isbns: Iterable[str]
) -> tuple[str, str, str, str]:
    """A title's index document: its searchable fields folded, in the index's weighted parts
    (title, author, subjects, ISBNs as ISBN-13 and -10)."""
    return (
        fold(title),
        fold(author),
        fold(" ".join(subjects)),
        " ".join([k for isbn in isbns for k in isbn_keys(isbn)]),
    )


def ddl(dialect: str) -> tuple[str, ...]:
    """The statements that create the index on ``dialect`` (what the migration must run)."""
    return POSTGRESQL_DDL if dialect == "postgresql" else SQLITE_DDL


def create_index(connection: Connection) -> None:
    """Create the index if it is missing, after the catalogue tables exist."""
    for statement in ddl(connection.dialect.name):
        connection.execute(text(statement))


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def delete_documents(session: Session, keys: Sequence[int]) -> None:
    """Remove the documents of ``keys`` (a re-imported or deleted title)."""
    if not keys:
        return
    table_key = "record_key" if _dialect(session) == "postgresql" else "rowid"
    statement = text(f"DELETE FROM catalogue_fts WHERE {table_key} IN :keys")
    session.execute(statement.bindparams(bindparam("keys", expanding=True)), {"keys": list(keys)})


def add_documents(session: Session, documents: Sequence[DocumentRow], *, replace: bool) -> None:
    """Index ``documents``; with ``replace`` their keys may already be indexed and are updated."""
    if not documents:
        return
    # Straight to the driver: SQLAlchemy's processing of each row's parameters cost as much
    # as the indexing itself.
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(_PG_UPSERT, list(documents))
        return
    if replace:
        # FTS5 has no upsert: delete the old rows first.
        delete_documents(session, [d[0] for d in documents])
    connection.exec_driver_sql(_SQLITE_INSERT, list(documents))


def _fts5_query(terms: Sequence[Term]) -> str:
    # Folded words are letters and digits only (any script), so quoting them cannot break
    # the MATCH syntax.
    parts = []
    for term in terms:
        phrase = f'"{term.word}"' + ("*" if term.prefix else "")
        parts.append(f"isbn : {phrase}" if term.isbn_only else phrase)
    return " AND ".join(parts)


def _tsquery(terms: Sequence[Term]) -> str:
    # "word:*" is a prefix, "word:D" a word in the ISBN part only, "word:*D" both.
    parts = []
    for term in terms:
        label = ("*" if term.prefix else "") + ("D" if term.isbn_only else "")
        parts.append(f"{term.word}:{label}" if label else term.word)
    return " & ".join(parts)


def _statement_and_query(session: Session, terms: Sequence[Term], pg: Any, sqlite: Any) -> Any:
    if _dialect(session) == "postgresql":
        return pg, _tsquery(terms)
    return sqlite, _fts5_query(terms)


def count(session: Session, terms: Sequence[Term], cap: int) -> int:
    """How many titles contain every term, counted up to ``cap`` (a keystroke stays cheap)."""
    if not terms:
        return 0
    statement, query = _statement_and_query(session, terms, _PG_COUNT, _SQLITE_COUNT)
    return int(session.scalar(statement, {"q": query, "cap": cap}) or 0)


def match(session: Session, terms: Sequence[Term], limit: int) -> list[int]:
    """Keys of the titles that contain every term, best first, at most ``limit``.

    Ranking costs time for every matching title, so when more than ``CANDIDATES`` titles
    match (one very common word, "den" as the patron starts typing) only the newest
    ``CANDIDATES`` of them are ranked; that keeps a keystroke's answer within a few
    milliseconds on a 500,000-title catalogue, and the next word narrows the set anyway.
    """
    if not terms or limit <= 0:
        return []
    statement, query = _statement_and_query(session, terms, _PG_MATCH, _SQLITE_MATCH)
    rows = session.scalars(statement, {"q": query, "limit": limit, "candidates": CANDIDATES})
    return [int(key) for key in rows]
