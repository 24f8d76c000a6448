"""Logins: server-side sessions behind a random cookie token, CSRF tokens and login throttling.

The cookie holds a random token; the database holds only its HMAC under the dashboard secret, so
neither a database copy nor a log line can be replayed as a session. Each session has its own
CSRF token, checked on every request that changes something.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from services.dashboard.sites import Access, access_of
from services.settings.paths import read_or_create_secret
from services.store.dashboard import LoginFailure, StaffSession, StaffUser

SECRET_BYTES = 32


def load_or_create_secret(path: Path) -> bytes:
    """Read the dashboard secret, creating it (mode 0600) on first start."""
    secret = read_or_create_secret(path, SECRET_BYTES)
    if len(secret) < 16:
        raise ValueError(f"{path}: dashboard secret is too short")
    return secret


def same_token(given: str | None, expected: str) -> bool:
    """Constant-time comparison of a submitted token with the expected one."""
    if not given or not expected:  # two missing tokens must never count as a match
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


@dataclass(frozen=True)
class Login:
    """A valid session and its user, as one request sees them, with where they may do what."""

    user: StaffUser
    record: StaffSession
    access: Access


class SessionStore:
    """Opens, finds and ends sessions; a session ends at its lifetime or after idling."""

    def __init__(self, secret: bytes, lifetime: timedelta, idle: timedelta) -> None:
        self._secret = secret
        self.lifetime = lifetime
        self.idle = idle

    def _hash(self, token: str) -> str:
        return hmac.new(self._secret, token.encode(), hashlib.sha256).hexdigest()

    def open(self, session: Session, user: StaffUser, now: datetime) -> str:
        """Start a session for ``user``; returns the cookie token (never stored)."""
        token = secrets.token_urlsafe(32)
        session.add(
            StaffSession(
                token_hash=self._hash(token),
                user_id=user.id,
                csrf=secrets.token_urlsafe(32),
                created=now,
                last_seen=now,
                expires=now + self.lifetime,
            )
        )
        return token

    def find(self, session: Session, token: str | None, now: datetime) -> Login | None:
        """The login behind ``token`` if still valid; marks it used, drops it if expired."""
        if not token:
            return None
        record = session.get(StaffSession, self._hash(token))
        if record is None:
            return None
        if now >= record.expires or now - record.last_seen >= self.idle:
            session.delete(record)
            return None
        user = session.get(StaffUser, record.user_id)
        if user is None:
            return None
        record.last_seen = now
        return Login(user, record, access_of(session, user))

    def holds(self, session: Session, token: str, login: Login, now: datetime) -> bool:
        """True while the session behind ``token`` is still the one ``login`` saw: not ended,
        not expired, its user still there with the same role and password.

        For open live streams, asked a few times a second; it does not count as activity."""
        record = session.get(StaffSession, self._hash(token))
        if record is None or now >= record.expires:
            return False
        user = session.get(StaffUser, record.user_id)
        return (
            user is not None
            and user.role == login.user.role
            and user.password_changed == login.user.password_changed
        )

    def close(self, session: Session, token: str | None) -> None:
        """End the session behind ``token`` (logout)."""
        if token:
            session.execute(
                delete(StaffSession).where(StaffSession.token_hash == self._hash(token))
            )

    def purge(self, session: Session, now: datetime) -> int:
        """Delete expired sessions; returns how many."""
        result = session.execute(delete(StaffSession).where(StaffSession.expires <= now))
        return int(getattr(result, "rowcount", 0) or 0)


ADDRESS_FACTOR = 3  # one address may fail this many times the per-user limit (a shared desk)
FIRST_BACKOFF = timedelta(seconds=30)


class LoginThrottle:
    """Refuses logins after too many recent failures per (user, address) and per address.

    Counting a name per address keeps a guesser from locking a named operator out: five wrong
    guesses from one machine refuse that name *from that machine*, never her right password from
    her own desk. Counting the address stops one machine trying many names. Past the limit each
    further failure doubles the wait (30 s, 1 min, 2 min, … up to the window); refused, even the
    right password is refused until the wait is over, so a guesser learns nothing from the
    answer. An admin can clear a name's or an address's count (``aabent users unthrottle``).
    """

    def __init__(self, max_failures: int, window: timedelta) -> None:
        self.max_failures = max_failures
        self.window = window

    @staticmethod
    def _keys(username: str, address: str) -> dict[str, int]:
        return {
            f"user:{username.lower()[:64]}@{address[:64]}": 1,
            f"ip:{address[:64]}": ADDRESS_FACTOR,
        }

    def retry_after(
        self, session: Session, username: str, address: str, now: datetime
    ) -> timedelta | None:
        """How long this name from this address must wait before trying again; None: go."""
        since = now - self.window
        waits: list[timedelta] = []
        for key, factor in self._keys(username, address).items():
            count, last = session.execute(
                select(func.count(), func.max(LoginFailure.ts)).where(
                    LoginFailure.key == key, LoginFailure.ts > since
                )
            ).one()
            over = (count or 0) - self.max_failures * factor
            if last is None or over < 0:
                continue
            wait = min(self.window, FIRST_BACKOFF * 2**over)
            left = _aware(last) + wait - now
            if left > timedelta(0):
                waits.append(left)
        return max(waits) if waits else None

    def refused(self, session: Session, username: str, address: str, now: datetime) -> bool:
        """True while this name from this address, or this address, must wait."""
        return self.retry_after(session, username, address, now) is not None

    def failed(self, session: Session, username: str, address: str, now: datetime) -> None:
        """Count one failure for the name at the address and for the address; forget old ones."""
        session.execute(delete(LoginFailure).where(LoginFailure.ts <= now - self.window))
        session.add_all(LoginFailure(key=key, ts=now) for key in self._keys(username, address))

    def succeeded(self, session: Session, username: str, address: str) -> None:
        """A correct login clears the name's count at that address (the address keeps its own)."""
        user_key = next(iter(self._keys(username, address)))
        session.execute(delete(LoginFailure).where(LoginFailure.key == user_key))

    @staticmethod
    def clear(session: Session, username: str | None = None, address: str | None = None) -> int:
        """Forget the failures of ``username`` (from every address) and/or of ``address``."""
        cleared = 0
        if username:
            prefix = f"user:{username.lower()[:64]}@"
            result = session.execute(
                delete(LoginFailure).where(LoginFailure.key.startswith(prefix, autoescape=True))
            )
            cleared += int(getattr(result, "rowcount", 0) or 0)
        if address:
            keys = [f"ip:{address[:64]}"]
            result = session.execute(delete(LoginFailure).where(LoginFailure.key.in_(keys)))
            cleared += int(getattr(result, "rowcount", 0) or 0)
            result = session.execute(
                delete(LoginFailure).where(
                    LoginFailure.key.endswith(f"@{address[:64]}", autoescape=True)
                )
            )
            cleared += int(getattr(result, "rowcount", 0) or 0)
        return cleared


def _aware(ts: datetime) -> datetime:
    """``ts`` with its time zone (stored times are UTC; an aggregate may lose the zone)."""
    return ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)
