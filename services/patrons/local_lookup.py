"""The door's side of the local lists: what they say about one credential, from its own copy.

The copy is the controller's database (durable: a restart loads it) and, for the lookups, its
in-memory index (:mod:`services.patrons.list_index`), replaced whole by one reference swap when a
snapshot is applied. A lookup reads one index throughout, so it never mixes two snapshots, and
costs a few dict gets: 10,000 members or bans cost what ten do, and no query runs on the way to
the relay. Only a code's use is written to the database.
"""

from __future__ import annotations

import threading
from dataclasses import replace

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from services.core.credentials import SiteKey
from services.core.local_lists import LocalAnswer
from services.core.patrons import PinCheck
from services.patrons import list_snapshot
from services.patrons.list_index import ListIndex, Member, build_index
from services.store.access_lists import PadCodeRecord


class LocalLists:
    """Answers for one controller from its copy of the lists."""

    def __init__(self, sessions: sessionmaker[Session], key: SiteKey) -> None:
        self.sessions, self.key = sessions, key
        self._index = ListIndex()
        # Uses of codes counted here; kept across snapshots as the database keeps them.
        self._uses: dict[str, int] = {}
        self._uses_lock = threading.Lock()
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
        with self._uses_lock:
            for code_hash, code in index.codes.items():
                if code.uses > self._uses.get(code_hash, 0):
                    self._uses[code_hash] = code.uses
        self._index = index  # one reference swap: a lookup sees the old index or the new one

    def answer(self, credential_hash: str, pin: str | None, door: str) -> LocalAnswer:
        """Bans, memberships (with the member's own PIN checked) and sign-up of a card."""
        index = self._index
        members = index.members.get(credential_hash, ())
        return LocalAnswer(
            door=door,
            bans=index.bans.get(credential_hash, ()),
            memberships=tuple(m.membership for m in members),
            member_pin=self._member_pin(members, pin),
            signed_up=credential_hash in index.signups,
        )

    def _member_pin(self, members: tuple[Member, ...], pin: str | None) -> PinCheck:
        stored = next((m.pin_hash for m in members if m.pin_hash), None)
        if pin is None or stored is None:
            return PinCheck.NOT_GIVEN
        return PinCheck.OK if self.key.verify_pin(pin, stored) else PinCheck.WRONG

    def code(self, code_hash: str, door: str) -> LocalAnswer:
        """The answer for a code typed at the pad (``code`` None: no such code)."""
        code = self._index.codes.get(code_hash)
        if code is not None:
            code = replace(code, uses=max(code.uses, self._uses.get(code_hash, 0)))
        return LocalAnswer(door=door, code_typed=True, code=code)

    def code_used(self, code_hash: str) -> None:
        """Count one entry on the code of ``code_hash``: in memory at once, then stored."""
        with self._uses_lock:
            self._uses[code_hash] = self._uses.get(code_hash, 0) + 1
        with self.sessions() as session, session.begin():
            session.execute(
                update(PadCodeRecord)
                .where(PadCodeRecord.code_hash == code_hash)
                .values(uses=PadCodeRecord.uses + 1)
            )
