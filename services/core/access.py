"""The access decision: who may enter, now, through this door. Pure: no I/O, no clock.

Every denial carries a :class:`Reason`, shared by the door (LED/buzzer pattern), the events, the
dashboard and the tests. The order of the checks is part of the rule: building-wide states first
(a fire, a lockdown), then the credential, then the patron, then capacity, so that a locked-out
card never learns whether its PIN was right.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from services.core.bans import active_ban
from services.core.codes import CodeRefusal
from services.core.groups import AccessGroup, WhenArmed, admitting_group
from services.core.local_lists import NOTHING_LOCAL, LocalAnswer
from services.core.patrons import Authentication, Patron, PatronStatus, PinCheck
from services.core.rooms import Booking, admitting_booking
from services.core.schedule import OpeningState


class Reason(StrEnum):
    """Why a door said yes or no. Values are stable: they travel in events and statistics."""

    STAFFED = "staffed"
    GRANTED = "granted"
    CLOSED = "closed"
    FIRE_ALARM = "fire_alarm"
    LOCKDOWN = "lockdown"
    OUT_OF_SERVICE = "out_of_service"
    READER_THROTTLED = "reader_throttled"
    UNKNOWN_CARD = "unknown_card"
    LIBRARY_SYSTEM_UNREACHABLE = "library_system_unreachable"
    PIN_REQUIRED = "pin_required"
    WRONG_PIN = "wrong_pin"
    PIN_LOCKED_OUT = "pin_locked_out"
    PIN_BLOCKED = "pin_blocked"
    PATRON_BLOCKED = "patron_blocked"
    PATRON_EXPIRED = "patron_expired"
    CARD_LOST = "card_lost"
    UNDER_AGE = "under_age"
    BUILDING_FULL = "building_full"
    # issue 13: groups, bans, sign-up, companions, codes
    BANNED = "banned"
    MEMBER = "member"
    SIGNUP_REQUIRED = "signup_required"
    TOO_MANY_COMPANIONS = "too_many_companions"
    CODE = "code"
    UNKNOWN_CODE = "unknown_code"
    CODE_NOT_VALID_NOW = "code_not_valid_now"
    CODE_USED_UP = "code_used_up"
    NOT_THIS_DOOR = "not_this_door"
    # issue 13: bookable rooms
    BOOKING = "booking"
    ROOM_NOT_BOOKED = "room_not_booked"
    # Held by the building's evening (hardware/core/evening.py): DoorContext.building_hold.
    LAST_ENTRY = "last_entry"
    ALARM_ARMED = "alarm_armed"
    # A member whose group may disarm (WhenArmed.DISARM): not yet granted; the building disarms
    # the panel and the door opens only once the panel's armed feedback has gone off.
    DISARM_FIRST = "disarm_first"
    # A member whose group may not disarm (WhenArmed.REFUSE), while the panel is armed.
    MAY_NOT_DISARM = "may_not_disarm"


class DoorMode(StrEnum):
    """What staff have set a door to."""

    NORMAL = "normal"
    LOCKDOWN = "lockdown"
    OUT_OF_SERVICE = "out_of_service"


# Short, polite words for the reader display and the event; the kiosk translates by Reason.
PATRON_MESSAGE: dict[Reason, str] = {
    Reason.STAFFED: "Velkommen",
    Reason.GRANTED: "Velkommen",
    Reason.CLOSED: "Biblioteket er lukket nu",
    Reason.FIRE_ALARM: "Brandalarm – ingen adgang",
    Reason.LOCKDOWN: "Indgangen er lukket",
    Reason.OUT_OF_SERVICE: "Døren er ude af drift",
    Reason.READER_THROTTLED: "Vent lidt og prøv igen",
    Reason.UNKNOWN_CARD: "Kortet kendes ikke",
    Reason.LIBRARY_SYSTEM_UNREACHABLE: "Kan ikke kontrollere kortet lige nu",
    Reason.PIN_REQUIRED: "Tast din pinkode",
    Reason.WRONG_PIN: "Forkert pinkode",
    Reason.PIN_LOCKED_OUT: "For mange forsøg – prøv igen senere",
    Reason.PIN_BLOCKED: "Kortet er spærret – kontakt biblioteket",
    Reason.PATRON_BLOCKED: "Kontakt biblioteket",
    Reason.PATRON_EXPIRED: "Dit lånerkort er udløbet",
    Reason.CARD_LOST: "Kortet er meldt mistet",
    Reason.UNDER_AGE: "Adgang uden personale kræver forældresamtykke",
    Reason.BUILDING_FULL: "Biblioteket er fuldt – prøv igen om lidt",
    Reason.BANNED: "Kontakt biblioteket",
    Reason.MEMBER: "Velkommen",
    Reason.SIGNUP_REQUIRED: "Tilmeld dig selvbetjening ved kiosken",
    Reason.TOO_MANY_COMPANIONS: "For mange ledsagere",
    Reason.CODE: "Velkommen",
    Reason.UNKNOWN_CODE: "Koden kendes ikke",
    Reason.CODE_NOT_VALID_NOW: "Koden gælder ikke nu",
    Reason.CODE_USED_UP: "Koden er brugt",
    Reason.NOT_THIS_DOOR: "Ingen adgang ad denne dør",
    Reason.BOOKING: "Velkommen",
    Reason.ROOM_NOT_BOOKED: "Lokalet er ikke booket til dig nu",
    Reason.LAST_ENTRY: "Biblioteket lukker snart – ingen adgang nu",
    Reason.ALARM_ARMED: "Biblioteket er endnu ikke åbent",
    Reason.DISARM_FIRST: "Et øjeblik – alarmen slås fra",
    Reason.MAY_NOT_DISARM: "Alarmen er slået til – ingen adgang",
}


@dataclass(frozen=True, slots=True)
class Decision:
    """Grant or deny, and why."""

    granted: bool
    reason: Reason

    @classmethod
    def grant(cls, reason: Reason = Reason.GRANTED) -> Decision:
        """Open the door."""
        return cls(True, reason)

    @classmethod
    def denied(cls, reason: Reason) -> Decision:
        """Keep the door locked and tell the patron why."""
        return cls(False, reason)

    @property
    def message(self) -> str:
        """The patron-facing sentence for this decision."""
        return PATRON_MESSAGE[self.reason]


@dataclass(frozen=True, slots=True)
class AccessRules:
    """The site's rules (``[access]`` in the settings, whose defaults are these)."""

    pin_required: bool = True
    min_age_unstaffed: int = 15
    capacity: int = 150
    signup_required: bool = False  # a patron must have signed up for self-service
    max_companions: int = 0  # companions a card holder may state at the pad (0: none)
    cpr_pad_prefix: str = ""  # digits before a CPR number typed at the pad ("": not allowed)


@dataclass(frozen=True, slots=True)
class DoorContext:
    """The state of the building and this door at the moment of the swipe."""

    opening: OpeningState
    mode: DoorMode = DoorMode.NORMAL
    fire_alarm: bool = False
    occupancy: int = 0
    reader_throttled: bool = False
    pin_locked_out: bool = False
    pin_blocked: bool = False
    # The building's own hold on new entries (last entry, alarm armed); exits always work.
    building_hold: Reason | None = None


def age_on(birth: date, day: date) -> int:
    """Whole years old on ``day`` (a 29 February birthday counts on 1 March in other years)."""
    years = day.year - birth.year
    if (day.month, day.day) < (birth.month, birth.day):
        years -= 1
    return years


_STATUS_REASON = {
    PatronStatus.BLOCKED: Reason.PATRON_BLOCKED,
    PatronStatus.EXPIRED: Reason.PATRON_EXPIRED,
    PatronStatus.CARD_LOST: Reason.CARD_LOST,
    PatronStatus.PIN_BLOCKED: Reason.PIN_BLOCKED,
}


def decide(
    now: datetime,
    auth: Authentication,
    ctx: DoorContext,
    rules: AccessRules,
    local: LocalAnswer = NOTHING_LOCAL,
) -> Decision:
    """Decide one entry. ``auth`` is what the patron directory answered for card + PIN,
    ``local`` what the door's own lists say (groups, bans, sign-up, codes, companions)."""
    group = admitting_group(local.memberships, now, local.door)
    building = _building_state(
        ctx, inside_own_hours=group is not None or local.code_typed, member=group is not None
    )
    if building is not None:
        return building
    if ctx.opening is OpeningState.STAFFED:
        return Decision.grant(Reason.STAFFED)
    if ctx.reader_throttled:
        return Decision.denied(Reason.READER_THROTTLED)
    if active_ban(local.bans, now, local.door) is not None:
        return Decision.denied(Reason.BANNED)  # over every directory answer and cache
    if local.code_typed:
        return _code_opens(now, local)
    if group is not None:
        if local.companions > rules.max_companions:
            return Decision.denied(Reason.TOO_MANY_COMPANIONS)
        return _member_may_enter(group, local, ctx)
    booking = None
    if local.room is not None:
        # A room's door outside staffed hours: the booker in the slot, nobody else; the
        # booking, not the site, says how many companions.
        booking = admitting_booking(local.room, local.bookings, now)
        if booking is None:
            return Decision.denied(Reason.ROOM_NOT_BOOKED)
        if local.companions > booking.companions:
            return Decision.denied(Reason.TOO_MANY_COMPANIONS)
    elif local.companions > rules.max_companions:
        return Decision.denied(Reason.TOO_MANY_COMPANIONS)
    if not auth.reachable and auth.patron is None:
        return Decision.denied(Reason.LIBRARY_SYSTEM_UNREACHABLE)
    if auth.patron is None:
        return Decision.denied(Reason.UNKNOWN_CARD)
    if ctx.pin_blocked:
        return Decision.denied(Reason.PIN_BLOCKED)
    if ctx.pin_locked_out:
        return Decision.denied(Reason.PIN_LOCKED_OUT)
    pin = _pin_reason(auth.pin, rules)
    if pin is not None:
        return Decision.denied(pin)
    return _patron_may_enter(now, auth.patron, ctx, rules, local, booking)


def _building_state(
    ctx: DoorContext, *, inside_own_hours: bool, member: bool = False
) -> Decision | None:
    if ctx.fire_alarm:
        return Decision.denied(Reason.FIRE_ALARM)
    if ctx.mode is DoorMode.LOCKDOWN:
        return Decision.denied(Reason.LOCKDOWN)
    if ctx.mode is DoorMode.OUT_OF_SERVICE:
        return Decision.denied(Reason.OUT_OF_SERVICE)
    if ctx.opening is OpeningState.CLOSED and not inside_own_hours:
        return Decision.denied(Reason.CLOSED)
    if ctx.building_hold is Reason.ALARM_ARMED and member:
        return None  # the member's group rule decides, once the member has shown who they are
    if ctx.building_hold is Reason.LAST_ENTRY and member:
        # Last entry keeps patrons out before closing; a cleaner or staff member on their own
        # hours comes in (as after closing), is counted inside, and the sweep waits for them.
        return None
    if ctx.building_hold is not None:
        return Decision.denied(ctx.building_hold)
    return None


def _pin_reason(pin: PinCheck, rules: AccessRules) -> Reason | None:
    if pin is PinCheck.OK:
        return None
    if pin is PinCheck.WRONG:
        return Reason.WRONG_PIN
    # NOT_GIVEN: fine only where the site admits with the card alone.
    return Reason.PIN_REQUIRED if rules.pin_required else None


def _patron_may_enter(
    now: datetime,
    patron: Patron,
    ctx: DoorContext,
    rules: AccessRules,
    local: LocalAnswer,
    booking: Booking | None = None,
) -> Decision:
    status_reason = _STATUS_REASON.get(patron.status)
    if status_reason is not None:
        return Decision.denied(status_reason)
    if patron.expires is not None and patron.expires < now.date():
        return Decision.denied(Reason.PATRON_EXPIRED)
    if (
        patron.birth_date is not None
        and age_on(patron.birth_date, now.date()) < rules.min_age_unstaffed
        and not patron.guardian_consent
    ):
        return Decision.denied(Reason.UNDER_AGE)
    if rules.signup_required and not local.signed_up:
        return Decision.denied(Reason.SIGNUP_REQUIRED)
    if booking is not None:
        # The room is inside the building: those in it were counted at the entrance.
        return Decision.grant(Reason.BOOKING)
    if ctx.occupancy + local.companions >= rules.capacity:
        return Decision.denied(Reason.BUILDING_FULL)
    return Decision.grant()


def _member_may_enter(group: AccessGroup, local: LocalAnswer, ctx: DoorContext) -> Decision:
    # Members are held to the same PIN lockout as patrons; they pass capacity (the cleaners and
    # the staff must get in when the building is full of patrons).
    if ctx.pin_blocked:
        return Decision.denied(Reason.PIN_BLOCKED)
    if ctx.pin_locked_out:
        return Decision.denied(Reason.PIN_LOCKED_OUT)
    if group.pin_required and local.member_pin is not PinCheck.OK:
        wrong = local.member_pin is PinCheck.WRONG
        return Decision.denied(Reason.WRONG_PIN if wrong else Reason.PIN_REQUIRED)
    if ctx.building_hold is Reason.ALARM_ARMED:
        # Never granted while armed (the siren): the door waits for the panel to confirm.
        may = group.when_armed is WhenArmed.DISARM
        return Decision.denied(Reason.DISARM_FIRST if may else Reason.MAY_NOT_DISARM)
    return Decision.grant(Reason.MEMBER)


_CODE_REASON = {
    CodeRefusal.NOT_YET: Reason.CODE_NOT_VALID_NOW,
    CodeRefusal.EXPIRED: Reason.CODE_NOT_VALID_NOW,
    CodeRefusal.USED_UP: Reason.CODE_USED_UP,
    CodeRefusal.OTHER_DOOR: Reason.NOT_THIS_DOOR,
}


def _code_opens(now: datetime, local: LocalAnswer) -> Decision:
    if local.code is None:
        return Decision.denied(Reason.UNKNOWN_CODE)
    refusal = local.code.refusal(now, local.door)
    if refusal is not None:
        return Decision.denied(_CODE_REASON[refusal])
    return Decision.grant(Reason.CODE)
