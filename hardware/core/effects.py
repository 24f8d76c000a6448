"""What the controller core asks the shell to do. The shell sets every relay first."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hardware.door import DoorState
from hardware.signals import Pattern
from services.core.credentials import Credential
from services.core.events import EventType
from services.core.schedule import Opening


@dataclass(frozen=True, slots=True)
class SetRelay:
    """Drive ``door``'s lock relay."""

    door: str
    locked: bool


@dataclass(frozen=True, slots=True)
class Signal:
    """Show ``pattern`` on ``door``'s LEDs and buzzer."""

    door: str
    pattern: Pattern


@dataclass(frozen=True, slots=True)
class ClearPinPads:
    """Forget the digits typed on ``door``'s PIN pads: a PIN entry starts with the card."""

    door: str


@dataclass(frozen=True, slots=True)
class Emit:
    """An event from ``door``, or from the building when ``door`` is None."""

    type: EventType
    door: str | None
    reason: str | None = None
    credential: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PublishDoor:
    """``door``'s retained state changed."""

    door: str
    state: DoorState
    readers: Mapping[str, bool | None]


@dataclass(frozen=True, slots=True)
class PublishOccupancy:
    """The retained occupancy changed."""

    inside: int
    capacity: int


@dataclass(frozen=True, slots=True)
class SaveOccupancy:
    """Keep the count on disk, so the people inside survive a restart."""

    inside: int


@dataclass(frozen=True, slots=True)
class PublishOpening:
    """The building's opening state changed."""

    opening: Opening


@dataclass(frozen=True, slots=True)
class StartLookup:
    """Ask the directory and the lockout store (on a worker); answer with LookupFinished."""

    ticket: int
    door: str
    reader: str
    credential: Credential
    pin: str | None = field(repr=False)


@dataclass(frozen=True, slots=True)
class PrepareLookup:
    """A card waits for its PIN: read its standing and find its holder now (on a worker), so
    that the '#' waits only for the PIN's check. Nothing comes back; the StartLookup that
    follows at the same reader uses what was found (``Gatekeeper.prepare``)."""

    reader: str
    credential: Credential


@dataclass(frozen=True, slots=True)
class RecordOutcome:
    """Count a wrong PIN (``wrong``) or end a run of them; answer with OutcomeRecorded.
    ``code_used``: the entry was on a PIN-pad code, whose uses go up by one; ``booking_used``: on
    a room booking, whose booker has now come (no no-show)."""

    door: str
    reader: str
    credential_hash: str
    pseudonym: str
    wrong: bool
    code_used: bool = False
    booking_used: bool = False


@dataclass(frozen=True, slots=True)
class SetOutput:
    """Switch a building output: a light ``zone`` or an ``equipment`` group (kind), on or off."""

    kind: str  # "lights" or "equipment"
    name: str
    on: bool


@dataclass(frozen=True, slots=True)
class SetPanel:
    """Ask the intruder alarm panel to arm (True) or disarm; its feedback comes as an input.

    ``restore``: the order given before a restart, put back on a level output (never a pulse).
    """

    armed: bool
    restore: bool = False


@dataclass(frozen=True, slots=True)
class Announce:
    """Play ``message`` (its recording, or its text spoken) through the public address."""

    message: str


@dataclass(frozen=True, slots=True)
class PublishBuilding:
    """The building's retained state changed (phase, next step, panel, lights, equipment)."""

    state: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class SaveProgress:
    """Keep the evening's progress on disk, so a restart neither replays nor forgets a step."""

    phase: str
    progress: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class WakeAt:
    """Deliver a Tick no later than monotonic ``when`` (None: nothing is due)."""

    when: float | None


Effect = (
    SetRelay
    | Signal
    | ClearPinPads
    | Emit
    | PublishDoor
    | PublishOccupancy
    | SaveOccupancy
    | PublishOpening
    | StartLookup
    | PrepareLookup
    | RecordOutcome
    | SetOutput
    | SetPanel
    | Announce
    | PublishBuilding
    | SaveProgress
    | WakeAt
)
