"""Credentials as presented at a reader, and the keyed hashes that stand in for them at rest.

A card number or CPR number exists in clear only between the reader and this module: the
database holds HMAC-SHA256 of it under the site key (a file outside the database), events hold a
short pseudonym derived under a different label, and PINs are salted, keyed scrypt hashes.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from enum import StrEnum

from services.core.cpr import is_cpr

KEY_BYTES = 32
# scrypt cost: a 4-digit PIN has only 10,000 values, so cost cannot protect it on its own; the
# pepper (site key, kept outside the database) does. The cost is kept to ~2 ms so that the door
# stays within its 10 ms budget from the '#' to the relay.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**10, 8, 1


class CredentialKind(StrEnum):
    """What was presented: a library card or the health card's CPR number."""

    CARD = "card"
    CPR = "cpr"
    CODE = "code"  # a PIN-pad code (services.core.codes), typed without a card


@dataclass(frozen=True, slots=True)
class Credential:
    """A presented card; ``repr`` never shows the number, so it is safe in logs."""

    kind: CredentialKind
    number: str

    def __repr__(self) -> str:
        shown = len(self.number) > 6 and self.kind is not CredentialKind.CODE
        return f"Credential({self.kind}, ****{self.number[-2:] if shown else ''})"

    __str__ = __repr__

    @classmethod
    def from_text(cls, text: str) -> Credential:
        """Classify a scanned number: ten digits forming a birth date are a CPR number."""
        number = text.strip()
        if is_cpr(number):
            return cls(CredentialKind.CPR, number.replace("-", ""))
        return cls(CredentialKind.CARD, number)


class SiteKey:
    """The site secret behind every keyed hash."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("site key is too short")
        self._key = key

    def _mac(self, label: str, text: str) -> str:
        return hmac.new(self._key, f"{label}\x00{text}".encode(), hashlib.sha256).hexdigest()

    def credential_hash(self, credential: Credential) -> str:
        """The lookup key of a credential in the database (64 hex)."""
        return self._mac("credential", f"{credential.kind}:{credential.number}")

    def pseudonym(self, credential: Credential) -> str:
        """A short, stable stand-in for events: staff can see repeats, not the number."""
        return self._mac("pseudonym", f"{credential.kind}:{credential.number}")[:12]

    def hash_pin(self, pin: str) -> str:
        """A salted, keyed scrypt hash: ``scrypt$N$r$p$salt$hash``."""
        salt = secrets.token_bytes(16)
        digest = self._scrypt(pin, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
        return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"

    def verify_pin(self, pin: str, stored: str) -> bool:
        """Constant-time check of ``pin`` against :meth:`hash_pin` output."""
        try:
            scheme, n, r, p, salt, digest = stored.split("$")
            if scheme != "scrypt":
                return False
            actual = self._scrypt(pin, bytes.fromhex(salt), int(n), int(r), int(p))
        except ValueError:
            return False
        return hmac.compare_digest(actual, bytes.fromhex(digest))

    def _scrypt(self, pin: str, salt: bytes, n: int, r: int, p: int) -> bytes:
        peppered = hmac.new(self._key, pin.encode(), hashlib.sha256).digest()
        return hashlib.scrypt(peppered, salt=salt, n=n, r=r, p=p, dklen=32)
