"""The client against the pysip2 test library system over TCP: every message aabent uses,
login, charsets, TLS, and callers from many threads served one at a time, in order."""

from __future__ import annotations

import logging
import ssl
import threading
import time

import pytest

from services.sip2.errors import LoginRefused, Sip2Unavailable
from services.sip2.messages import decode
from services.sip2.requests import Summary
from services.sip2.transport import TcpTransport
from tests.services.sip2.conftest import Acs, tcp_client
from tests.services.sip2.faults import FaultProxy
from tests.services.sip2.library import INSTITUTION, LIBRARY_NAME, LOGIN


def test_sc_status_reports_what_the_library_system_supports(acs: Acs) -> None:
    status = tcp_client(acs.port).sc_status()
    assert status.online and status.institution_id == INSTITUTION
    assert status.library_name == LIBRARY_NAME
    assert {"patron status", "patron information", "renew", "renew all"} <= set(status.supported)
    assert "checkout" not in status.supported


def test_login_comes_first_on_a_new_connection(acs_login: Acs) -> None:
    proxy = FaultProxy(acs_login.port)
    try:
        client = tcp_client(proxy.port, login=LOGIN, location_code="glostrup")
        assert client.patron_status("9000000001", "1234").valid_patron
        first = decode(proxy.requests[0], charset="utf-8")
        assert first.command == "93" and first.first("CN") == LOGIN[0]
        assert first.first("CP") == "glostrup"
    finally:
        proxy.stop()


def test_a_refused_login_is_reported_as_such(acs_login: Acs) -> None:
    client = tcp_client(acs_login.port, login=(LOGIN[0], "wrong"))
    with pytest.raises(LoginRefused, match="refused login user 'sc-door-1'"):
        client.sc_status()


def test_patron_status_says_valid_patron_and_password(acs: Acs) -> None:
    client = tcp_client(acs.port)
    good = client.patron_status("9000000001", "1234")
    assert (good.valid_patron, good.valid_password, good.personal_name) == (
        True,
        True,
        "Søren Ærø Åberg",
    )
    assert client.patron_status("9000000001", "0000").valid_password is False
    unknown = client.patron_status("9000009999", "1234")
    assert unknown.valid_patron is False and unknown.valid_password is None


def test_patron_information_sends_the_list_the_summary_asks_for_and_the_birth_date(
    acs: Acs,
) -> None:
    client = tcp_client(acs.port)
    charged = client.patron_information("9000000001", "1234", Summary.CHARGED_ITEMS)
    assert len(charged.charged_items) == 4 and not charged.hold_items
    holds = client.patron_information("9000000001", "1234", Summary.HOLD_ITEMS)
    assert holds.hold_items == ("3846731813",) and not holds.charged_items
    assert charged.birth_date is not None and charged.birth_date.isoformat() == "1980-03-01"
    assert ("PC", "voksen") in charged.extensions


def test_item_information_gives_title_and_due_date(acs: Acs) -> None:
    info = tcp_client(acs.port).item_information("5010941603")
    assert info.title == "Harry Potter og De Vises Sten"
    assert info.circulation_status == "04" and info.due is not None


def test_renew_and_renew_all_and_end_session(acs: Acs) -> None:
    client = tcp_client(acs.port)
    refused = client.renew("9000000007", "7777", "6000000002")
    assert not refused.ok and refused.screen_messages == ("Maks. antal fornyelser",)
    everything = client.renew_all("9000000007", "7777")
    assert everything.renewed == ("6000000001",) and everything.unrenewed == ("6000000002",)
    assert client.end_patron_session("9000000007", "7777").ended


def test_danish_names_arrive_intact_in_latin1_and_cp850(acs_charset: Acs) -> None:
    client = tcp_client(acs_charset.port, charset=acs_charset.charset)
    assert client.patron_status("9000000001", "1234").personal_name == "Søren Ærø Åberg"


def test_sip2_over_tls_verifies_the_server_certificate(
    tls_proxy: FaultProxy, client_tls: ssl.SSLContext
) -> None:
    trusting = TcpTransport("127.0.0.1", tls_proxy.port, tls=client_tls)
    client = tcp_client(tls_proxy.port, transport=trusting)
    assert client.patron_status("9000000001", "1234").valid_password
    untrusting = TcpTransport("127.0.0.1", tls_proxy.port, tls=ssl.create_default_context())
    with pytest.raises(Sip2Unavailable, match="TLS"):
        tcp_client(tls_proxy.port, transport=untrusting).sc_status()


def test_nobody_listening_is_unavailable_and_backs_off(acs: Acs) -> None:
    client = tcp_client(1)  # port 1 on loopback: connection refused
    with pytest.raises(Sip2Unavailable, match="cannot connect"):
        client.sc_status()
    started = time.monotonic()
    with pytest.raises(Sip2Unavailable, match="next attempt"):
        client.sc_status()  # inside the back-off: no new connect, an immediate answer
    assert time.monotonic() - started < 0.05


def test_concurrent_callers_are_served_one_at_a_time_in_arrival_order(proxy: FaultProxy) -> None:
    client = tcp_client(proxy.port, timeout_s=3.0)
    client.sc_status()  # connected
    items = ["5010941603", "4933448504", "5120684762", "5118709375", "3846731813", "3843081011"]
    titles: dict[str, str] = {}
    proxy.inject("delay", seconds=0.2)  # the first caller holds the line; the rest queue up
    threads = []
    for item in items:
        thread = threading.Thread(
            target=lambda i=item: titles.__setitem__(i, client.item_information(i).title)
        )
        thread.start()
        threads.append(thread)
        time.sleep(0.02)  # arrival order is the order of this loop
    for thread in threads:
        thread.join()
    asked = [decode(r, charset="utf-8").first("AB") for r in proxy.requests[-len(items) :]]
    assert asked == items
    assert titles["3843081011"] == "Øst for Vesterled" and len(titles) == len(items)


def test_a_caller_that_cannot_get_the_line_in_time_gives_up_and_the_line_moves_on(
    proxy: FaultProxy,
) -> None:
    client = tcp_client(proxy.port, timeout_s=3.0)
    client.sc_status()
    proxy.inject("delay", seconds=0.3)
    slow = threading.Thread(target=client.sc_status)
    slow.start()
    time.sleep(0.05)
    with pytest.raises(Sip2Unavailable, match="waiting for the line"):
        client.sc_status(timeout=0.1)
    slow.join()
    assert client.sc_status().online


def test_debug_logs_of_a_whole_session_hold_no_card_number_pin_or_password(
    acs_login: Acs, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="services.sip2")
    client = tcp_client(acs_login.port, login=LOGIN)
    client.patron_information("9000000001", "1234", Summary.CHARGED_ITEMS)
    client.renew("9000000001", "1234", "5118709375")
    assert "SIP2 ->" in caplog.text and "SIP2 <-" in caplog.text
    for secret in ("9000000001", "1234", LOGIN[1], "Søren"):
        assert secret not in caplog.text
