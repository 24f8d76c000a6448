"""Staff password hashes: salted scrypt from the standard library, compared in constant time."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets

# ~50 ms and 16 MiB per check: slow enough to make guessing a stolen hash costly, fast enough
# that a login (already throttled to 5 tries per 15 minutes) is not noticed.
N, R, P = 2**14, 8, 1
MAXMEM = 64 * 1024 * 1024
MIN_LENGTH = 10


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def password_problem(password: str) -> str | None:
    """Why ``password`` is too weak to accept, or None."""
    if len(password) < MIN_LENGTH:
        return f"a password has at least {MIN_LENGTH} characters"
    if password.strip() != password:
        return "a password does not start or end with spaces"
    return None


def hash_password(password: str) -> str:
    """``scrypt$N$r$p$salt$hash`` with a fresh 16-byte salt."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=N, r=R, p=P, maxmem=MAXMEM, dklen=32)
    return f"scrypt${N}${R}${P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """True when ``password`` matches ``stored``; a malformed hash never matches."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = _unb64(digest)
        actual = hashlib.scrypt(
            password.encode(),
            salt=_unb64(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            maxmem=MAXMEM,
            dklen=len(expected),
        )
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)


@functools.cache
def dummy_hash() -> str:
    """A hash checked when the user name is unknown, so that answer takes as long as a real one."""
    return hash_password(secrets.token_urlsafe(16))
