"""The dashboard's own tables: staff users, their roles per site, their sessions, failed logins
and the command audit.

Passwords are kept only as scrypt hashes and session tokens only as keyed hashes, so a copy of
the database lets nobody log in. The recorder's tables (events, alarms) are read, not defined here.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Float, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from services.store.base import Base, UtcDateTime, utcnow


class Role(StrEnum):
    """What a staff member may do; each role includes the ones before it."""

    VIEWER = "viewer"  # sees everything, changes nothing
    OPERATOR = "operator"  # commands doors, acknowledges alarms
    ADMIN = "admin"  # everything an operator does, and sees the staff list

    @property
    def rank(self) -> int:
        """Order of privilege: viewer < operator < admin."""
        return list(Role).index(self)

    def allows(self, needed: Role) -> bool:
        """True when this role may do what ``needed`` may."""
        return self.rank >= needed.rank


class StaffUser(Base):
    """A staff member who logs in to the dashboard."""

    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(10))
    created: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    password_changed: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class StaffSiteRole(Base):
    """What a staff member may do at one branch of a municipality.

    A user with no rows here has their ``role`` at every site (one branch, as before); a user
    with rows has those roles at those sites and nothing elsewhere. An ``admin`` (the
    municipality's) sees and operates every site whatever the rows say.
    """

    __tablename__ = "staff_site_roles"
    __table_args__ = (UniqueConstraint("user_id", "site"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("staff_users.id", ondelete="CASCADE"), index=True
    )
    site: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(10))  # viewer or operator


class StaffSession(Base):
    """A login: the keyed hash of its cookie token, its CSRF token and when it ends."""

    __tablename__ = "staff_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("staff_users.id", ondelete="CASCADE"), index=True
    )
    csrf: Mapped[str] = mapped_column(String(64))
    created: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    expires: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)


class LoginFailure(Base):
    """One failed login, counted per user name and per address for throttling."""

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), index=True)  # "user:anne" or "ip:10.0.0.5"
    ts: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)


class CommandAudit(Base):
    """One remote command: who sent what to which door, why, and what the door answered."""

    __tablename__ = "command_audit"

    command_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    ts: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    username: Mapped[str] = mapped_column(String(64))
    # The branch commanded; rows from before there were several branches are the server's own.
    site: Mapped[str | None] = mapped_column(String(64), index=True)
    door: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(20))  # as offered: unlock, lock, lockdown, …
    seconds: Mapped[float | None] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(String(500))
    # pending, done, rejected, or undelivered (never sent, or no answer within the age limit)
    result: Mapped[str] = mapped_column(String(12), default="pending")
    result_reason: Mapped[str | None] = mapped_column(String(500))
    result_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


TABLES = [
    StaffUser.__table__,
    StaffSiteRole.__table__,
    StaffSession.__table__,
    LoginFailure.__table__,
    CommandAudit.__table__,
]
