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
from services.core.credentials import Credential, SiteKey
from services.core.events import EventType
from services.core.patrons import PatronDirectory
from services.patrons.pin_guard import PinGuard


class Gatekeeper:
    """Looks cards up and keeps the PIN bookkeeping for every reader of one controller."""

    def __init__(self, directory: PatronDirectory, key: SiteKey, guard: PinGuard) -> None:
        self.directory, self.key, self.guard = directory, key, guard
        # The lockout lookup runs beside the directory's answer: the PIN's scrypt (or the
        # library system's reply) leaves the GIL free, so the two overlap instead of adding up.
        self._beside = ThreadPoolExecutor(1, thread_name_prefix="pin-guard")

    def close(self) -> None:
        """End the lookup thread."""
        self._beside.shutdown(wait=False)

    def lookup(self, cred: Credential, pin: str | None, reader_id: str, now: datetime) -> Looked:
        """What the directory says about ``cred`` + ``pin`` and the card's and reader's standing."""
        cred_hash = self.key.credential_hash(cred)
        pending = self._beside.submit(self.guard.check, cred_hash, reader_id, now)
        auth = self.directory.authenticate(cred, pin)
        return Looked(auth, pending.result(), cred_hash, self.key.pseudonym(cred))

    def record(
        self, credential_hash: str, reader_id: str, wrong: bool, now: datetime
    ) -> list[tuple[EventType, dict[str, Any]]]:
        """After the door acted: count a wrong PIN or end a run of them; the alarms it tips."""
        if wrong:
            return self.guard.failed(credential_hash, reader_id, now)
        self.guard.succeeded(credential_hash, now)
        return []
