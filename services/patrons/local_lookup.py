"""The door's side of the local lists: what they say about one credential, from its own copy.

Read on the controller's lookup worker beside the directory (:mod:`hardware.gatekeeper`); each
query is one indexed lookup by keyed hash, so 10,000 members or bans cost what ten do.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from services.core.bans import Ban
from services.core.codes import PadCode
from services.core.credentials import SiteKey
from services.core.groups import AccessGroup, Membership, WhenArmed, parse_windows
from services.core.local_lists import LocalAnswer
from services.core.patrons import PinCheck
from services.core.rooms import Room
from services.patrons import room_lookup
from services.store.access_lists import (
    AccessGroupRecord,
    BanRecord,
    GroupMemberRecord,
    PadCodeRecord,
    SignupRecord,
    doors_of,
)


def group_of(record: AccessGroupRecord) -> AccessGroup:
    """The pure group of a stored one."""
    return AccessGroup(
        name=record.name,
        windows=parse_windows(record.windows),
        doors=doors_of(record.doors),
        valid_from=record.valid_from,
        valid_until=record.valid_until,
        pin_required=record.pin_required,
        when_armed=WhenArmed(record.when_armed),
    )


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _until(moment: datetime | None) -> datetime | None:
    return None if moment is None else _aware(moment)


def code_of(record: PadCodeRecord) -> PadCode:
    """The pure code of a stored one."""
    return PadCode(
        code_hash=record.code_hash,
        label=record.label,
        valid_from=_aware(record.valid_from),
        valid_until=_aware(record.valid_until),
        max_uses=record.max_uses,
        uses=record.uses,
        doors=doors_of(record.doors),
    )


class LocalLists:
    """Answers for one controller from its copy of the lists."""

    def __init__(
        self, sessions: sessionmaker[Session], key: SiteKey, rooms: Iterable[Room] = ()
    ) -> None:
        self.sessions, self.key = sessions, key
        self.rooms = room_lookup.rooms_by_door(rooms)

    def answer(self, credential_hash: str, pin: str | None, door: str) -> LocalAnswer:
        """Bans, memberships (with the member's own PIN checked) and sign-up of a card."""
        with self.sessions() as session:
            bans = tuple(
                Ban(b.credential_hash, _until(b.until), doors_of(b.doors), b.reason)
                for b in session.scalars(
                    select(BanRecord).where(BanRecord.credential_hash == credential_hash)
                )
            )
            members = list(
                session.scalars(
                    select(GroupMemberRecord).where(
                        GroupMemberRecord.credential_hash == credential_hash
                    )
                )
            )
            memberships = tuple(Membership(group_of(m.group), m.expires) for m in members)
            signed_up = session.get(SignupRecord, credential_hash) is not None
            room, bookings = room_lookup.room_answer(session, self.rooms, credential_hash, door)
        return LocalAnswer(
            door=door,
            bans=bans,
            memberships=memberships,
            member_pin=self._member_pin(members, pin),
            signed_up=signed_up,
            room=room,
            bookings=bookings,
        )

    def _member_pin(self, members: list[GroupMemberRecord], pin: str | None) -> PinCheck:
        stored = next((m.pin_hash for m in members if m.pin_hash), None)
        if pin is None or stored is None:
            return PinCheck.NOT_GIVEN
        return PinCheck.OK if self.key.verify_pin(pin, stored) else PinCheck.WRONG

    def code(self, code_hash: str, door: str) -> LocalAnswer:
        """The answer for a code typed at the pad (``code`` None: no such code)."""
        with self.sessions() as session:
            record = session.scalar(
                select(PadCodeRecord).where(PadCodeRecord.code_hash == code_hash)
            )
            code = None if record is None else code_of(record)
        return LocalAnswer(door=door, code_typed=True, code=code)

    def booking_entered(self, credential_hash: str, now: datetime) -> None:
        """The booker came through their room's door at ``now`` (no no-show any more)."""
        with self.sessions() as session, session.begin():
            room_lookup.mark_entered(session, credential_hash, now)

    def code_used(self, code_hash: str) -> None:
        """Count one entry on the code of ``code_hash``."""
        with self.sessions() as session, session.begin():
            session.execute(
                update(PadCodeRecord)
                .where(PadCodeRecord.code_hash == code_hash)
                .values(uses=PadCodeRecord.uses + 1)
            )
