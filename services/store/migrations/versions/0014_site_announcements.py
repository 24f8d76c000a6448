"""site announcements: what each branch says of itself, for a municipality's server

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 00:50:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "sites",
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("doors", sa.JSON(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=True),
        sa.Column("opening", sa.String(length=32), nullable=True),
        sa.Column("description", sa.JSON(), nullable=False),
        sa.Column("announced", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("site", name=op.f("pk_sites")),
    )


def downgrade() -> None:
    """Undo this revision."""
    op.drop_table("sites")
