"""Faults between the client and a real library system: each handled, each tested.

The replies are the pysip2 server's own; :class:`FaultProxy` breaks them in transit.
"""

from __future__ import annotations

import time

import pytest

from services.sip2.errors import OutcomeUnknown, ReplyError, Sip2Timeout, Sip2Unavailable
from services.sip2.messages import decode
from tests.services.sip2.conftest import Acs, tcp_client
from tests.services.sip2.faults import FaultProxy

RESEND = b"97AZFEF5\r"


def commands(proxy: FaultProxy) -> list[str]:
    """The commands the client sent, in order (97 included)."""
    return [r[:2].decode() for r in proxy.requests]


def test_a_connection_closed_mid_reply_is_reconnected_and_the_read_asked_again(
    proxy: FaultProxy,
) -> None:
    client = tcp_client(proxy.port)
    client.sc_status()
    proxy.inject("close_mid_reply")
    assert client.patron_status("9000000001", "1234").valid_password
    assert commands(proxy) == ["99", "23", "23"]


def test_a_renewal_whose_reply_is_cut_off_is_reported_not_sent_twice(proxy: FaultProxy) -> None:
    client = tcp_client(proxy.port)
    client.sc_status()
    proxy.inject("close_mid_reply", command="30")
    with pytest.raises(OutcomeUnknown, match=r"may have been done.*in the middle of a reply"):
        client.renew("9000000008", "8888", "6000000003")
    assert commands(proxy).count("29") == 1


def test_a_bad_checksum_is_answered_with_request_acs_resend_and_the_resent_reply_used(
    proxy: FaultProxy,
) -> None:
    client = tcp_client(proxy.port)
    proxy.inject("bad_checksum")
    reply = client.patron_status("9000000001", "1234")
    assert reply.personal_name == "Søren Ærø Åberg"
    assert RESEND in proxy.requests and commands(proxy) == ["23", "97"]


def test_replies_that_keep_failing_their_checksum_are_retried_then_reported(
    proxy: FaultProxy,
) -> None:
    client = tcp_client(proxy.port, retries=2)
    proxy.inject("bad_checksum", count=3)
    with pytest.raises(ReplyError, match="after 2 resends: reply checksum does not verify"):
        client.patron_status("9000000001", "1234")
    assert commands(proxy) == ["23", "97", "97"]
    time.sleep(0.02)  # past the test back-off
    assert client.patron_status("9000000001", "1234").valid_password  # a fresh connection


def test_garbage_instead_of_a_reply_is_asked_again_on_a_new_connection_never_resent(
    proxy: FaultProxy,
) -> None:
    client = tcp_client(proxy.port)
    proxy.inject("garbage")
    assert client.item_information("5010941603").title == "Harry Potter og De Vises Sten"
    assert commands(proxy) == ["17", "17"]  # no 97: a stream that lost its place is replaced


def test_when_the_acs_gets_our_request_garbled_it_asks_96_and_we_send_it_again(
    proxy: FaultProxy, caplog: pytest.LogCaptureFixture
) -> None:
    client = tcp_client(proxy.port)
    proxy.inject("corrupt_request")  # one bit flipped after the proxy recorded the frame
    assert client.patron_status("9000000001", "1234").valid_password
    assert "asked for a resend (96)" in caplog.text
    first, again = proxy.requests[0], proxy.requests[1]
    assert first == again and decode(again, charset="utf-8").sequence == 0


def test_a_slow_reply_times_out_within_the_timeout_and_never_answers_the_next_request(
    proxy: FaultProxy,
) -> None:
    client = tcp_client(proxy.port)
    client.sc_status()
    proxy.inject("delay", seconds=0.5)
    started = time.monotonic()
    with pytest.raises(Sip2Timeout):
        client.item_information("5010941603", timeout=0.2)
    assert 0.19 < time.monotonic() - started < 0.35
    time.sleep(0.6)  # the late reply has arrived by now, on the dropped connection
    assert client.item_information("4933448504").title == "Fankultur og fanfiktion"


def test_a_library_system_that_never_answers_times_out(proxy: FaultProxy) -> None:
    client = tcp_client(proxy.port)
    proxy.inject("silence")
    with pytest.raises(Sip2Timeout, match="no reply"):
        client.sc_status(timeout=0.15)


def test_a_restarted_library_system_is_reconnected_without_the_caller_noticing(
    own_acs: Acs,
) -> None:
    client = tcp_client(own_acs.port)
    assert client.patron_status("9000000001", "1234").valid_password
    own_acs.restart()
    assert client.patron_status("9000000001", "1234").valid_password


def test_a_library_system_that_is_down_is_unavailable_until_it_is_back(own_acs: Acs) -> None:
    client = tcp_client(own_acs.port)
    client.sc_status()
    own_acs.stop()
    with pytest.raises(Sip2Unavailable):
        client.sc_status()
    own_acs.start()
    time.sleep(0.06)  # past the (test) back-off
    assert client.sc_status().online
