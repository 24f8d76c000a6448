"""the programme's activities keep the address of their page (iCal URL, CSV url)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 01:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("program_events") as batch:
        batch.add_column(sa.Column("url", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    """Undo this revision."""
    with op.batch_alter_table("program_events") as batch:
        batch.drop_column("url")
