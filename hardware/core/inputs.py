"""What the controller core is told: plain values, each handled at an injected :class:`Now`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from services.core.credentials import Credential
from services.core.events import EventType
from services.core.local_lists import NOTHING_LOCAL, LocalAnswer
from services.core.lockout import Standing
from services.core.patrons import Authentication

Beam = Literal["a", "b"]


@dataclass(frozen=True, slots=True)
class Now:
    """The instant an input is handled: monotonic seconds for timers, wall time for rules."""

    mono: float
    wall: datetime


@dataclass(frozen=True, slots=True)
class Started:
    """The controller starts; ``opened`` is each door's contact as read at boot (None: none).

    ``panel`` is the intruder alarm panel's inputs as read at boot (``armed``, ``alarm``,
    ``fault``), so the evening knows at once whether the building is armed.
    """

    opened: Mapping[str, bool | None]
    panel: Mapping[str, bool] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CardPresented:
    """A card or CPR number read at ``reader``."""

    reader: str
    credential: Credential


@dataclass(frozen=True, slots=True)
class PinTyped:
    """A PIN submitted at ``reader``; ``repr`` hides it."""

    reader: str
    pin: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class PinCleared:
    """The patron pressed '*' at ``reader``."""

    reader: str


@dataclass(frozen=True, slots=True)
class ReaderFaulted:
    """A frame ``reader`` could not read; ``problem`` never holds a number."""

    reader: str
    problem: str


@dataclass(frozen=True, slots=True)
class ReaderStatus:
    """``reader`` came online or went offline (with the problem)."""

    reader: str
    online: bool
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class ContactChanged:
    """The raw door contact line changed (before any settle time)."""

    door: str
    opened: bool


@dataclass(frozen=True, slots=True)
class ExitChanged:
    """The raw exit button line changed: pressed or released."""

    door: str
    pressed: bool


@dataclass(frozen=True, slots=True)
class BeamChanged:
    """A raw counter beam line changed."""

    door: str
    beam: Beam
    blocked: bool


@dataclass(frozen=True, slots=True)
class FireChanged:
    """The fire panel's input changed."""

    active: bool


@dataclass(frozen=True, slots=True)
class Tick:
    """Time passed: the shell calls at the announced wake time, and at least every second."""


@dataclass(frozen=True, slots=True)
class CommandReceived:
    """A staff command's raw payload for ``door`` (validated by the core)."""

    door: str
    raw: bytes


@dataclass(frozen=True, slots=True)
class Looked:
    """What a lookup found: the directory's answer, the card's standing, its keyed names."""

    auth: Authentication
    standing: Standing
    credential_hash: str
    pseudonym: str
    local: LocalAnswer = NOTHING_LOCAL  # the door's own lists: groups, bans, codes, sign-up


@dataclass(frozen=True, slots=True)
class LookupFinished:
    """The lookup ``ticket`` is back; ``looked`` is None when it failed with an error."""

    ticket: int
    looked: Looked | None


@dataclass(frozen=True, slots=True)
class OutcomeRecorded:
    """The PIN bookkeeping after a decision is written; the alarms it tipped over."""

    door: str
    reader: str
    pseudonym: str
    alarms: tuple[tuple[EventType, Mapping[str, Any]], ...]


@dataclass(frozen=True, slots=True)
class PanelChanged:
    """An input of the intruder alarm panel changed: ``armed``, ``alarm`` or ``fault``."""

    line: Literal["armed", "alarm", "fault"]
    active: bool


@dataclass(frozen=True, slots=True)
class BuildingCommand:
    """A staff command's raw payload for the building (validated by the core)."""

    raw: bytes


Input = (
    Started
    | CardPresented
    | PinTyped
    | PinCleared
    | ReaderFaulted
    | ReaderStatus
    | ContactChanged
    | ExitChanged
    | BeamChanged
    | FireChanged
    | Tick
    | CommandReceived
    | LookupFinished
    | OutcomeRecorded
    | PanelChanged
    | BuildingCommand
)
