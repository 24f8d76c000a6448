"""Reservations over SIP2 (15 Hold / 16), against the test library system on loopback:
place one with its queue position, see it among the patron's holds, cancel it; refusals in
the library system's own words; the patron's standing for the kiosk's status line."""

from __future__ import annotations

import pytest

from services.core.credentials import Credential
from services.core.patrons import PatronStatus
from services.sip2.errors import PatronRefused
from services.sip2.messages import decode
from services.sip2.replies import HoldReply
from services.sip2.requests import HoldMode, Terminal, hold
from tests.services.sip2.conftest import DoorRig
from tests.services.sip2.library import INSTITUTION

FRIDA = Credential.from_text("9000000007")
SOREN = Credential.from_text("9000000001")
BENT = Credential.from_text("9000000002")  # charge privileges denied


def test_a_reservation_is_placed_with_its_queue_position_listed_and_cancelled(
    door_rig: DoorRig,
) -> None:
    directory = door_rig.directory
    placed = directory.reserve(FRIDA, "7777", "3843081011")  # two patrons are ahead
    assert placed.ok and placed.queue_position == 3 and not placed.available
    waiting = [(r.item_id, r.ready) for r in directory.reservations(FRIDA, "7777")]
    assert waiting == [("3843081011", False)]
    again = directory.reserve(FRIDA, "7777", "3843081011")
    assert not again.ok and again.reason == "Materialet er allerede reserveret"
    cancelled = directory.cancel_reservation(FRIDA, "7777", "3843081011")
    assert cancelled.ok
    assert directory.reservations(FRIDA, "7777") == []
    gone = directory.cancel_reservation(FRIDA, "7777", "3843081011")
    assert not gone.ok and gone.reason == "Der er ingen reservation at slette"


def test_a_refused_reservation_says_why_in_the_library_systems_words(door_rig: DoorRig) -> None:
    blocked = door_rig.directory.reserve(BENT, "2222", "3843081011")
    assert not blocked.ok and blocked.reason == "Lånerkortet er spærret"
    unknown = door_rig.directory.reserve(FRIDA, "7777", "no-such-title")
    assert not unknown.ok and unknown.reason == "Ukendt materiale"
    wrong_pin = door_rig.directory.reserve(FRIDA, "0000", "3843081011")
    assert not wrong_pin.ok and wrong_pin.reason == "Ugyldigt lånerkort eller pinkode"


def test_the_standing_reads_the_patron_status_flags(door_rig: DoorRig) -> None:
    assert door_rig.directory.standing(SOREN, "1234").status is PatronStatus.ACTIVE
    assert door_rig.directory.standing(BENT, "2222").status is PatronStatus.BLOCKED
    lost = door_rig.directory.standing(Credential.from_text("9000000003"), "3333")
    assert lost.status is PatronStatus.CARD_LOST and lost.problem(door_rig.clock().date())
    with pytest.raises(PatronRefused):
        door_rig.directory.standing(SOREN, "0000")


def test_the_hold_request_names_the_title_with_hold_type_2_and_is_never_resent() -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    terminal = Terminal(institution_id=INSTITUTION, terminal_password="tp")
    now = datetime(2026, 3, 2, 10, 0, tzinfo=ZoneInfo("Europe/Copenhagen"))
    request = hold(terminal, "9000000007", "7777", HoldMode.ADD, now, title="3843081011")
    frame = request.frame(charset="utf-8", sequence=None).decode()
    assert frame.startswith("15+") and "100000BY2|" in frame and "|AJ3843081011|" in frame
    assert "|AB" not in frame and not request.idempotent
    with pytest.raises(ValueError):
        hold(terminal, "9000000007", "7777", HoldMode.DELETE, now)


def test_a_hold_reply_reads_ok_available_and_queue_position() -> None:
    reply = HoldReply.from_message(
        decode(
            b"161N20260302    100000BR4|BSHovedbiblioteket|AODK-761500|AA9000000007|AF|",
            charset="utf-8",
        )
    )
    assert reply.ok and not reply.available and reply.queue_position == 4
    assert reply.pickup_location == "Hovedbiblioteket" and reply.screen_messages == ()
