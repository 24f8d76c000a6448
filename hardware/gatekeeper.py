"""The I/O half of an access decision: ask the directory and the lockout store, record after.

It runs on the shell's lookup worker, never where a fire or an exit input waits. The decision
itself (:func:`services.core.access.decide`) is taken by the controller core when the answer comes
back, with the building as it is then.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from hardware.core.inputs import Looked
from services.core.credentials import Credential, CredentialKind, SiteKey
from services.core.events import EventType
from services.core.local_lists import NOTHING_LOCAL
from services.core.patrons import Authentication, PatronDirectory, PinCheck
from services.patrons.local_lookup import LocalLists
from services.patrons.pin_guard import PinGuard

_NO_PATRON = Authentication(None, PinCheck.NOT_GIVEN)


class Gatekeeper:
    """Looks cards up and keeps the PIN bookkeeping for every reader of one controller."""

    def __init__(
        self,
        directory: PatronDirectory,
        key: SiteKey,
        guard: PinGuard,
        lists: LocalLists | None = None,
    ) -> None:
        self.directory, self.key, self.guard, self.lists = directory, key, guard, lists
        # The lockout lookup runs beside the directory's answer: the PIN's scrypt (or the
        # library system's reply) leaves the GIL free, so the two overlap instead of adding up.
        self._beside = ThreadPoolExecutor(1, thread_name_prefix="pin-guard")

    def close(self) -> None:
        """End the lookup thread."""
        self._beside.shutdown(wait=False)

    def lookup(
        self, cred: Credential, pin: str | None, reader_id: str, now: datetime, door: str = ""
    ) -> Looked:
        """What the directory and the door's own lists say about ``cred`` + ``pin``, and the
        card's and reader's standing. A code typed at the pad is the lists' alone."""
        cred_hash = self.key.credential_hash(cred)
        pending = self._beside.submit(self.guard.check, cred_hash, reader_id, now)
        if cred.kind is CredentialKind.CODE:
            local = self.lists.code(cred_hash, door) if self.lists else NOTHING_LOCAL
            return Looked(_NO_PATRON, pending.result(), cred_hash, self.key.pseudonym(cred), local)
        local = self.lists.answer(cred_hash, pin, door) if self.lists else NOTHING_LOCAL
        auth = self.directory.authenticate(cred, pin)
        return Looked(auth, pending.result(), cred_hash, self.key.pseudonym(cred), local)

    def record(
        self,
        credential_hash: str,
        reader_id: str,
        wrong: bool,
        now: datetime,
        code_used: bool = False,
        booking_used: bool = False,
    ) -> list[tuple[EventType, dict[str, Any]]]:
        """After the door acted: count a wrong PIN or end a run of them, count a code's use,
        mark a booker come; the alarms it tips."""
        if wrong:
            return self.guard.failed(credential_hash, reader_id, now)
        self.guard.succeeded(credential_hash, now)
        if code_used and self.lists is not None:
            self.lists.code_used(credential_hash)
        if booking_used and self.lists is not None:
            self.lists.booking_entered(credential_hash, now)
        return []
