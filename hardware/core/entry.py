"""A door's entry in progress: the card waiting for its PIN, the lookup on its way back.

The rules for a card that arrives while another is in progress (documented in the README):

- while a lookup runs at a door, any card there (the same or another) gets the *wait* signal and
  is not kept: one decision per door at a time, and the patron sees that the door is busy;
- the card that is waiting for its PIN, read again (a tag lying on the reader repeats its frame),
  keeps the entry and the digits typed since;
- another card replaces the one waiting for its PIN, and a card always starts a fresh PIN entry:
  what was typed before it is discarded;
- the same card again within :data:`REPEAT_S` of its decision is a new presentation (a patron who
  was too quick): it waits for its PIN again, and when none comes it is dropped silently, since a
  tag resting on the reader is not a patron who forgot the PIN. Where no PIN is asked, it shows
  the decision it just had again.
"""

from __future__ import annotations

from dataclasses import dataclass

from hardware.core.inputs import Looked
from hardware.signals import Pattern
from services.core.credentials import Credential

# EM4100 readers repeat their frame while a tag lies on them; one presentation is one read.
REPEAT_S = 1.5


@dataclass(frozen=True, slots=True)
class Pending:
    """A card waiting for its PIN."""

    credential: Credential
    reader: str
    since: float
    repeat: bool  # re-presented right after its decision: times out silently
    companions: int = 0  # stated at the pad before the PIN (services.core.pad_entry)


@dataclass(frozen=True, slots=True)
class InFlight:
    """A lookup on its way: the card, the reader, when it started."""

    ticket: int
    credential: Credential
    reader: str
    started: float
    companions: int = 0


@dataclass(frozen=True, slots=True)
class AwaitingDisarm:
    """A member who may disarm, decided while the panel was armed: waiting for its feedback."""

    credential: Credential
    reader: str
    looked: Looked
    companions: int = 0


@dataclass(frozen=True, slots=True)
class LastDecision:
    """The last card decided at a door and the pattern it was shown."""

    number: str
    at: float
    pattern: Pattern


@dataclass(slots=True)
class Entry:
    """One door's entry state."""

    pending: Pending | None = None
    lookup: InFlight | None = None
    disarm: AwaitingDisarm | None = None
    last_read: tuple[str, float] | None = None  # (number, when) of the last frame
    last_decision: LastDecision | None = None

    def read_again(self, number: str, now: float) -> bool:
        """Whether ``number`` was read moments ago (and note this read)."""
        last, self.last_read = self.last_read, (number, now)
        return last is not None and last[0] == number and now - last[1] < REPEAT_S

    def just_decided(self, number: str, now: float) -> LastDecision | None:
        """The decision ``number`` had within :data:`REPEAT_S`, if any."""
        last = self.last_decision
        if last is not None and last.number == number and now - last.at < REPEAT_S:
            return last
        return None
