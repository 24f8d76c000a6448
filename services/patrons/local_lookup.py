"""The door's side of the local lists: what they say about one credential, from its own copy.

The copy is the controller's database (durable: a restart loads it) and, for the lookups, its
in-memory index (:mod:`services.patrons.list_index`), replaced whole by one reference swap when a
snapshot is applied. A lookup reads one index throughout, so it never mixes two snapshots, and
costs a few dict gets: 10,000 members or bans cost what ten do, and no query runs on the way to
the relay of an ordinary door. A room's door asks the database for the card's bookings of the
room (one indexed query), where the door also marks that the booker came. Only a code's use is
written to the database, and shared with the site's other controllers
(:mod:`services.patrons.code_uses`), so "N uses" holds for the site.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from services.core.credentials import SiteKey
from services.core.local_lists import LocalAnswer
from services.core.patrons import PinCheck
from services.core.rooms import Booking, Room
from services.patrons import list_snapshot, room_lookup
from services.patrons.code_uses import SiteCodeUses
from services.patrons.list_index import ListIndex, Member, build_index
from services.store.access_lists import PadCodeRecord


class LocalLists:
    """Answers for one controller from its copy of the lists."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        key: SiteKey,
        uses: SiteCodeUses | None = None,
        publish_uses: Callable[[bytes], object] | None = None,
        *,
        rooms: Iterable[Room] = (),
    ) -> None:
        self.sessions, self.key = sessions, key
        self.rooms = room_lookup.rooms_by_door(rooms)
        self._index = ListIndex()
        # The codes' uses at every controller of the site; this one's are stored here too.
        self.uses = uses if uses is not None else SiteCodeUses()
        self.publish_uses = publish_uses
        self.load()

    @property
    def index(self) -> ListIndex:
        """The snapshot the door decides from now."""
        return self._index

    def load(self) -> int:
        """Read the stored copy into memory (at start); its version."""
        with self.sessions() as session:
            index = build_index(list_snapshot.take(session))
        self.use(index)
        return index.version

    def use(self, index: ListIndex) -> None:
        """Decide from ``index`` from the next lookup on (its snapshot is stored already)."""
        # The stored uses of a code are this controller's own (kept across snapshots).
        self.uses.restore({h: c.uses for h, c in index.codes.items() if c.uses})
        self.uses.keep_only(index.codes)
        self._index = index  # one reference swap: a lookup sees the old index or the new one

    def answer(self, credential_hash: str, pin: str | None, door: str) -> LocalAnswer:
        """Bans, memberships (with the member's own PIN checked), sign-up of a card and, at a
        room's door, its bookings of the room."""
        index = self._index
        members = index.members.get(credential_hash, ())
        room, bookings = self._room(credential_hash, door)
        return LocalAnswer(
            door=door,
            bans=index.bans.get(credential_hash, ()),
            memberships=tuple(m.membership for m in members),
            member_pin=self._member_pin(members, pin),
            signed_up=credential_hash in index.signups,
            room=room,
            bookings=bookings,
        )

    def _room(self, credential_hash: str, door: str) -> tuple[Room | None, tuple[Booking, ...]]:
        # Bookings stay in the controller's database, not the index: the door marks there when
        # the booker came (kept across snapshots), and only a room's door pays the one query.
        if door not in self.rooms:
            return None, ()
        with self.sessions() as session:
            return room_lookup.room_answer(session, self.rooms, credential_hash, door)

    def _member_pin(self, members: tuple[Member, ...], pin: str | None) -> PinCheck:
        stored = next((m.pin_hash for m in members if m.pin_hash), None)
        if pin is None or stored is None:
            return PinCheck.NOT_GIVEN
        return PinCheck.OK if self.key.verify_pin(pin, stored) else PinCheck.WRONG

    def code(self, code_hash: str, door: str) -> LocalAnswer:
        """The answer for a code typed at the pad (``code`` None: no such code)."""
        code = self._index.codes.get(code_hash)
        if code is not None:  # the uses of the whole site, as far as this controller heard
            code = replace(code, uses=max(code.uses, self.uses.total(code_hash)))
        return LocalAnswer(door=door, code_typed=True, code=code)

    def booking_entered(self, credential_hash: str, now: datetime) -> None:
        """The booker came through their room's door at ``now`` (no no-show any more)."""
        with self.sessions() as session, session.begin():
            room_lookup.mark_entered(session, credential_hash, now)

    def code_used(self, code_hash: str) -> None:
        """Count one entry on the code of ``code_hash``: in memory at once, then stored, then
        told to the site's other controllers."""
        own = self.uses.count(code_hash)
        with self.sessions() as session, session.begin():
            session.execute(
                update(PadCodeRecord).where(PadCodeRecord.code_hash == code_hash).values(uses=own)
            )
        if self.publish_uses is not None:
            self.publish_uses(self.uses.own_payload())

    def uses_heard(self, controller: str, payload: bytes) -> bool:
        """Another controller's (or this one's retained) published counts of code uses."""
        return self.uses.heard(controller, payload)
