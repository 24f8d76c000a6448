"""The client and the door against a library system that misbehaves as real ones do.

Every test here failed on the client before issue 10: a CR LF in a staff note put the client one
reply behind and let an unknown card in; one patron's bad record took every door offline; a
resend answered with AY0 was refused; a renewal that happened was reported as failed; a failed
renew all was shown as renewed; a connection dropped while idle cost a renewal.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine

from services.core.access import AccessRules, DoorContext, decide
from services.core.credentials import Credential
from services.core.patrons import PinCheck
from services.core.schedule import OpeningState
from services.sip2.directory import Sip2Directory
from services.sip2.errors import OutcomeUnknown
from tests.services.sip2.conftest import SITE_KEY, ZONE, DoorRig, rogue_door, tcp_client
from tests.services.sip2.library import PATRONS, TODAY
from tests.services.sip2.rogue_server import ARRAY, Rogue, RogueAcs

SOREN = Credential.from_text("9000000001")
FRIDA = Credential.from_text("9000000007")
AASE = Credential.from_text("9000000008")
UNKNOWN = Credential.from_text("9000009999")
NOTE = "Husk at betale erstatning\r\nStaff: ring til låneren"
SELF_SERVICE = DoorContext(opening=OpeningState.SELF_SERVICE)
NOW = datetime(TODAY.year, TODAY.month, TODAY.day, 10, 0, tzinfo=ZONE)


def admitted(rig: DoorRig, card: Credential, pin: str) -> bool:
    """The door's decision for card + PIN: the directory's answer through the access rules."""
    return decide(NOW, rig.directory.authenticate(card, pin), SELF_SERVICE, AccessRules()).granted


@pytest.mark.parametrize("error_detection", [True, False])
def test_a_cr_lf_in_a_staff_note_never_lets_an_unknown_card_in(
    rogue: RogueAcs, cache_engine: Engine, error_detection: bool
) -> None:
    rogue.rogue = Rogue(notes={SOREN.number: NOTE}, tail_delay_s=0.005, think_s=0.003)
    with rogue_door(rogue, cache_engine, error_detection=error_detection) as rig:
        for _ in range(3):
            assert admitted(rig, SOREN, "1234")
            assert admitted(rig, FRIDA, "7777")
            assert not admitted(rig, UNKNOWN, "1234")
            assert not admitted(rig, UNKNOWN, "7777")
        assert rig.directory.health.online and rig.events == []


@pytest.mark.parametrize("error_detection", [True, False])
def test_every_door_decision_is_right_when_a_third_of_the_replies_carry_a_cr_lf(
    rogue: RogueAcs, cache_engine: Engine, error_detection: bool
) -> None:
    rogue.rogue = Rogue(cr_share=0.3, tail_delay_s=0.002, think_s=0.001)
    bent = Credential.from_text("9000000002")  # blocked
    swipes = [(SOREN, "1234", True), (UNKNOWN, "1234", False), (FRIDA, "7777", True)]
    swipes += [(bent, "2222", False), (SOREN, "0000", False), (UNKNOWN, "7777", False)]
    with rogue_door(rogue, cache_engine, error_detection=error_detection) as rig:
        wrong = [
            (card.number[-2:], pin)
            for _ in range(8)
            for card, pin, expected in swipes
            if admitted(rig, card, pin) is not expected
        ]
    assert wrong == []


def test_with_error_detection_the_staff_note_arrives_whole(rogue: RogueAcs) -> None:
    rogue.rogue = Rogue(notes={SOREN.number: NOTE}, tail_delay_s=0.005)
    client = tcp_client(rogue.port)
    reply = client.patron_information(SOREN.number, "1234")
    assert reply.valid_password and reply.screen_messages == (NOTE,)
    assert client.patron_information(UNKNOWN.number, "1234").valid_patron is False
    assert "97" not in rogue.requests  # the frame was whole: nothing to ask again


def test_a_reply_about_another_patron_is_not_believed_and_the_site_stays_online(
    rogue: RogueAcs, cache_engine: Engine
) -> None:
    rogue.rogue = Rogue(answer_for={UNKNOWN.number: SOREN.number})
    with rogue_door(rogue, cache_engine) as rig:
        auth = rig.directory.authenticate(UNKNOWN, "1234")  # Søren's PIN, Søren's answer
        assert auth.patron is None and not auth.reachable
        assert rogue.connections == 2  # closed and asked once more on a fresh connection
        assert rig.directory.health.online and rig.events == []
        assert admitted(rig, FRIDA, "7777")  # the next patron is asked, not the cache


def test_a_reply_resent_with_sequence_0_after_a_bad_checksum_is_accepted(rogue: RogueAcs) -> None:
    rogue.rogue = Rogue(resend_sequence=0, garble={"24": 1})
    client = tcp_client(rogue.port)
    client.sc_status()  # AY0: the patron status goes out as AY1
    assert client.patron_status(SOREN.number, "1234").valid_password
    assert rogue.requests == ["99", "23", "97"]


def test_a_renewal_resent_with_sequence_0_is_reported_renewed_once(
    rogue: RogueAcs, cache_engine: Engine
) -> None:
    rogue.rogue = Rogue(resend_sequence=0, garble={"30": 1})
    with rogue_door(rogue, cache_engine) as rig:
        before = rogue.due["6000000001"]
        result = rig.directory.renew(FRIDA, "7777", "6000000001")
        assert result.renewed and not result.unknown
        assert before is not None and result.due == before + timedelta(days=14)
        assert rogue.renewals == ["6000000001"]


def test_a_renewal_done_but_never_answered_is_unknown_and_the_loan_read_again(
    rogue: RogueAcs, cache_engine: Engine
) -> None:
    rogue.rogue = Rogue(close_after={"29"})
    with rogue_door(rogue, cache_engine) as rig:
        result = rig.directory.renew(FRIDA, "7777", "6000000001")
        assert result.unknown and not result.renewed
        assert result.due == rogue.due["6000000001"]  # read again: the renewal did happen
        assert rogue.renewals == ["6000000001"] and rogue.requests.count("29") == 1


def test_the_client_says_a_renewal_it_sent_has_an_unknown_outcome(rogue: RogueAcs) -> None:
    rogue.rogue = Rogue(close_after={"29"})
    with pytest.raises(OutcomeUnknown, match="may have been done"):
        tcp_client(rogue.port).renew(FRIDA.number, "7777", "6000000001")


def test_a_failed_renew_all_with_an_item_list_renews_nothing(
    rogue: RogueAcs, cache_engine: Engine
) -> None:
    rogue.rogue = Rogue(renew_all="failed_with_items")
    with rogue_door(rogue, cache_engine) as rig:
        results = rig.directory.renew_all(AASE, "8888")
        assert sorted(r.item_id for r in results) == sorted(PATRONS[AASE.number].loans)
        assert not any(r.renewed for r in results) and ARRAY not in str(results)
        assert {r.reason for r in results} == {"Lånerkortet er spærret"}


def test_renew_all_lists_each_item_once_with_its_due_date_read_again(
    rogue: RogueAcs, cache_engine: Engine
) -> None:
    rogue.rogue = Rogue(renew_all="duplicates")
    with rogue_door(rogue, cache_engine) as rig:
        results = rig.directory.renew_all(AASE, "8888")
        assert [r.item_id for r in results] == ["6000000003", "6000000002"]
        renewed, refused = results
        assert renewed.renewed and renewed.due == rogue.due["6000000003"]
        assert not refused.renewed and refused.reason == "not renewed"
        assert rogue.requests.count("63") >= 1  # the loans were read after the renew all


def test_a_connection_dropped_while_idle_is_found_before_a_renewal(
    rogue: RogueAcs, cache_engine: Engine
) -> None:
    rogue.rogue = Rogue(idle_timeout_s=0.2)
    client = tcp_client(rogue.port)
    client.sc_status()
    deadline = time.monotonic() + 2
    while rogue.idle_drops == 0 and time.monotonic() < deadline:
        time.sleep(0.01)  # SIPServer hangs up on an idle connection without a word
    reply = client.renew(FRIDA.number, "7777", "6000000001")
    assert reply.ok and rogue.renewals == ["6000000001"]
    assert rogue.requests.count("29") == 1


def test_a_connection_idle_past_the_limit_is_replaced_before_it_is_used(rogue: RogueAcs) -> None:
    now = [0.0]
    client = tcp_client(rogue.port, idle_limit_s=30.0, monotonic=lambda: now[0])
    client.sc_status()
    now[0] += 30.0  # half a minute later, by the client's clock
    assert client.patron_status(SOREN.number, "1234").valid_password
    assert rogue.connections == 2 and rogue.idle_drops == 0


def test_on_a_card_only_site_a_typed_pin_does_not_refuse_a_known_card_offline(
    rogue: RogueAcs, cache_engine: Engine
) -> None:
    card_only = Sip2Directory(
        tcp_client(rogue.port),
        engine=cache_engine,
        site_key=SITE_KEY,
        on_event=lambda e: None,
        clock=lambda: NOW,
        timeout_s=0.3,
        pin_required=False,
    )
    assert card_only.authenticate(SOREN, None).patron is not None  # online, card alone
    rogue.stop()
    auth = card_only.authenticate(SOREN, "1234")  # typed anyway; the system is down
    card_only.close()
    assert not card_only.health.online
    assert auth.patron is not None and auth.pin is PinCheck.NOT_GIVEN
    assert decide(NOW, auth, SELF_SERVICE, AccessRules(pin_required=False)).granted


def test_fines_are_read_with_their_amount_and_items(rogue: RogueAcs, cache_engine: Engine) -> None:
    with rogue_door(rogue, cache_engine) as rig:
        fines = rig.directory.fines(Credential.from_text("9000000010"), "1010")
        assert str(fines.amount) == "245.50" and fines.currency == "DKK"
        assert fines.items == (
            "4933448504 Overskredet lånetid 45.50",
            "5120684762 Erstatning 200.00",
        )
        assert rig.directory.fines(SOREN, "1234").amount is None
