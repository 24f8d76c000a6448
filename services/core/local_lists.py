"""What the door's own lists say about a credential, beside the directory's answer. Pure types.

The lists (groups, bans, codes, sign-ups, room bookings) are the site's, kept on every door
controller from the server's snapshot (:mod:`services.core.snapshot`), so the door decides from
them offline.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.core.bans import Ban
from services.core.codes import PadCode
from services.core.groups import Membership
from services.core.patrons import PinCheck
from services.core.rooms import Booking, Room


@dataclass(frozen=True, slots=True)
class LocalAnswer:
    """The local lists' answer for one credential at one door.

    ``member_pin`` is the member's own PIN checked against the lists (a group member may have no
    patron record at all); ``code_typed`` marks a code entered at the pad, whose ``code`` is None
    when no issued code has that hash. ``room`` is the bookable room this door belongs to (None:
    an ordinary door), ``bookings`` the credential's own bookings of it.
    """

    door: str = ""
    bans: tuple[Ban, ...] = ()
    memberships: tuple[Membership, ...] = ()
    member_pin: PinCheck = PinCheck.NOT_GIVEN
    signed_up: bool = False
    companions: int = 0
    code_typed: bool = False
    code: PadCode | None = None
    room: Room | None = None
    bookings: tuple[Booking, ...] = ()


NOTHING_LOCAL = LocalAnswer()
