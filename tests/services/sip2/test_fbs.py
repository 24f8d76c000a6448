"""FBS's SIP2-over-HTTPS: the envelope, and a local FBS over real HTTPS in front of the ACS."""

from __future__ import annotations

import ssl

import pytest

from services.sip2 import fbs
from services.sip2.client import Backoff, Sip2Client
from services.sip2.errors import FbsError, ReplyError, Sip2Unavailable
from services.sip2.requests import Terminal
from services.sip2.transport import FbsHttpsTransport
from tests.services.sip2.conftest import FBS_LOGIN, clock_at
from tests.services.sip2.fbs_server import FbsServer
from tests.services.sip2.library import INSTITUTION


def test_the_endpoint_is_the_agencys_rest_sip2_path() -> None:
    assert fbs.endpoint("https://cicero-fbs.com/", "761500") == (
        "https://cicero-fbs.com/rest/sip2/DK-761500"
    )
    assert fbs.agency_id("DK-761500") == "DK-761500"
    with pytest.raises(ValueError, match="agency number"):
        fbs.agency_id("Glostrup")


def test_the_envelope_carries_login_and_password_as_attributes_escaped() -> None:
    body = fbs.envelope("990xxx2.00", "door", 'p&"<w>')
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    assert b"<request>990xxx2.00</request>" in body
    assert fbs.request_text(body) == ("door", 'p&"<w>', "990xxx2.00")


def test_an_answer_gives_its_response_an_error_its_text() -> None:
    assert fbs.reply_text(fbs.response_envelope("941")) == "941"
    with pytest.raises(FbsError, match="LOGIN_PASSWORD must be set"):
        fbs.reply_text(fbs.response_envelope(None, "Required field: LOGIN_PASSWORD must be set!"))


def test_an_fbs_error_quoting_a_card_number_is_masked() -> None:
    with pytest.raises(FbsError) as caught:
        fbs.reply_text(fbs.response_envelope(None, "Patron 9000000001 not found"))
    assert "9000000001" not in str(caught.value) and "****01" in str(caught.value)


def test_a_rest_exception_names_its_error_code_and_correlation_id() -> None:
    body = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><restExceptionInfo>'
        b"<correlationId>8d7b0a69</correlationId><errorCode>OPTIMISTIC_LOCK_VIOLATION</errorCode>"
        b"</restExceptionInfo>"
    )
    with pytest.raises(FbsError, match=r"OPTIMISTIC_LOCK_VIOLATION \(correlation id 8d7b0a69\)"):
        fbs.reply_text(body)


def test_an_answer_that_is_not_xml_is_a_reply_error() -> None:
    with pytest.raises(ReplyError):
        fbs.reply_text(b"<html>502 Bad Gateway")


def fbs_client(server: FbsServer, tls: ssl.SSLContext, password: str = FBS_LOGIN[1]) -> Sip2Client:
    """A client for the local FBS."""
    url = fbs.endpoint(server.base_url, "761500")
    transport = FbsHttpsTransport(url, FBS_LOGIN[0], password, tls=tls)
    return Sip2Client(
        transport,
        Terminal(INSTITUTION),
        timeout_s=2.0,
        clock=clock_at(),
        backoff=Backoff(base_s=0.01, cap_s=0.05),
    )


def test_fbs_answers_sc_status_over_https(
    fbs_server: FbsServer, client_tls: ssl.SSLContext
) -> None:
    status = fbs_client(fbs_server, client_tls).sc_status()
    assert status.online and status.institution_id == INSTITUTION


def test_fbs_requests_have_no_login_message_and_no_error_detection_trailer(
    fbs_server: FbsServer, client_tls: ssl.SSLContext
) -> None:
    before = len(fbs_server.requests)
    client = fbs_client(fbs_server, client_tls)
    client.patron_status("9000000001", "1234")
    client.patron_status("9000000001", "1234")
    sent = [fbs.request_text(body)[2] for body in fbs_server.requests[before:]]
    assert [m[:2] for m in sent] == ["23", "23"]
    assert not any("AY" in m or "AZ" in m for m in sent)


def test_fbs_patron_identifiers_come_back_prefixed_and_are_understood(
    fbs_server: FbsServer, client_tls: ssl.SSLContext
) -> None:
    reply = fbs_client(fbs_server, client_tls).patron_information("9000000001", "1234")
    assert reply.identifier_prefix == "LN"
    assert reply.valid_patron and reply.valid_password
    assert reply.personal_name == "Søren Ærø Åberg"


def test_fbs_refusing_the_login_is_reported_with_its_own_words(
    fbs_server: FbsServer, client_tls: ssl.SSLContext
) -> None:
    client = fbs_client(fbs_server, client_tls, password="wrong")
    with pytest.raises(FbsError, match="Login failed"):
        client.sc_status()


def test_an_untrusted_certificate_is_unavailable_not_accepted(fbs_server: FbsServer) -> None:
    client = fbs_client(fbs_server, ssl.create_default_context())  # system CAs only
    with pytest.raises(Sip2Unavailable, match="cannot connect"):
        client.sc_status()


def test_a_slow_fbs_times_out_within_the_request_timeout(
    fbs_server: FbsServer, client_tls: ssl.SSLContext
) -> None:
    client = fbs_client(fbs_server, client_tls)
    client.sc_status()  # connected and kept alive
    fbs_server.delay_s = 0.5
    try:
        with pytest.raises(Sip2Unavailable, match="no answer"):
            client.sc_status(timeout=0.2)
    finally:
        fbs_server.delay_s = 0.0
