"""command audit detail: what a building command carried (the message announced, the minutes)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 00:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("command_audit", schema=None) as batch_op:
        batch_op.add_column(sa.Column("detail", sa.String(length=200), nullable=True))


def downgrade() -> None:
    """Undo this revision."""
    with op.batch_alter_table("command_audit", schema=None) as batch_op:
        batch_op.drop_column("detail")
