"""The local patron registry's tables: patrons and the keyed hashes of their credentials.

No card number, CPR number or PIN is stored: a credential is its
:meth:`~services.core.credentials.SiteKey.credential_hash`, a PIN its
:meth:`~services.core.credentials.SiteKey.hash_pin`. A CPR number leaves only the birth date behind.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Enum, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from services.core.credentials import CredentialKind
from services.core.patrons import PatronStatus
from services.store.base import Base, UtcDateTime, utcnow


def _str_enum(enum: type[StrEnum], length: int = 20) -> Enum:
    # Stored as the enum's *values* in a plain VARCHAR: readable in SQL, no PostgreSQL ENUM type
    # to migrate when a status is added.
    def values(cls: type[StrEnum]) -> list[str]:
        return [member.value for member in cls]

    return Enum(enum, native_enum=False, length=length, values_callable=values)


class PatronRecord(Base):
    """A patron of the local registry."""

    __tablename__ = "patrons"

    id: Mapped[int] = mapped_column(primary_key=True)
    patron_id: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    birth_date: Mapped[date | None]
    expires: Mapped[date | None]
    status: Mapped[PatronStatus] = mapped_column(
        _str_enum(PatronStatus), default=PatronStatus.ACTIVE
    )
    guardian_consent: Mapped[bool] = mapped_column(default=False)
    pin_hash: Mapped[str | None] = mapped_column(String(200))
    created: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)

    credentials: Mapped[list[CredentialRecord]] = relationship(
        back_populates="patron", cascade="all, delete-orphan", passive_deletes=True
    )

    def __repr__(self) -> str:
        return f"PatronRecord({self.patron_id!r}, status={self.status})"


class CredentialRecord(Base):
    """One credential of a patron, known only by its keyed hash; one per kind and patron."""

    __tablename__ = "credentials"
    # A patron holds at most one library card and one CPR number: a new card replaces the old
    # one, so a card reported lost stops opening the door.
    __table_args__ = (UniqueConstraint("patron_pk", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    credential_hash: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[CredentialKind] = mapped_column(_str_enum(CredentialKind, length=10))
    patron_pk: Mapped[int] = mapped_column(ForeignKey("patrons.id", ondelete="CASCADE"))
    added: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    patron: Mapped[PatronRecord] = relationship(back_populates="credentials")

    def __repr__(self) -> str:
        return f"CredentialRecord({self.kind}, patron_pk={self.patron_pk})"
