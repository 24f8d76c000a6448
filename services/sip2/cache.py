"""The door's offline memory of the library system's answers.

After the library system accepts card + PIN, the door controller keeps a *verifier* (the site key's
salted, keyed scrypt of the card's hash and the PIN: neither can be read back), the patron's
standing and birth date, and an expiry (``[sip2] offline_days``, default 14). When the library
system does not answer, the decision uses this row; when it answers again, the row is replaced.

Refusals (unknown card, blocked, card lost) are kept too, but only for minutes: long enough that a
blocked patron cannot ride an old positive row through a short outage, short enough that a
refusal corrected in the library system is not repeated for long. Card numbers are never stored,
only their keyed hash (:meth:`SiteKey.credential_hash`).

Store functions take the session first; the caller owns the transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from services.core.credentials import Credential, SiteKey
from services.core.patrons import Authentication, Patron, PatronStatus, PinCheck
from services.store.sip2_cache import CachedPatron

UNKNOWN = "unknown"  # standing of a card the library system does not know


def _utc(moment: datetime) -> datetime:
    # SQLite hands DateTime(timezone=True) back naive; everything here is stored as UTC.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _verifier(key: SiteKey, credential_hash: str, pin: str | None) -> str | None:
    # Binding the PIN to the card's hash: one PIN verifier cannot stand in for another card.
    return key.hash_pin(f"{credential_hash}\x00{pin}") if pin else None


def remember(
    session: Session,
    key: SiteKey,
    credential: Credential,
    pin: str | None,
    patron: Patron,
    now: datetime,
    ttl: timedelta,
) -> None:
    """Keep an online answer: ``pin`` is the PIN the library system just accepted (or None).

    An active patron is kept for ``ttl`` (days); any other standing is a refusal, so callers pass
    the short refusal ttl. Without a PIN an existing verifier is kept, not erased.
    """
    digest = key.credential_hash(credential)
    verifier = _verifier(key, digest, pin)
    if verifier is None:
        old = session.get(CachedPatron, digest)
        verifier = old.verifier if old is not None else None
    session.merge(
        CachedPatron(
            credential_hash=digest,
            verifier=verifier,
            standing=str(patron.status),
            patron_id=patron.patron_id,
            name=patron.name,
            birth_date=patron.birth_date,
            checked_at=_utc(now),
            valid_until=_utc(now + ttl),
        ),
    )


def remember_unknown(
    session: Session, key: SiteKey, credential: Credential, now: datetime, ttl: timedelta
) -> None:
    """Keep "the library system does not know this card" for ``ttl`` (minutes, not days)."""
    session.merge(
        CachedPatron(
            credential_hash=key.credential_hash(credential),
            verifier=None,
            standing=UNKNOWN,
            patron_id="",
            name="",
            birth_date=None,
            checked_at=_utc(now),
            valid_until=_utc(now + ttl),
        ),
    )


def recall(
    session: Session, key: SiteKey, credential: Credential, pin: str | None, now: datetime
) -> Authentication | None:
    """The cached answer for card + PIN, or None when there is none that can vouch for it."""
    digest = key.credential_hash(credential)
    row = session.get(CachedPatron, digest)
    if row is None or _utc(row.valid_until) <= _utc(now):
        return None
    if row.standing == UNKNOWN:
        return Authentication(patron=None, pin=PinCheck.NOT_GIVEN)
    patron = Patron(row.patron_id, row.name, PatronStatus(row.standing), row.birth_date)
    if not pin:
        return Authentication(patron=patron, pin=PinCheck.NOT_GIVEN)
    if row.verifier is None:
        # Checked with the card alone: this row cannot say whether the PIN is right.
        if patron.status is PatronStatus.ACTIVE:
            return None
        return Authentication(patron=patron, pin=PinCheck.NOT_GIVEN)
    ok = key.verify_pin(f"{digest}\x00{pin}", row.verifier)
    return Authentication(patron=patron, pin=PinCheck.OK if ok else PinCheck.WRONG)


def forget(session: Session, key: SiteKey, credential: Credential) -> None:
    """Drop a card's row (its cached PIN proved stale, or staff asked)."""
    session.execute(
        delete(CachedPatron).where(CachedPatron.credential_hash == key.credential_hash(credential))
    )


def purge_expired(session: Session, now: datetime) -> int:
    """Delete rows past their expiry; returns how many."""
    result = session.execute(delete(CachedPatron).where(CachedPatron.valid_until <= _utc(now)))
    return int(getattr(result, "rowcount", 0) or 0)
