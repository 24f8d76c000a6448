"""What the reader's LEDs and buzzer say for each decision. Pure: a Reason in, a pattern out.

A patron at a dark door cannot read a log; each family of reasons gets its own rhythm, and the
README's "what the door is telling you" card lists them for the sign beside the reader.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.core.access import Decision, Reason


@dataclass(frozen=True, slots=True)
class Pattern:
    """Blink ``count`` times, ``on_s``/``off_s`` each; the buzzer beeps along when ``beep``."""

    led: str  # "green" or "red"
    count: int
    on_s: float
    off_s: float
    beep: bool


WELCOME = Pattern("green", 1, 0.0, 0.0, beep=True)  # on_s 0: lit for the whole unlock time
TRY_AGAIN = Pattern("red", 2, 0.15, 0.15, beep=True)  # wrong or missing PIN
SEE_STAFF = Pattern("red", 1, 2.0, 0.0, beep=True)  # blocked, expired, lost, locked out
NOT_NOW = Pattern("red", 3, 0.3, 0.3, beep=False)  # closed, full, under age, throttled
NO_ENTRY = Pattern("red", 6, 0.1, 0.1, beep=True)  # fire, lockdown, out of service
UNKNOWN = Pattern("red", 4, 0.1, 0.1, beep=True)  # unknown card, system unreachable
WAIT = Pattern("green", 3, 0.1, 0.1, beep=False)  # a card is being checked: one moment

_FAMILY: dict[Reason, Pattern] = {
    Reason.STAFFED: WELCOME,
    Reason.GRANTED: WELCOME,
    Reason.WRONG_PIN: TRY_AGAIN,
    Reason.PIN_REQUIRED: TRY_AGAIN,
    Reason.PIN_LOCKED_OUT: SEE_STAFF,
    Reason.PIN_BLOCKED: SEE_STAFF,
    Reason.PATRON_BLOCKED: SEE_STAFF,
    Reason.PATRON_EXPIRED: SEE_STAFF,
    Reason.CARD_LOST: SEE_STAFF,
    Reason.CLOSED: NOT_NOW,
    Reason.BUILDING_FULL: NOT_NOW,
    Reason.UNDER_AGE: NOT_NOW,
    Reason.READER_THROTTLED: NOT_NOW,
    Reason.LAST_ENTRY: NOT_NOW,
    Reason.ALARM_ARMED: NOT_NOW,
    Reason.DISARM_FIRST: NOT_NOW,  # not shown: the door signals WAIT while the panel disarms
    Reason.MAY_NOT_DISARM: NOT_NOW,
    Reason.FIRE_ALARM: NO_ENTRY,
    Reason.LOCKDOWN: NO_ENTRY,
    Reason.OUT_OF_SERVICE: NO_ENTRY,
    Reason.UNKNOWN_CARD: UNKNOWN,
    Reason.LIBRARY_SYSTEM_UNREACHABLE: UNKNOWN,
    Reason.BANNED: SEE_STAFF,  # the polite pattern: a ban is for staff to explain
    Reason.MEMBER: WELCOME,
    Reason.SIGNUP_REQUIRED: SEE_STAFF,
    Reason.TOO_MANY_COMPANIONS: TRY_AGAIN,
    Reason.CODE: WELCOME,
    Reason.UNKNOWN_CODE: UNKNOWN,
    Reason.CODE_NOT_VALID_NOW: NOT_NOW,
    Reason.CODE_USED_UP: NOT_NOW,
    Reason.NOT_THIS_DOOR: NOT_NOW,
    Reason.BOOKING: WELCOME,
    Reason.ROOM_NOT_BOOKED: NOT_NOW,
}


def pattern_for(decision: Decision) -> Pattern:
    """The LED/buzzer pattern that tells the patron ``decision``."""
    return _FAMILY[decision.reason]
