"""What staff see of the local lists: plain rows, never a hash, a PIN hash or a code's digits.

Each is one site's (the bans: its own and the municipality's, marked). The CLI prints them; the
dashboard's list pages are thin views over the same functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from services.patrons.access_lists import bans_of
from services.store.access_lists import AccessGroupRecord, BanRecord, PadCodeRecord, SignupRecord


@dataclass(frozen=True, slots=True)
class GroupRow:
    """A group's rules and how many members it has."""

    name: str
    windows: str
    doors: str  # "" for every door
    valid_from: date | None
    valid_until: date | None
    pin_required: bool
    when_armed: str
    members: int


@dataclass(frozen=True, slots=True)
class BanRow:
    """A ban in force, by the credential's pseudonym, with the reason for staff."""

    pseudonym: str
    until: datetime | None
    doors: str
    reason: str
    municipality: bool = False  # at every branch, not only this site's


@dataclass(frozen=True, slots=True)
class CodeRow:
    """An issued code: label, window, uses, doors (the digits are never kept)."""

    label: str
    valid_from: datetime
    valid_until: datetime
    uses: int
    max_uses: int
    doors: str


def groups(session: Session, site: str) -> list[GroupRow]:
    """Every group of ``site``, by name."""
    return [
        GroupRow(
            g.name,
            g.windows,
            g.doors,
            g.valid_from,
            g.valid_until,
            g.pin_required,
            g.when_armed,
            len(g.members),
        )
        for g in session.scalars(
            select(AccessGroupRecord)
            .where(AccessGroupRecord.site == site)
            .order_by(AccessGroupRecord.name)
        )
    ]


def bans_in_force(session: Session, site: str, now: datetime) -> list[BanRow]:
    """The bans that still count at ``site`` at ``now`` (its own and the municipality's),
    oldest first."""
    in_force = or_(BanRecord.until.is_(None), BanRecord.until > now)
    query = select(BanRecord).where(in_force, bans_of(site)).order_by(BanRecord.created)
    return [
        BanRow(b.pseudonym, b.until, b.doors, b.reason, b.site is None)
        for b in session.scalars(query)
    ]


def codes(session: Session, site: str) -> list[CodeRow]:
    """Every code issued for ``site``, by the start of its window."""
    query = (
        select(PadCodeRecord).where(PadCodeRecord.site == site).order_by(PadCodeRecord.valid_from)
    )
    return [
        CodeRow(c.label, c.valid_from, c.valid_until, c.uses, c.max_uses, c.doors)
        for c in session.scalars(query)
    ]


@dataclass(frozen=True, slots=True)
class MemberRow:
    """A group's member as staff see it: pseudonym, name, note, expiry (never the number)."""

    pseudonym: str
    name: str
    note: str
    expires: date | None
    has_pin: bool


def members(session: Session, site: str, group: str) -> list[MemberRow] | None:
    """The members of ``group`` of ``site`` by name; None when there is no such group."""
    record = session.scalar(
        select(AccessGroupRecord).where(
            AccessGroupRecord.site == site, AccessGroupRecord.name == group
        )
    )
    if record is None:
        return None
    return sorted(
        (
            MemberRow(m.pseudonym, m.name, m.note, m.expires, m.pin_hash is not None)
            for m in record.members
        ),
        key=lambda m: m.name.lower(),
    )


def signup_count(session: Session, site: str) -> int:
    """How many patrons have signed up for self-service at ``site``."""
    query = select(func.count()).select_from(SignupRecord).where(SignupRecord.site == site)
    return int(session.scalar(query) or 0)
