"""Patrons and credentials: the local registry (card and CPR numbers only as keyed hashes).

Revision ID: 0001
Create Date: 2026-11-25 13:16:21.007657
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "patrons",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patron_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("expires", sa.Date(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "active",
                "blocked",
                "expired",
                "card_lost",
                "pin_blocked",
                name="patronstatus",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("guardian_consent", sa.Boolean(), nullable=False),
        sa.Column("pin_hash", sa.String(length=200), nullable=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patrons")),
        sa.UniqueConstraint("patron_id", name=op.f("uq_patrons_patron_id")),
    )
    op.create_table(
        "credentials",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("credential_hash", sa.String(length=64), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("card", "cpr", name="credentialkind", native_enum=False, length=10),
            nullable=False,
        ),
        sa.Column("patron_pk", sa.Integer(), nullable=False),
        sa.Column("added", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["patron_pk"],
            ["patrons.id"],
            name=op.f("fk_credentials_patron_pk_patrons"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credentials")),
        sa.UniqueConstraint("credential_hash", name=op.f("uq_credentials_credential_hash")),
        sa.UniqueConstraint("patron_pk", "kind", name=op.f("uq_credentials_patron_pk")),
    )


def downgrade() -> None:
    """Undo this revision."""
    op.drop_table("credentials")
    op.drop_table("patrons")
