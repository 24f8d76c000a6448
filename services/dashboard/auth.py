"""Logins: server-side sessions behind a random cookie token, CSRF tokens and login throttling.

The cookie holds a random token; the database holds only its HMAC under the dashboard secret, so
neither a database copy nor a log line can be replayed as a session. Each session has its own
CSRF token, checked on every request that changes something.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

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
    """A valid session and its user, as one request sees them."""

    user: StaffUser
    record: StaffSession


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
        return Login(user, record)

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


class LoginThrottle:
    """Refuses logins for a user name or an address after too many recent failures.

    Counting by name stops guessing one account from many addresses; counting by address stops
    one address trying many names. Once refused, even the right password is refused until the
    window has passed, so a guesser learns nothing from the answer.
    """

    def __init__(self, max_failures: int, window: timedelta) -> None:
        self.max_failures = max_failures
        self.window = window

    @staticmethod
    def keys(username: str, address: str) -> tuple[str, str]:
        """The two counters a login attempt touches."""
        return f"user:{username.lower()[:64]}", f"ip:{address[:64]}"

    def refused(self, session: Session, keys: Sequence[str], now: datetime) -> bool:
        """True when any of ``keys`` has reached the limit within the window."""
        since = now - self.window
        for key in keys:
            count = session.scalar(
                select(func.count())
                .select_from(LoginFailure)
                .where(LoginFailure.key == key, LoginFailure.ts > since)
            )
            if (count or 0) >= self.max_failures:
                return True
        return False

    def failed(self, session: Session, keys: Sequence[str], now: datetime) -> None:
        """Count one failure against each key; forget failures older than the window."""
        session.execute(delete(LoginFailure).where(LoginFailure.ts <= now - self.window))
        session.add_all(LoginFailure(key=key, ts=now) for key in keys)

    def succeeded(self, session: Session, user_key: str) -> None:
        """A correct login clears the user's count (the address keeps its own)."""
        session.execute(delete(LoginFailure).where(LoginFailure.key == user_key))
