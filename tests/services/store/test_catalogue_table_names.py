"""Revision 0015 renames the catalogue's tables to the plural, with the data and the search index.

A database at 0014 (the last with the old names) with titles, copies, a staged import and its
full-text index is upgraded, then downgraded again, on SQLite and PostgreSQL; nothing is lost
either way.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic import command
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.catalogue.search import search
from services.store.schema import alembic_config, create_schema, schema_differences

OLD = ("catalogue_record", "catalogue_copy", "catalogue_import", "catalogue_import_batch")
NEW = ("catalogue_records", "catalogue_copies", "catalogue_imports", "catalogue_import_batches")


def _migrate(engine: Engine, how: str, revision: str) -> None:
    with engine.begin() as connection:
        getattr(command, how)(alembic_config(connection), revision)


def _fill_at_0014(engine: Engine) -> None:
    """Two titles, two copies, a staged import and the index, written as 0014 still named them."""
    fts_sqlite = (
        "INSERT INTO catalogue_fts (rowid, title, author, subjects, isbn) "
        "VALUES (:key, :title, :author, '', '')"
    )
    fts_pg = (
        "INSERT INTO catalogue_fts (record_key, document) VALUES (:key, "
        "setweight(to_tsvector('simple', :title), 'A') || "
        "setweight(to_tsvector('simple', :author), 'B'))"
    )
    with engine.begin() as c:
        for key, rid, title, author in (
            (7, "27543521", "kongens fald", "jensen johannes v"),
            (9, "29017853", "hoejskolesangbogen", ""),
        ):
            c.execute(
                text(
                    "INSERT INTO catalogue_record (id, record_id, title, subtitle, author, "
                    "contributors, year, isbns, publisher, dk5, fiction, subjects, abstract, "
                    "shelf_mark) VALUES (:key, :rid, :title, '', :author, '', 1901, '', '', "
                    "'sk', true, '', '', '')"
                ),
                {"key": key, "rid": rid, "title": title, "author": author},
            )
            sql = fts_pg if engine.dialect.name == "postgresql" else fts_sqlite
            c.execute(text(sql), {"key": key, "title": title, "author": author})
        c.execute(
            text(
                "INSERT INTO catalogue_copy (id, record_key, barcode, department, shelf_mark, "
                "status, due_date) VALUES (1, 7, '5010000001', 'Voksen', 'Jensen', 'on_loan', "
                "'2026-12-24'), (2, 9, '5010000002', '', '', 'available', NULL)"
            )
        )
        c.execute(
            text(
                "INSERT INTO catalogue_import (id, source, state, started_at, batches, applied) "
                "VALUES (3, 'katalog.iso', 'applying', :at, 2, 1)"
            ),
            {"at": datetime(2026, 12, 1, 22, 0, tzinfo=UTC)},
        )
        c.execute(
            text("INSERT INTO catalogue_import_batch (import_id, seq, payload) VALUES (3, 1, '[]')")
        )


def _rows(engine: Engine, names: tuple[str, ...]) -> list[list[tuple[object, ...]]]:
    record, copy, imp, batch = names
    queries = (
        f"SELECT id, record_id, title FROM {record} ORDER BY id",
        f"SELECT id, record_key, barcode, status FROM {copy} ORDER BY id",
        f"SELECT id, source, state, applied FROM {imp}",
        f"SELECT import_id, seq, payload FROM {batch}",
    )
    with engine.connect() as c:
        return [[tuple(row) for row in c.execute(text(query))] for query in queries]


def test_upgrade_from_0014_keeps_every_row_and_the_index(engine: Engine) -> None:
    _migrate(engine, "upgrade", "0014")
    _fill_at_0014(engine)
    before = _rows(engine, OLD)
    assert [len(rows) for rows in before] == [2, 2, 1, 1]

    _migrate(engine, "upgrade", "head")  # the rename, then what came after it: the models'

    tables = set(inspect(engine).get_table_names())
    assert set(NEW) <= tables and not set(OLD) & tables
    assert _rows(engine, NEW) == before
    with engine.connect() as connection:
        assert schema_differences(connection) == []
    with Session(engine) as session:
        assert [h.record_id for h in search(session, "kongens fald")] == ["27543521"]
        assert [h.record_id for h in search(session, "Højskolesangbogen")] == ["29017853"]


def test_after_the_upgrade_the_keys_and_cascades_point_at_the_new_tables(engine: Engine) -> None:
    _migrate(engine, "upgrade", "0014")
    _fill_at_0014(engine)
    _migrate(engine, "upgrade", "0015")
    inspector = inspect(engine)
    [copy_fk] = inspector.get_foreign_keys("catalogue_copies")
    assert copy_fk["referred_table"] == "catalogue_records"
    assert copy_fk["name"] == "fk_catalogue_copies_record_key_catalogue_records"
    [batch_fk] = inspector.get_foreign_keys("catalogue_import_batches")
    assert batch_fk["referred_table"] == "catalogue_imports"
    indexes = {i["name"] for i in inspector.get_indexes("catalogue_copies")}
    assert "ix_catalogue_copies_record_key" in indexes
    assert {u["name"] for u in inspector.get_unique_constraints("catalogue_copies")} == {
        "uq_catalogue_copies_barcode"
    }
    assert inspector.get_pk_constraint("catalogue_import_batches")["name"] == (
        "pk_catalogue_import_batches"
    )
    with engine.begin() as c, pytest.raises(IntegrityError):
        c.execute(text("INSERT INTO catalogue_copies (record_key, barcode, department, "
                       "shelf_mark, status) VALUES (99, 'x', '', '', 'available')"))  # fmt: skip
    with engine.begin() as c:
        # New rows get fresh ids (PostgreSQL: the renamed sequence, moved past the copied ids).
        if engine.dialect.name == "postgresql":
            c.execute(text("SELECT setval('catalogue_records_id_seq', 9)"))
        c.execute(
            text(
                "INSERT INTO catalogue_records (record_id, title, subtitle, author, "
                "contributors, isbns, publisher, dk5, fiction, subjects, abstract, shelf_mark) "
                "VALUES ('new', 'ny', '', '', '', '', '', '', false, '', '', '')"
            )
        )
        c.execute(text("DELETE FROM catalogue_records WHERE id = 7"))
        c.execute(text("DELETE FROM catalogue_imports WHERE id = 3"))
    with engine.connect() as c:
        assert c.scalar(text("SELECT count(*) FROM catalogue_copies")) == 1
        assert c.scalar(text("SELECT count(*) FROM catalogue_import_batches")) == 0
        if engine.dialect.name == "postgresql":  # the index's foreign key follows the rename
            assert c.scalar(text("SELECT count(*) FROM catalogue_fts")) == 1


def test_downgrade_to_0014_gives_the_old_names_back_with_the_data(engine: Engine) -> None:
    _migrate(engine, "upgrade", "0014")
    _fill_at_0014(engine)
    before = _rows(engine, OLD)
    _migrate(engine, "upgrade", "0015")
    _migrate(engine, "downgrade", "0014")
    tables = set(inspect(engine).get_table_names())
    assert set(OLD) <= tables and not set(NEW) & tables
    assert _rows(engine, OLD) == before
    [copy_fk] = inspect(engine).get_foreign_keys("catalogue_copy")
    assert copy_fk["name"] == "fk_catalogue_copy_record_key_catalogue_record"
    create_schema(engine)  # and up again, as a process starting on it would
    assert _rows(engine, NEW) == before


def test_the_catalogue_tables_follow_the_plural_convention() -> None:
    from services.store.catalogue import CATALOGUE_TABLES

    assert tuple(t.name for t in CATALOGUE_TABLES) == NEW
