"""plural catalogue table names

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 00:40:00

Every table is named in the plural (``patrons``, ``credentials``, ``local_loans``…) except the
four of the catalogue; they become ``catalogue_records``, ``catalogue_copies``,
``catalogue_imports`` and ``catalogue_import_batches``, with their constraints and index named
by the naming convention of ``services/store/base.py``.

- PostgreSQL renames in place (tables, constraints, the index, the id sequences); the
  full-text table ``catalogue_fts`` keeps its foreign key, which follows the renamed table.
- SQLite cannot rename a constraint, so each table is created under its new name, filled
  from the old one and the old one dropped, children first (with ``foreign_keys=ON`` dropping
  a parent would cascade). Record ids are kept, so the FTS5 index, keyed by them as rowids and
  referring to no table by name, stays valid as it is.

The table shapes are frozen here as they were at 0011: a revision must not import the models.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (old name, new name), parents before children.
RENAMES = (
    ("catalogue_record", "catalogue_records"),
    ("catalogue_copy", "catalogue_copies"),
    ("catalogue_import", "catalogue_imports"),
    ("catalogue_import_batch", "catalogue_import_batches"),
)


def _constraints(names: dict[str, str]) -> list[tuple[str, str]]:
    """(table, constraint or index) of every named object, for the table names ``names``."""
    record, copy = names["catalogue_record"], names["catalogue_copy"]
    imp, batch = names["catalogue_import"], names["catalogue_import_batch"]
    return [
        (record, f"pk_{record}"),
        (record, f"uq_{record}_record_id"),
        (copy, f"pk_{copy}"),
        (copy, f"uq_{copy}_barcode"),
        (copy, f"fk_{copy}_record_key_{record}"),
        (imp, f"pk_{imp}"),
        (batch, f"pk_{batch}"),
        (batch, f"fk_{batch}_import_id_{imp}"),
    ]


def _tables(names: dict[str, str]) -> list[sa.Table]:
    """The four tables as they stood at 0011, under the names ``names`` gives them."""
    metadata = sa.MetaData()
    record, copy = names["catalogue_record"], names["catalogue_copy"]
    imp, batch = names["catalogue_import"], names["catalogue_import_batch"]
    copy_status = sa.Enum(
        "available", "on_loan", "reserved", "not_for_loan", "missing",
        name="copystatus", native_enum=False, length=16,
    )  # fmt: skip
    import_state = sa.Enum(
        "staging", "applying", "done", name="importstate", native_enum=False, length=16
    )
    return [
        sa.Table(
            record,
            metadata,
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("record_id", sa.String(length=64), nullable=False),
            sa.Column("title", sa.Text(), nullable=False),
            sa.Column("subtitle", sa.Text(), nullable=False),
            sa.Column("author", sa.Text(), nullable=False),
            sa.Column("contributors", sa.Text(), nullable=False),
            sa.Column("year", sa.Integer(), nullable=True),
            sa.Column("isbns", sa.Text(), nullable=False),
            sa.Column("publisher", sa.Text(), nullable=False),
            sa.Column("dk5", sa.Text(), nullable=False),
            sa.Column("fiction", sa.Boolean(), nullable=False),
            sa.Column("subjects", sa.Text(), nullable=False),
            sa.Column("abstract", sa.Text(), nullable=False),
            sa.Column("shelf_mark", sa.Text(), nullable=False),
            sa.PrimaryKeyConstraint("id", name=f"pk_{record}"),
            sa.UniqueConstraint("record_id", name=f"uq_{record}_record_id"),
        ),
        sa.Table(
            copy,
            metadata,
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("record_key", sa.Integer(), nullable=False),
            sa.Column("barcode", sa.String(length=64), nullable=False),
            sa.Column("department", sa.Text(), nullable=False),
            sa.Column("shelf_mark", sa.Text(), nullable=False),
            sa.Column("status", copy_status, nullable=False),
            sa.Column("due_date", sa.Date(), nullable=True),
            sa.ForeignKeyConstraint(
                ["record_key"],
                [f"{record}.id"],
                name=f"fk_{copy}_record_key_{record}",
                ondelete="CASCADE",
            ),
            sa.PrimaryKeyConstraint("id", name=f"pk_{copy}"),
            sa.UniqueConstraint("barcode", name=f"uq_{copy}_barcode"),
            sa.Index(f"ix_{copy}_record_key", "record_key"),
        ),
        sa.Table(
            imp,
            metadata,
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("source", sa.Text(), nullable=False),
            sa.Column("state", import_state, nullable=False),
            sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("batches", sa.Integer(), nullable=False),
            sa.Column("applied", sa.Integer(), nullable=False),
            sa.PrimaryKeyConstraint("id", name=f"pk_{imp}"),
        ),
        sa.Table(
            batch,
            metadata,
            sa.Column("import_id", sa.Integer(), nullable=False),
            sa.Column("seq", sa.Integer(), nullable=False),
            sa.Column("payload", sa.Text(), nullable=False),
            sa.ForeignKeyConstraint(
                ["import_id"],
                [f"{imp}.id"],
                name=f"fk_{batch}_import_id_{imp}",
                ondelete="CASCADE",
            ),
            sa.PrimaryKeyConstraint("import_id", "seq", name=f"pk_{batch}"),
        ),
    ]


def _postgresql(before: dict[str, str], after: dict[str, str]) -> None:
    for key, source in before.items():
        target = after[key]
        op.execute(f"ALTER TABLE {source} RENAME TO {target}")
        if key != "catalogue_import_batch":  # the one without a serial id
            # The id's default refers to its sequence by oid; the name follows for whoever
            # reads the schema.
            op.execute(f"ALTER SEQUENCE IF EXISTS {source}_id_seq RENAME TO {target}_id_seq")
    renamed = {before[key]: after[key] for key in before}
    for (table, was), (_, now) in zip(_constraints(before), _constraints(after), strict=True):
        op.execute(f"ALTER TABLE {renamed[table]} RENAME CONSTRAINT {was} TO {now}")
    copy_was, copy_now = before["catalogue_copy"], after["catalogue_copy"]
    op.execute(f"ALTER INDEX ix_{copy_was}_record_key RENAME TO ix_{copy_now}_record_key")


def _sqlite(before: dict[str, str], after: dict[str, str]) -> None:
    bind = op.get_bind()
    sources, targets = _tables(before), _tables(after)
    for source, target in zip(sources, targets, strict=True):
        target.create(bind)
        columns = ", ".join(c.name for c in source.columns)
        op.execute(f"INSERT INTO {target.name} ({columns}) SELECT {columns} FROM {source.name}")
    for source in reversed(sources):
        for index in source.indexes:
            op.execute(f"DROP INDEX IF EXISTS {index.name}")
        op.execute(f"DROP TABLE {source.name}")


def _move(forward: bool) -> None:
    old = {a: a for a, _ in RENAMES}
    new = {a: b for a, b in RENAMES}
    before, after = (old, new) if forward else (new, old)
    if op.get_bind().dialect.name == "postgresql":
        _postgresql(before, after)
    else:
        _sqlite(before, after)


def upgrade() -> None:
    """Apply this revision."""
    _move(forward=True)


def downgrade() -> None:
    """Undo this revision."""
    _move(forward=False)
