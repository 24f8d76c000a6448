"""The sites' local access lists: groups and their members, bans, PIN-pad codes, sign-ups.

The server holds the lists staff edit, each row for one site (a municipality's server holds
every branch's); a ban is for one site or, with ``site`` NULL, for every branch of the
municipality. Each door controller holds a copy of its own site's lists and of the
municipality's bans, replaced whole from the server's versioned snapshot for that site
(:mod:`services.patrons.list_snapshot`), so one schema serves both.
A credential or a code is only its keyed hash; a member's PIN a salted scrypt hash. A set of
doors is stored as a comma-separated list of door ids, empty for every door.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, String, Table, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from services.store.base import Base, UtcDateTime, utcnow

SITE_LENGTH = 41  # a site id, as [site] id allows it
# The counter row of the municipality's bans in ``access_lists_version`` (no site id has "*").
MUNICIPALITY = "*"


class AccessGroupRecord(Base):
    """A named group: weekly windows (``tue 13:00-16:00, …``), doors, validity, PIN rule."""

    __tablename__ = "access_groups"
    __table_args__ = (UniqueConstraint("site", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site: Mapped[str] = mapped_column(String(SITE_LENGTH))
    name: Mapped[str] = mapped_column(String(80))
    windows: Mapped[str] = mapped_column(String(2000))
    doors: Mapped[str] = mapped_column(String(1000), default="")
    valid_from: Mapped[date | None]
    valid_until: Mapped[date | None]
    pin_required: Mapped[bool] = mapped_column(default=True)
    when_armed: Mapped[str] = mapped_column(String(10), default="refuse")

    members: Mapped[list[GroupMemberRecord]] = relationship(
        back_populates="group", cascade="all, delete-orphan", passive_deletes=True
    )


class GroupMemberRecord(Base):
    """One credential in one group, with a name and a note for staff and its own expiry."""

    __tablename__ = "group_members"
    __table_args__ = (UniqueConstraint("group_pk", "credential_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_pk: Mapped[int] = mapped_column(ForeignKey("access_groups.id", ondelete="CASCADE"))
    credential_hash: Mapped[str] = mapped_column(String(64), index=True)
    pseudonym: Mapped[str] = mapped_column(String(12), default="")  # how staff and events name it
    name: Mapped[str] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(String(500), default="")
    expires: Mapped[date | None]
    pin_hash: Mapped[str | None] = mapped_column(String(200))

    group: Mapped[AccessGroupRecord] = relationship(back_populates="members")


class BanRecord(Base):
    """A ban of one credential until an instant (NULL: until lifted), at some or all doors of
    one site, or (``site`` NULL) at every branch of the municipality."""

    __tablename__ = "bans"

    id: Mapped[int] = mapped_column(primary_key=True)
    site: Mapped[str | None] = mapped_column(String(SITE_LENGTH), index=True)
    credential_hash: Mapped[str] = mapped_column(String(64), index=True)
    pseudonym: Mapped[str] = mapped_column(String(12), default="")  # how staff and events name it
    until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    doors: Mapped[str] = mapped_column(String(1000), default="")
    reason: Mapped[str] = mapped_column(String(500), default="")
    created: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class PadCodeRecord(Base):
    """An issued PIN-pad code, known only by its keyed hash."""

    __tablename__ = "pad_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    site: Mapped[str] = mapped_column(String(SITE_LENGTH))
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(200))
    valid_from: Mapped[datetime] = mapped_column(UtcDateTime())
    valid_until: Mapped[datetime] = mapped_column(UtcDateTime())
    max_uses: Mapped[int] = mapped_column(default=1)
    uses: Mapped[int] = mapped_column(default=0)
    doors: Mapped[str] = mapped_column(String(1000), default="")


class SignupRecord(Base):
    """A patron's sign-up for self-service at one site (its house rules accepted)."""

    __tablename__ = "signups"

    site: Mapped[str] = mapped_column(String(SITE_LENGTH), primary_key=True)
    credential_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    signed_up: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    via: Mapped[str] = mapped_column(String(10), default="desk")  # desk or kiosk


class ListsVersion(Base):
    """The version of the lists held here: on the server one counter per site and one for the
    municipality's bans (``site`` :data:`MUNICIPALITY`); on a controller the snapshot applied."""

    __tablename__ = "access_lists_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    site: Mapped[str] = mapped_column(String(SITE_LENGTH), unique=True)
    version: Mapped[int] = mapped_column(default=0)
    changed: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class ListAudit(Base):
    """One change to the lists or one log export: who, when, what, about whom (a pseudonym)."""

    __tablename__ = "access_list_audit"

    id: Mapped[int] = mapped_column(primary_key=True)
    ts: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(64))
    site: Mapped[str | None] = mapped_column(String(SITE_LENGTH))  # NULL: the municipality's
    action: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(200))  # a group name, a pseudonym, a code label
    detail: Mapped[str] = mapped_column(String(500), default="")


def doors_text(doors: frozenset[str]) -> str:
    """A set of doors as stored."""
    return ",".join(sorted(doors))


def doors_of(text: str) -> frozenset[str]:
    """A stored set of doors."""
    return frozenset(d for d in text.split(",") if d)


# The lists the snapshot replaces on a controller, children after parents for deleting.
SNAPSHOT_TABLES: tuple[Table, ...] = tuple(
    m.__table__  # type: ignore[misc]
    for m in (GroupMemberRecord, AccessGroupRecord, BanRecord, PadCodeRecord, SignupRecord)
)
