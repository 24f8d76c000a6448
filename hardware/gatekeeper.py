"""Card + PIN at a reader -> the access decision, and the PIN bookkeeping that follows it.

The decision itself is :func:`services.core.access.decide`; this adapter gathers its inputs (the
directory's answer, the card's and reader's standing from the lockout store) and, after the door
has acted, records the failure or success so the next swipe sees it.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.core.access import AccessRules, Decision, DoorContext, DoorMode, Reason, decide
from services.core.credentials import Credential, SiteKey
from services.core.events import EventType
from services.core.patrons import Authentication, PatronDirectory, PinCheck
from services.core.schedule import OpeningState
from services.patrons.pin_guard import PinGuard


@dataclass(frozen=True, slots=True)
class Building:
    """What the decision needs to know about the building at the moment of the swipe."""

    opening: OpeningState
    mode: DoorMode
    fire_alarm: bool
    inside: int


@dataclass(frozen=True, slots=True)
class Verdict:
    """A decision and the keyed names of the card it was about (never the number)."""

    decision: Decision
    credential_hash: str
    pseudonym: str


class Gatekeeper:
    """Decides entries for every reader of one controller."""

    def __init__(
        self, directory: PatronDirectory, key: SiteKey, guard: PinGuard, rules: AccessRules
    ) -> None:
        self.directory, self.key, self.guard, self.rules = directory, key, guard, rules
        # The lockout lookup runs beside the directory's answer: the PIN's scrypt (or the
        # library system's reply) leaves the GIL free, so the two overlap instead of adding up.
        self._beside = ThreadPoolExecutor(1, thread_name_prefix="pin-guard")

    def close(self) -> None:
        """End the lookup thread."""
        self._beside.shutdown(wait=False)

    def decide(
        self,
        cred: Credential,
        pin: str | None,
        reader_id: str,
        building: Building,
        now: datetime,
    ) -> Verdict:
        """The decision for ``cred`` + ``pin`` at ``reader_id`` now."""
        cred_hash = self.key.credential_hash(cred)
        if building.opening is OpeningState.STAFFED:
            # The doors stand open: the card is not looked up, nothing is counted.
            auth = Authentication(None, PinCheck.NOT_GIVEN)
            standing = self.guard.check_nothing()
        else:
            pending = self._beside.submit(self.guard.check, cred_hash, reader_id, now)
            auth = self.directory.authenticate(cred, pin)
            standing = pending.result()
        ctx = DoorContext(
            opening=building.opening,
            mode=building.mode,
            fire_alarm=building.fire_alarm,
            occupancy=building.inside,
            reader_throttled=standing.reader_throttled,
            pin_locked_out=standing.locked_out,
            pin_blocked=standing.blocked,
        )
        return Verdict(decide(now, auth, ctx, self.rules), cred_hash, self.key.pseudonym(cred))

    def record(
        self, verdict: Verdict, reader_id: str, now: datetime
    ) -> list[tuple[EventType, dict[str, Any]]]:
        """After the door acted: count a wrong PIN or end a run of them; the alarms it tips."""
        if verdict.decision.reason is Reason.WRONG_PIN:
            return self.guard.failed(verdict.credential_hash, reader_id, now)
        if verdict.decision.reason is Reason.GRANTED:
            self.guard.succeeded(verdict.credential_hash, now)
        return []
