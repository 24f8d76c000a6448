"""The local patron registry: the embedded :class:`~services.core.patrons.PatronDirectory`.

Patrons live in the aabent database (:mod:`services.store.patrons`); a credential is found by its
keyed hash in one indexed lookup, and the PIN is checked with one scrypt verification, so the
door's '#'-to-relay budget holds. The module-level functions take the session first and leave
the transaction to the caller (the CSV import shares them); :class:`LocalRegistry` wraps each
call in its own unit of work and hands out :class:`~services.core.patrons.Patron` values, never
ORM objects.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from datetime import date

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session, sessionmaker

from services.core.card_rules import card_problem, pin_problem
from services.core.cpr import birth_date as cpr_birth_date
from services.core.cpr import is_cpr
from services.core.credentials import Credential, CredentialKind, SiteKey
from services.core.patrons import Authentication, Patron, PatronStatus, PinAnswer, PinCheck
from services.store import lockouts
from services.store.patrons import CredentialRecord, PatronRecord

# SQLite allows 999 bound parameters in older builds; stay below it when looking hashes up.
_CHUNK = 500


class RegistryError(Exception):
    """A registry change that cannot be made; the message says why (never a card number)."""


class UnknownCredential(RegistryError):
    """No patron holds the credential."""


def birth_date_for(credentials: Iterable[Credential], given: date | None) -> date | None:
    """The patron's birth date: from the CPR number if there is one, else ``given``.

    Raises :class:`RegistryError` if ``given`` disagrees with the CPR number's date.
    """
    for credential in credentials:
        if credential.kind is CredentialKind.CPR:
            derived = cpr_birth_date(credential.number)
            if given is not None and given != derived:
                raise RegistryError("birth date differs from the one in the CPR number")
            return derived
    return given


def canonical(credential: Credential) -> Credential:
    """The form a reader produces (:meth:`Credential.from_text`): no spaces, no CPR dash."""
    number = credential.number.strip()
    if credential.kind is CredentialKind.CPR:
        number = number.replace("-", "")
    return Credential(credential.kind, number)


def credential_noun(credential: Credential) -> str:
    """How messages name a credential: "card" or "CPR number" (never the number)."""
    return "CPR number" if credential.kind is CredentialKind.CPR else "card"


def new_patron_id() -> str:
    """A fresh public patron id; random, so it tells nothing about the patron."""
    return f"p-{secrets.token_hex(6)}"


def to_patron(record: PatronRecord) -> Patron:
    """The door's view of a stored patron."""
    return Patron(
        patron_id=record.patron_id,
        name=record.name,
        status=record.status,
        birth_date=record.birth_date,
        expires=record.expires,
        guardian_consent=record.guardian_consent,
    )


# The door's lookup: the patron's columns only, one indexed join, no ORM objects to build (the
# statement is built once; SQLAlchemy caches its compiled form).
_DOOR_LOOKUP = (
    select(
        PatronRecord.patron_id,
        PatronRecord.name,
        PatronRecord.status,
        PatronRecord.birth_date,
        PatronRecord.expires,
        PatronRecord.guardian_consent,
        PatronRecord.pin_hash,
    )
    .join(CredentialRecord, CredentialRecord.patron_pk == PatronRecord.id)
    .where(CredentialRecord.credential_hash == bindparam("digest"))
)


def find_record(session: Session, credential_hash: str) -> PatronRecord | None:
    """The patron holding the credential with this hash: one lookup on a unique index."""
    statement = (
        select(PatronRecord)
        .join(CredentialRecord, CredentialRecord.patron_pk == PatronRecord.id)
        .where(CredentialRecord.credential_hash == credential_hash)
    )
    return session.scalars(statement).one_or_none()


def credentials_by_hash(session: Session, hashes: Iterable[str]) -> dict[str, CredentialRecord]:
    """The stored credentials among ``hashes``, keyed by hash (looked up in chunks)."""
    wanted = sorted(set(hashes))
    found: dict[str, CredentialRecord] = {}
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        statement = select(CredentialRecord).where(CredentialRecord.credential_hash.in_(chunk))
        found.update((c.credential_hash, c) for c in session.scalars(statement))
    return found


def put_credential(record: PatronRecord, kind: CredentialKind, digest: str) -> None:
    """Give ``record`` the credential ``digest``, replacing its previous one of ``kind``."""
    # Replacing, not adding: a new card must stop the old (perhaps lost) one opening the door.
    for existing in record.credentials:
        if existing.kind is kind:
            existing.credential_hash = digest
            return
    record.credentials.append(CredentialRecord(credential_hash=digest, kind=kind))


def attach_credential(
    session: Session, key: SiteKey, record: PatronRecord, credential: Credential
) -> None:
    """Give ``record`` this credential; :class:`RegistryError` if another patron holds it."""
    digest = key.credential_hash(credential)
    holder = find_record(session, digest)
    if holder is record:
        return
    if holder is not None:
        noun = credential_noun(credential)
        raise RegistryError(f"another patron ({holder.patron_id}) holds this {noun}")
    put_credential(record, credential.kind, digest)


def set_pin_hash(key: SiteKey, record: PatronRecord, pin: str | None) -> None:
    """Store ``pin`` as a slow salted hash (None removes it); PIN_BLOCKED is lifted by a new PIN."""
    if pin is None:
        record.pin_hash = None
        return
    problem = pin_problem(pin)
    if problem:
        raise RegistryError(problem)
    record.pin_hash = key.hash_pin(pin)
    if record.status is PatronStatus.PIN_BLOCKED:
        record.status = PatronStatus.ACTIVE


def _unknown(pin: str | None) -> Authentication:
    """Nobody holds the card, whatever the PIN."""
    return Authentication(patron=None, pin=PinCheck.NOT_GIVEN)


class LocalRegistry:
    """Patrons kept in the aabent database: the embedded PatronDirectory."""

    def __init__(self, sessions: sessionmaker[Session], key: SiteKey) -> None:
        self._sessions = sessions
        self._key = key

    def authenticate(self, credential: Credential, pin: str | None) -> Authentication:
        """Who holds ``credential`` and whether ``pin`` is theirs (None: no PIN given).

        A patron without a stored PIN cannot give a right one: any PIN is WRONG.
        """
        return self.prepare(credential)(pin)

    def prepare(self, credential: Credential) -> PinAnswer:
        """Find ``credential``'s holder now (one indexed query); the PIN is checked later, by
        the function returned, with no connection held while the scrypt runs."""
        with self._sessions() as session:
            row = session.execute(_DOOR_LOOKUP, {"digest": self._hash(credential)}).one_or_none()
        if row is None:
            return _unknown
        patron = Patron(
            patron_id=row.patron_id,
            name=row.name,
            status=row.status,
            birth_date=row.birth_date,
            expires=row.expires,
            guardian_consent=row.guardian_consent,
        )
        pin_hash: str | None = row.pin_hash
        key = self._key

        def answer(pin: str | None) -> Authentication:
            if pin is None:
                return Authentication(patron, PinCheck.NOT_GIVEN)
            ok = pin_hash is not None and key.verify_pin(pin, pin_hash)
            return Authentication(patron, PinCheck.OK if ok else PinCheck.WRONG)

        return answer

    def add_patron(
        self,
        name: str,
        credentials: Sequence[Credential],
        *,
        birth_date: date | None = None,
        expires: date | None = None,
        status: PatronStatus = PatronStatus.ACTIVE,
        guardian_consent: bool = False,
        pin: str | None = None,
        patron_id: str | None = None,
    ) -> Patron:
        """Register a new patron holding ``credentials`` (a card, a CPR number or both).

        The birth date comes from the CPR number when one is given. Raises
        :class:`RegistryError` for a bad PIN or card, or a credential someone already holds.
        """
        credentials = [canonical(c) for c in credentials]
        _check_new_credentials(credentials)
        if not name.strip():
            raise RegistryError("a patron needs a name")
        record = PatronRecord(
            patron_id=patron_id or new_patron_id(),
            name=name.strip(),
            birth_date=birth_date_for(credentials, birth_date),
            expires=expires,
            status=status,
            guardian_consent=guardian_consent,
            credentials=[],
        )
        set_pin_hash(self._key, record, pin)
        with self._sessions() as session, session.begin():
            taken = select(PatronRecord.id).where(PatronRecord.patron_id == record.patron_id)
            if session.scalar(taken) is not None:
                raise RegistryError(f"patron id {record.patron_id} is taken")
            session.add(record)
            for credential in credentials:
                attach_credential(session, self._key, record, credential)
            return to_patron(record)

    def set_status(self, credential: Credential, status: PatronStatus) -> Patron:
        """Block, unblock, expire … the patron holding ``credential``.

        Making a patron active again also lifts the PIN block of every credential they hold:
        staff who unblock a patron mean them to get in.
        """
        with self._sessions() as session, session.begin():
            record = self._holder(session, credential)
            record.status = status
            if status is PatronStatus.ACTIVE:
                _lift_pin_blocks(session, record)
            return to_patron(record)

    def set_pin(self, credential: Credential, pin: str) -> Patron:
        """Give the patron holding ``credential`` a new PIN; lifts every PIN block they have."""
        with self._sessions() as session, session.begin():
            record = self._holder(session, credential)
            set_pin_hash(self._key, record, pin)
            _lift_pin_blocks(session, record)
            return to_patron(record)

    def lift_pin_block(self, credential: Credential) -> lockouts.Lifted:
        """Lift the PIN block and forget the wrong PINs of ``credential``, as staff decide.

        For a patron the registry holds, every credential of theirs is lifted. A credential it
        does not hold (a site whose library system answers over SIP2) is lifted on its own: the
        counts live on the device either way.
        """
        digest = self._hash(credential)
        with self._sessions() as session, session.begin():
            record = find_record(session, digest)
            if record is None:
                return lockouts.reset(session, digest)
            return _lift_pin_blocks(session, record)

    def find(self, credential: Credential) -> Patron | None:
        """The patron holding ``credential``, or None."""
        with self._sessions() as session:
            record = find_record(session, self._hash(credential))
            return None if record is None else to_patron(record)

    def count(self) -> int:
        """How many patrons the registry holds."""
        with self._sessions() as session:
            return session.scalar(select(func.count()).select_from(PatronRecord)) or 0

    def _hash(self, credential: Credential) -> str:
        return self._key.credential_hash(canonical(credential))

    def _holder(self, session: Session, credential: Credential) -> PatronRecord:
        record = find_record(session, self._hash(credential))
        if record is None:
            raise UnknownCredential(f"no patron holds this {credential_noun(credential)}")
        return record


def _lift_pin_blocks(session: Session, record: PatronRecord) -> lockouts.Lifted:
    lifted = lockouts.Lifted()
    for held in record.credentials:
        lifted += lockouts.reset(session, held.credential_hash)
    if record.status is PatronStatus.PIN_BLOCKED:
        record.status = PatronStatus.ACTIVE
    return lifted


def _check_new_credentials(credentials: Sequence[Credential]) -> None:
    if not credentials:
        raise RegistryError("a patron needs a library card or a CPR number")
    kinds = [c.kind for c in credentials]
    if len(set(kinds)) != len(kinds):
        raise RegistryError("a patron holds at most one card and one CPR number")
    for credential in credentials:
        if credential.kind is CredentialKind.CARD:
            problem = card_problem(credential.number)
            if problem:
                raise RegistryError(f"card: {problem}")
        elif not is_cpr(credential.number):
            raise RegistryError("cpr: a CPR number is 10 digits, DDMMYY-SSSS")
