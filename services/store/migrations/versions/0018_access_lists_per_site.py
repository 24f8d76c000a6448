"""access lists per site: groups, codes, sign-ups and the version of one site; bans of one
site or (NULL) of the whole municipality

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02 04:50:00

The lists held before were the one site's the server (or the controller) is for: every row is
given that site, handed over by :func:`services.store.schema.create_schema` in
``config.attributes["site"]``; so a ban stays the branch's ban it was.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

revision: str = "0018"
down_revision: str | Sequence[str] | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("access_groups", "bans", "pad_codes", "signups", "access_lists_version")


def _own_site() -> str | None:
    site = context.config.attributes.get("site")
    return site if isinstance(site, str) and site else None


def _restore(bind: sa.Connection, table: str, rows: list[dict[str, object]]) -> None:
    if not rows or bind.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar():
        return
    names = list(rows[0])
    columns = ", ".join(names)
    values = ", ".join(f":{n}" for n in names)
    bind.execute(sa.text(f"INSERT INTO {table} ({columns}) VALUES ({values})"), rows)


def upgrade() -> None:
    """Apply this revision."""
    bind = op.get_bind()
    site = _own_site()
    held = [t for t in TABLES if bind.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar()]
    if held and site is None:
        raise RuntimeError(
            f"migration 0018 gives the access lists held ({', '.join(held)}) their site: "
            "open the database with the site's id (open_database(url, site=...))"
        )
    for table in (*TABLES, "access_list_audit"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("site", sa.String(length=41), nullable=True))
    if site is not None:
        for table in (*TABLES, "access_list_audit"):
            bind.execute(sa.text(f"UPDATE {table} SET site = :site"), {"site": site})

    # SQLite copies access_groups to change it, and dropping the old table cascades to its
    # members (the foreign keys are on and cannot be turned off inside the transaction): they are
    # put back as they were.
    members = [dict(r._mapping) for r in bind.execute(sa.text("SELECT * FROM group_members"))]
    with op.batch_alter_table("access_groups", schema=None) as batch_op:
        batch_op.alter_column("site", existing_type=sa.String(length=41), nullable=False)
        batch_op.drop_constraint("uq_access_groups_name", type_="unique")
        batch_op.create_unique_constraint(batch_op.f("uq_access_groups_site"), ["site", "name"])
    _restore(bind, "group_members", members)
    with op.batch_alter_table("bans", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bans_site"), ["site"], unique=False)
    with op.batch_alter_table("pad_codes", schema=None) as batch_op:
        batch_op.alter_column("site", existing_type=sa.String(length=41), nullable=False)
    with op.batch_alter_table("signups", schema=None) as batch_op:
        batch_op.alter_column("site", existing_type=sa.String(length=41), nullable=False)
        batch_op.drop_constraint("pk_signups", type_="primary")
        batch_op.create_primary_key("pk_signups", ["site", "credential_hash"])
    with op.batch_alter_table("access_lists_version", schema=None) as batch_op:
        batch_op.alter_column("site", existing_type=sa.String(length=41), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_access_lists_version_site"), ["site"])


def downgrade() -> None:
    """Undo this revision (a municipality server's other sites' rows would collide: refused)."""
    with op.batch_alter_table("access_lists_version", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_access_lists_version_site"), type_="unique")
        batch_op.drop_column("site")
    with op.batch_alter_table("signups", schema=None) as batch_op:
        batch_op.drop_constraint("pk_signups", type_="primary")
        batch_op.create_primary_key("pk_signups", ["credential_hash"])
        batch_op.drop_column("site")
    with op.batch_alter_table("pad_codes", schema=None) as batch_op:
        batch_op.drop_column("site")
    with op.batch_alter_table("bans", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bans_site"))
        batch_op.drop_column("site")
    bind = op.get_bind()
    members = [dict(r._mapping) for r in bind.execute(sa.text("SELECT * FROM group_members"))]
    with op.batch_alter_table("access_groups", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_access_groups_site"), type_="unique")
        batch_op.create_unique_constraint("uq_access_groups_name", ["name"])
        batch_op.drop_column("site")
    _restore(bind, "group_members", members)
    with op.batch_alter_table("access_list_audit", schema=None) as batch_op:
        batch_op.drop_column("site")
