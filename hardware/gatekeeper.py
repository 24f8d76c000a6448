"""The I/O half of an access decision: ask the directory and the lockout store, record after.

It runs on the shell's lookup worker, never where a fire or an exit input waits. The decision
itself (:func:`services.core.access.decide`) is taken by the controller core when the answer comes
back, with the building as it is then.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hardware.core.inputs import Looked
from services.core.credentials import Credential, CredentialKind, SiteKey
from services.core.events import EventType
from services.core.local_lists import NOTHING_LOCAL
from services.core.lockout import Standing
from services.core.patrons import (
    Authentication,
    PatronDirectory,
    PinAnswer,
    PinCheck,
    PreparingDirectory,
)
from services.core.readers import PIN_TIMEOUT_S
from services.patrons.local_lookup import LocalLists
from services.patrons.pin_guard import History, PinGuard

_NO_PATRON = Authentication(None, PinCheck.NOT_GIVEN)
log = logging.getLogger(__name__)
# Cards waiting for their PIN whose holder is kept found: one per door is the normal case.
_PREPARED_AT_MOST = 32


@dataclass(frozen=True, slots=True)
class _Ready:
    """What was read at the card for the '#' that follows."""

    holder: PinAnswer | None  # None: the directory answers card and PIN together
    history: History


@dataclass(frozen=True, slots=True)
class _Early:
    since: float  # monotonic
    reader: str
    found: Future[_Ready]


class Gatekeeper:
    """Looks cards up and keeps the PIN bookkeeping for every reader of one controller."""

    def __init__(
        self,
        directory: PatronDirectory,
        key: SiteKey,
        guard: PinGuard,
        lists: LocalLists | None = None,
        *,
        prepared_for_s: float = PIN_TIMEOUT_S,
        mono: Callable[[], float] = time.monotonic,
    ) -> None:
        self.directory, self.key, self.guard, self.lists = directory, key, guard, lists
        # The lockout lookup runs beside the directory's answer: the PIN's scrypt (or the
        # library system's reply) leaves the GIL free, so the two overlap instead of adding up.
        self._beside = ThreadPoolExecutor(1, thread_name_prefix="pin-guard")
        # What was found when the card was read serves the '#' that follows within the PIN's
        # time, at the same reader; otherwise the lookup asks afresh. Any recorded outcome
        # drops it all, as the standing it read may have changed.
        self._find_holder: Callable[[Credential], PinAnswer] | None = (
            directory.prepare if isinstance(directory, PreparingDirectory) else None
        )
        self._early: OrderedDict[str, _Early] = OrderedDict()
        self._early_lock = threading.Lock()
        self.prepared_for_s, self._mono = prepared_for_s, mono

    def close(self) -> None:
        """End the lookup thread."""
        self._beside.shutdown(wait=False)

    def prepare(self, cred: Credential, reader_id: str, now: datetime) -> None:
        """A card waits for its PIN at ``reader_id``: read its standing and find its holder
        now, beside the door's work, so that the '#' waits only for the PIN's check. Returns
        at once; a directory that needs the PIN to answer (SIP2) is asked at the '#'."""
        if cred.kind is CredentialKind.CODE:
            return
        cred_hash = self.key.credential_hash(cred)
        try:
            found = self._beside.submit(self._find, cred, cred_hash, reader_id, now)
        except RuntimeError:  # shut down: the controller is stopping
            return
        with self._early_lock:
            self._early.pop(cred_hash, None)
            self._early[cred_hash] = _Early(self._mono(), reader_id, found)
            while len(self._early) > _PREPARED_AT_MOST:
                self._early.popitem(last=False)

    def _find(self, cred: Credential, cred_hash: str, reader_id: str, now: datetime) -> _Ready:
        holder = self._find_holder(cred) if self._find_holder is not None else None
        return _Ready(holder, self.guard.history(cred_hash, reader_id, now))

    def _ready(self, cred_hash: str, reader_id: str) -> _Ready | None:
        """What :meth:`prepare` found for this card at this reader, while it holds."""
        with self._early_lock:
            early = self._early.pop(cred_hash, None)
        if early is None or early.reader != reader_id:
            return None
        if self._mono() - early.since > self.prepared_for_s:
            return None
        try:
            return early.found.result()
        except Exception:  # the early read failed: the lookup reads again, as without it
            log.warning("the early lookup failed; looking up at the PIN", exc_info=True)
            return None

    def lookup(
        self, cred: Credential, pin: str | None, reader_id: str, now: datetime, door: str = ""
    ) -> Looked:
        """What the directory and the door's own lists say about ``cred`` + ``pin``, and the
        card's and reader's standing. A code typed at the pad is the lists' alone."""
        cred_hash = self.key.credential_hash(cred)
        pseudonym = self.key.pseudonym(cred)
        ready = self._ready(cred_hash, reader_id)  # never for a code: prepare reads none
        standing: Callable[[], Standing]
        if ready is not None:
            standing = functools.partial(self.guard.standing, ready.history, now)
        else:  # read beside the directory's answer
            standing = self._beside.submit(self.guard.check, cred_hash, reader_id, now).result
        if cred.kind is CredentialKind.CODE:
            local = self.lists.code(cred_hash, door) if self.lists else NOTHING_LOCAL
            return Looked(_NO_PATRON, standing(), cred_hash, pseudonym, local)
        local = self.lists.answer(cred_hash, pin, door) if self.lists else NOTHING_LOCAL
        holder = ready.holder if ready else None
        auth = holder(pin) if holder is not None else self.directory.authenticate(cred, pin)
        return Looked(auth, standing(), cred_hash, pseudonym, local)

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
        try:
            if wrong:
                return self.guard.failed(credential_hash, reader_id, now)
            self.guard.succeeded(credential_hash, now)
        finally:
            with self._early_lock:  # after the commit: a later early read sees it
                self._early.clear()
        if code_used and self.lists is not None:
            self.lists.code_used(credential_hash)
        if booking_used and self.lists is not None:
            self.lists.booking_entered(credential_hash, now)
        return []
