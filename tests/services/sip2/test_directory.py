"""Sip2Directory: the door's answers online and offline, the events, and the kiosk's account."""

from __future__ import annotations

import ssl
import time
from datetime import date, timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from services.core.credentials import Credential
from services.core.events import Event, EventType
from services.core.patrons import Patron, PatronDirectory, PatronStatus, PinCheck
from services.sip2 import cache, fbs
from services.sip2.client import Sip2Client
from services.sip2.directory import Sip2Directory
from services.sip2.errors import PatronRefused, Sip2Unavailable
from services.sip2.requests import Terminal
from services.sip2.transport import FbsHttpsTransport
from services.store.sip2_cache import CachedPatron
from tests.services.sip2.conftest import FBS_LOGIN, SITE_KEY, Clock, DoorRig
from tests.services.sip2.faults import FaultProxy
from tests.services.sip2.fbs_server import FbsServer
from tests.services.sip2.library import INSTITUTION, TODAY

SOREN = Credential.from_text("9000000001")
UNKNOWN = Credential.from_text("9000009999")
DAYS14 = timedelta(days=14)


def kinds(events: list[Event]) -> list[EventType]:
    """The event types, in order."""
    return [e.type for e in events]


def go_offline(rig: DoorRig, proxy: FaultProxy) -> None:
    """Make the library system stop answering and let one swipe find out."""
    proxy.inject("silence", count=1000)
    rig.directory.authenticate(UNKNOWN, "0000")
    assert not rig.directory.health.online


def test_it_is_a_patron_directory(door_rig: DoorRig) -> None:
    directory: PatronDirectory = door_rig.directory
    assert directory.authenticate(SOREN, "1234").pin is PinCheck.OK


def test_a_valid_card_and_pin_give_the_patron_with_a_pseudonym_and_birth_date(
    door_rig: DoorRig,
) -> None:
    auth = door_rig.directory.authenticate(SOREN, "1234")
    assert auth.reachable and auth.pin is PinCheck.OK and auth.patron is not None
    assert auth.patron.status is PatronStatus.ACTIVE
    assert auth.patron.birth_date == date(1980, 3, 1)
    assert auth.patron.patron_id.startswith("sip2:") and "9000000001" not in auth.patron.patron_id


def test_wrong_pin_unknown_card_and_blank_pin(door_rig: DoorRig) -> None:
    d = door_rig.directory
    assert d.authenticate(SOREN, "0000").pin is PinCheck.WRONG
    unknown = d.authenticate(UNKNOWN, "1234")
    assert unknown.patron is None and unknown.reachable
    no_pin_patron = Credential.from_text("9000000005")  # the server says CQ Y to anything
    assert d.authenticate(no_pin_patron, "").pin is PinCheck.NOT_GIVEN
    assert d.authenticate(no_pin_patron, None).pin is PinCheck.NOT_GIVEN


@pytest.mark.parametrize(
    ("card", "pin", "status"),
    [
        ("9000000002", "2222", PatronStatus.BLOCKED),  # charge privileges denied
        ("9000000003", "3333", PatronStatus.CARD_LOST),
        ("9000000004", "4444", PatronStatus.ACTIVE),  # too many overdue: not the door's business
    ],
)
def test_patron_status_flags_become_the_doors_standing(
    door_rig: DoorRig, card: str, pin: str, status: PatronStatus
) -> None:
    auth = door_rig.directory.authenticate(Credential.from_text(card), pin)
    assert auth.patron is not None and auth.patron.status is status


def test_a_cpr_number_gives_the_birth_date_when_the_library_system_does_not(
    door_rig: DoorRig,
) -> None:
    auth = door_rig.directory.authenticate(Credential.from_text("010380-1234"), "0000")
    assert auth.patron is not None and auth.patron.birth_date == date(1980, 3, 1)


def test_when_the_library_system_stops_answering_the_cache_decides_within_the_timeout(
    door_rig: DoorRig, proxy: FaultProxy
) -> None:
    d = door_rig.directory
    assert d.authenticate(SOREN, "1234").pin is PinCheck.OK
    proxy.inject("silence", count=1000)
    started = time.monotonic()
    auth = d.authenticate(SOREN, "1234")
    first = time.monotonic() - started
    assert auth.pin is PinCheck.OK and auth.patron is not None
    assert 0.29 < first < 0.3 + 0.1  # the 0.3 s timeout, then the cache
    assert kinds(door_rig.events) == [EventType.SIP2_OFFLINE]
    sent = len(proxy.requests)
    started = time.monotonic()
    assert d.authenticate(SOREN, "4321").pin is PinCheck.WRONG
    assert time.monotonic() - started < 0.1  # offline: no wait on the network at all
    assert len(proxy.requests) == sent


def test_offline_a_card_the_cache_does_not_know_is_unreachable_after_a_short_probe(
    door_rig: DoorRig, proxy: FaultProxy
) -> None:
    go_offline(door_rig, proxy)
    started = time.monotonic()
    auth = door_rig.directory.authenticate(Credential.from_text("9000000004"), "4444")
    assert auth.patron is None and not auth.reachable
    assert time.monotonic() - started < 0.1 + 0.1  # probe_s, not timeout_s (0.3 s)


def test_back_online_after_three_good_health_checks_with_one_event_each_way(
    door_rig: DoorRig, proxy: FaultProxy
) -> None:
    go_offline(door_rig, proxy)
    proxy.clear()
    time.sleep(0.06)  # past the test back-off
    for _ in range(3):
        door_rig.directory.monitor.check_once()
    assert door_rig.directory.health.online
    assert kinds(door_rig.events) == [EventType.SIP2_OFFLINE, EventType.SIP2_ONLINE]
    assert door_rig.events[0].source == "sip2" and door_rig.events[0].reason


def test_a_patron_blocked_in_the_library_system_loses_access_at_the_next_online_check(
    door_rig: DoorRig, proxy: FaultProxy, cache_engine: Engine
) -> None:
    bent = Credential.from_text("9000000002")
    earlier = Patron("sip2:x", "Bent", PatronStatus.ACTIVE)
    with Session(cache_engine) as session, session.begin():
        cache.remember(session, SITE_KEY, bent, "2222", earlier, door_rig.clock(), DAYS14)
    online = door_rig.directory.authenticate(bent, "2222")
    assert online.patron is not None and online.patron.status is PatronStatus.BLOCKED
    go_offline(door_rig, proxy)
    offline = door_rig.directory.authenticate(bent, "2222")
    assert offline.patron is not None and offline.patron.status is PatronStatus.BLOCKED
    door_rig.clock.advance(minutes=6)  # refusals are kept for minutes, never days
    assert not door_rig.directory.authenticate(bent, "2222").reachable


def test_an_unknown_card_is_remembered_as_unknown_for_a_few_minutes_only(
    door_rig: DoorRig, proxy: FaultProxy
) -> None:
    stranger = Credential.from_text("9000008888")
    assert door_rig.directory.authenticate(stranger, "1").patron is None
    go_offline(door_rig, proxy)
    door_rig.clock.advance(minutes=4)
    assert door_rig.directory.authenticate(stranger, "1").reachable
    door_rig.clock.advance(minutes=2)
    assert not door_rig.directory.authenticate(stranger, "1").reachable


def test_a_validation_is_kept_for_fourteen_days(door_rig: DoorRig, proxy: FaultProxy) -> None:
    door_rig.directory.authenticate(SOREN, "1234")
    go_offline(door_rig, proxy)
    door_rig.clock.advance(days=13)
    assert door_rig.directory.authenticate(SOREN, "1234").pin is PinCheck.OK
    door_rig.clock.advance(days=2)
    assert not door_rig.directory.authenticate(SOREN, "1234").reachable


def test_a_pin_the_library_system_now_refuses_stops_working_offline(
    door_rig: DoorRig, proxy: FaultProxy, cache_engine: Engine
) -> None:
    patron = Patron("sip2:s", "Søren", PatronStatus.ACTIVE)
    with Session(cache_engine) as session, session.begin():  # the PIN before it was changed
        cache.remember(session, SITE_KEY, SOREN, "1111", patron, door_rig.clock(), DAYS14)
    assert door_rig.directory.authenticate(SOREN, "1111").pin is PinCheck.WRONG
    go_offline(door_rig, proxy)
    assert not door_rig.directory.authenticate(SOREN, "1111").reachable


def test_a_broken_cache_costs_the_offline_copy_not_the_answer(
    door_rig: DoorRig, proxy: FaultProxy, cache_engine: Engine
) -> None:
    CachedPatron.__table__.drop(cache_engine)  # type: ignore[attr-defined]
    assert door_rig.directory.authenticate(SOREN, "1234").pin is PinCheck.OK
    go_offline(door_rig, proxy)
    assert not door_rig.directory.authenticate(SOREN, "1234").reachable


def test_a_failing_event_sink_does_not_stop_the_door(
    door_rig: DoorRig, proxy: FaultProxy, cache_engine: Engine
) -> None:
    def broken(event: Event) -> None:
        """An event sink whose broker is gone."""
        raise RuntimeError("broker gone")

    d = Sip2Directory(
        door_rig.client,
        engine=cache_engine,
        site_key=SITE_KEY,
        on_event=broken,
        clock=door_rig.clock,
        timeout_s=0.2,
    )
    proxy.inject("silence", count=1000)
    assert not d.authenticate(SOREN, "1234").reachable


# -- the kiosk ---------------------------------------------------------------------------------


def test_loans_come_with_titles_and_due_dates_and_overdue_ones_marked(door_rig: DoorRig) -> None:
    loans = door_rig.directory.loans(SOREN, "1234")
    assert [(loan.title, loan.due, loan.overdue) for loan in loans] == [
        ("Fankultur og fanfiktion", TODAY - timedelta(days=3), True),
        ("Kubo – den modige samurai", TODAY - timedelta(days=1), True),
        ("Harry Potter og De Vises Sten", TODAY + timedelta(days=10), False),
        ("Æbler på Ærø", TODAY + timedelta(days=20), False),
    ]


def test_reservations_say_which_are_ready_for_pickup(door_rig: DoorRig) -> None:
    held = door_rig.directory.reservations(SOREN, "1234")
    assert [(r.title, r.ready) for r in held] == [
        ("Prinsesse Mononoke", True),
        ("Øst for Vesterled", False),
    ]


def test_a_refused_renewal_carries_the_library_systems_own_reason(door_rig: DoorRig) -> None:
    result = door_rig.directory.renew(SOREN, "1234", "5118709375")
    assert not result.renewed and result.reason == "Reserveret af anden låner"


def test_a_renewal_moves_the_due_date(door_rig: DoorRig) -> None:
    frida = Credential.from_text("9000000007")
    before = door_rig.client.item_information("6000000001").due
    result = door_rig.directory.renew(frida, "7777", "6000000001")
    assert result.renewed and result.due is not None and before is not None
    assert result.due == before + timedelta(days=14)


def test_renew_all_gives_one_result_per_item_with_reasons(door_rig: DoorRig) -> None:
    results = door_rig.directory.renew_all(Credential.from_text("9000000008"), "8888")
    by_item = {r.item_id: r for r in results}
    assert by_item["6000000003"].renewed and by_item["6000000003"].due is not None
    assert by_item["6000000003"].title == "Også til fornyelse"
    assert not by_item["6000000002"].renewed
    assert by_item["6000000002"].reason == "Maks. antal fornyelser"


def test_renew_all_refused_as_a_whole_lists_every_loan_with_the_reason(door_rig: DoorRig) -> None:
    results = door_rig.directory.renew_all(Credential.from_text("9000000009"), "9999")
    assert [(r.item_id, r.renewed, r.reason) for r in results] == [
        ("6000000004", False, "Lånerkortet er spærret")
    ]


def test_the_kiosk_needs_the_right_pin_and_an_answering_library_system(
    door_rig: DoorRig, proxy: FaultProxy
) -> None:
    with pytest.raises(PatronRefused):
        door_rig.directory.loans(SOREN, "0000")
    door_rig.directory.end_session(SOREN, "1234")
    proxy.inject("silence", count=1000)
    with pytest.raises(Sip2Unavailable):
        door_rig.directory.loans(SOREN, "1234")


def test_the_same_directory_works_over_fbs_https(
    fbs_server: FbsServer, client_tls: ssl.SSLContext, cache_engine: Engine
) -> None:
    transport = FbsHttpsTransport(
        fbs.endpoint(fbs_server.base_url, "761500"), *FBS_LOGIN, tls=client_tls
    )
    clock = Clock()
    d = Sip2Directory(
        Sip2Client(transport, Terminal(INSTITUTION), clock=clock),
        engine=cache_engine,
        site_key=SITE_KEY,
        on_event=lambda e: None,
        clock=clock,
    )
    auth = d.authenticate(SOREN, "1234")
    assert auth.pin is PinCheck.OK and auth.patron is not None
    assert [loan.overdue for loan in d.loans(SOREN, "1234")] == [True, True, False, False]
