"""SIP2 frames: the spec's own examples byte for byte, checksums, tolerant parsing, masking."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from services.sip2 import requests as rq
from services.sip2.messages import (
    ChecksumError,
    FrameError,
    checksum,
    checksum_ok,
    decode,
    encode,
    frame_end,
    masked,
    parse_date,
)
from services.sip2.replies import EndSessionReply, ItemInfo

# Examples printed in the SIP2 spec (3M SIP2 2.00, message examples and "Error Detection"),
# as they verify byte for byte. A few printed examples (23, 24, 64, 98 and the login) do not
# sum to their printed checksum and are left out rather than "corrected".
SPEC_FRAMES = [
    b"9900401.00AY1AZFCA5",
    b"990 402.00AY1AZFCB4",
    b"6300119980723    091905Y         AOInstitutionID|AAPatronID|BP00001|BQ00005|AY1AZEA83",
    b"01N19960213    162352AO|ALCARD BLOCK TEST|AA104000000705|AC|AY2AZF02F",
    b"2519980723    094240AOCertification Institute ID|AAPatronID|AY4AZEBF1",
    b"1719980723    100000AOCertification Institute ID|ABItemBook|AY1AZEBEB",
    b"09N19980821    085721                  APCertification Terminal Location|"
    b"AOCertification Institute ID|ABCheckInBook|ACTPWord|BIN|AY2AZD6A5",
    b"3719980723    0932110401USDBV111.11|AOCertification Institute ID|AAPatronID|"
    b"BKTransactionID|AY2AZE1EF",
    b"3519980723    094014AOCertification Institute ID|AAPatronID|AY3AZEBF2",
    b"941AY3AZFDFA",
    b"1808000119980723    115615CF00000|ABItemBook|AJTitle For Item Book|CK003|"
    b"AQPermanent Location for ItemBook, Language 1|APCurrent Location ItemBook|"
    b"CHFree-form text with new item property|AY0AZC05B",
    b"36Y19980723    110658AOInstitutionID for PatronID|AAPatronID|"
    b"AFScreenMessage 0 for PatronID, Language 1|AFScreen Message 1 for PatronID, Language 1|"
    b"AFScreen Message 2 for PatronID, Language 1|AGPrint Line 0 for PatronID, Language 1|"
    b"AGPrint Line 1 for PatronID, Language 1|AGPrint Line 2 for PatronID, language 1|AY5AZ970F",
]


@pytest.mark.parametrize("frame", SPEC_FRAMES, ids=lambda f: f[:2].decode())
def test_spec_examples_verify_and_our_checksum_matches_theirs(frame: bytes) -> None:
    assert checksum_ok(frame)
    assert checksum(frame[:-4]) == frame[-4:].decode()


def test_one_changed_byte_fails_the_checksum() -> None:
    frame = bytearray(SPEC_FRAMES[2])
    frame[10] ^= 0x01
    assert not checksum_ok(bytes(frame))
    with pytest.raises(ChecksumError):
        decode(bytes(frame) + b"\r", charset="ascii")


def test_resend_requests_carry_only_a_checksum_as_in_the_spec() -> None:
    assert rq.request_acs_resend().frame(charset="ascii", sequence=-1) == b"97AZFEF5\r"
    assert decode(b"96AZFEF6\r", charset="ascii").command == "96"


def test_sc_status_is_encoded_byte_for_byte_as_the_spec_example() -> None:
    frame = rq.sc_status("1.00", max_print_width=40).frame(charset="ascii", sequence=1)
    assert frame == b"9900401.00AY1AZFCA5\r"


def test_patron_information_is_encoded_byte_for_byte_as_the_spec_example() -> None:
    request = rq.patron_information(
        rq.Terminal("InstitutionID", language="001"),
        "PatronID",
        None,
        datetime(1998, 7, 23, 9, 19, 5),
        rq.Summary.HOLD_ITEMS,
        window=(1, 5),
    )
    assert request.frame(charset="ascii", sequence=1) == SPEC_FRAMES[2] + b"\r"


def test_item_information_and_end_session_are_encoded_as_the_spec_examples() -> None:
    terminal = rq.Terminal("Certification Institute ID")
    item = rq.item_information(terminal, "ItemBook", datetime(1998, 7, 23, 10, 0, 0))
    assert item.frame(charset="ascii", sequence=1) == SPEC_FRAMES[5] + b"\r"
    end = rq.end_patron_session(terminal, "PatronID", None, datetime(1998, 7, 23, 9, 40, 14))
    assert end.frame(charset="ascii", sequence=3) == SPEC_FRAMES[8] + b"\r"


def test_spec_login_response_decodes_with_its_sequence_and_checksum() -> None:
    message = decode(b"941AY3AZFDFA\r", charset="ascii")
    assert (message.command, message.fixed["ok"], message.sequence, message.checksum) == (
        "94",
        "1",
        3,
        "FDFA",
    )


def test_spec_item_information_response_reads_title_and_keeps_every_field() -> None:
    message = decode(SPEC_FRAMES[10] + b"\r", charset="ascii")
    info = ItemInfo.from_message(message)
    assert (info.item_id, info.title, info.circulation_status) == (
        "ItemBook",
        "Title For Item Book",
        "08",
    )
    assert message.first("CK") == "003"
    assert message.first("CH") == "Free-form text with new item property"


def test_spec_end_session_response_keeps_repeated_screen_messages_in_order() -> None:
    message = decode(SPEC_FRAMES[11] + b"\r", charset="ascii")
    assert EndSessionReply.from_message(message).ended
    assert len(message.all("AF")) == 3 and message.all("AF")[0].startswith("ScreenMessage 0")
    assert len(message.all("AG")) == 3


def test_field_order_is_free_and_unknown_fields_are_kept_in_wire_order() -> None:
    frame = (
        b"24              00920260302    101010BLY|XZvendor|AEName|AAcard|AODK-1|CQY|PB19540215|\r"
    )
    message = decode(frame, charset="ascii")
    assert message.first("AE") == "Name" and message.first("BL") == "Y"
    assert [fid for fid, _ in message.fields] == ["BL", "XZ", "AE", "AA", "AO", "CQ", "PB"]
    assert message.first("XZ") == "vendor"


def test_a_missing_final_delimiter_and_a_crlf_ending_are_accepted() -> None:
    message = decode(b"\n941\r\n", charset="ascii")
    assert message.fixed == {"ok": "1"}
    message = decode(b"36Y19980723    110658AOinst|AApatron\r", charset="ascii")
    assert message.first("AA") == "patron"


@pytest.mark.parametrize("charset", ["utf-8", "latin-1", "cp850"])
def test_danish_letters_round_trip_in_each_charset_and_the_checksum_covers_the_bytes(
    charset: str,
) -> None:
    frame = encode(
        "36",
        (("end_session", "Y"), ("transaction_date", "20260302    101010")),
        (("AO", "DK-761500"), ("AA", "9000000001"), ("AF", "Søren Ærø Åberg, på gensyn")),
        charset=charset,
        sequence=4,
    )
    assert checksum_ok(frame[:-1])
    assert decode(frame, charset=charset).first("AF") == "Søren Ærø Åberg, på gensyn"


def test_a_value_that_cannot_be_written_in_the_charset_is_refused_by_name() -> None:
    with pytest.raises(FrameError, match="cannot be written in latin-1"):
        encode("17", (("transaction_date", " " * 18),), (("AB", "€"),), charset="latin-1")


def test_a_delimiter_inside_a_value_is_refused_without_showing_the_value() -> None:
    with pytest.raises(FrameError) as caught:
        rq.patron_status(rq.Terminal("X"), "9000|0001", "1234", datetime(2026, 3, 2)).frame(
            charset="utf-8", sequence=0
        )
    assert "AA" in str(caught.value) and "9000" not in str(caught.value)


@pytest.mark.parametrize(
    ("frame", "problem"),
    [
        (b"\xff\xfe<html>502</html>\r", "no two-digit command"),
        (b"24  Y\r", "patron_status is cut short"),
        (b"55Y|AOx|\r", "unknown command 55"),
        (b"941|x|\r", "malformed field"),
    ],
)
def test_garbage_is_a_frame_error_that_says_what_is_wrong(frame: bytes, problem: str) -> None:
    with pytest.raises(FrameError, match=problem):
        decode(frame, charset="utf-8")


def test_logs_see_card_numbers_pins_and_passwords_masked() -> None:
    patron = rq.patron_status(rq.Terminal("DK-761500"), "9000000001", "1234", datetime(2026, 3, 2))
    text = masked(patron.frame(charset="utf-8", sequence=0))
    assert "9000000001" not in text and "1234" not in text
    assert "AA****01|" in text and "AD***|" in text
    login = masked(rq.login("sc-door", "s3cret").frame(charset="utf-8", sequence=1))
    assert "s3cret" not in login and "CNsc-door|" in login
    frame = "24              00920260302    101010AODK|AA9000000001|AESøren|\r".encode()
    reply = decode(frame, charset="utf-8")
    assert "9000000001" not in repr(reply) and "Søren" not in repr(reply)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20260316    235959", date(2026, 3, 16)),
        ("20260316", date(2026, 3, 16)),
        ("2026-03-16T12:00:00", date(2026, 3, 16)),
        ("20261316", None),
        ("next week", None),
        ("", None),
    ],
)
def test_due_dates_are_read_in_the_formats_library_systems_use(
    text: str, expected: date | None
) -> None:
    assert parse_date(text) == expected


# -- where a frame ends (issue 10: a CR LF inside a staff note) ---------------------------------

HEAD64 = b"64              00920260302    100000" + b"0" * 24
NOTE_FRAME = HEAD64 + b"AA9000000001|BLY|AFa\r\nb|AY1AZ"


def _sealed(head: bytes) -> bytes:
    return head + checksum(head).encode() + b"\r"


def test_with_error_detection_a_cr_inside_a_field_does_not_end_the_frame() -> None:
    frame = _sealed(NOTE_FRAME)
    assert frame_end(frame[: frame.index(b"\r") + 3], trailer=True) is None  # wait for the rest
    assert frame_end(frame + b"98Y", trailer=True) == len(frame)
    assert decode(frame, charset="utf-8").all("AF") == ("a\r\nb",)


def test_without_error_detection_a_cr_followed_by_more_of_the_field_does_not_end_it() -> None:
    frame = b"64              00920260302    100000AA9000000001|AFa\r\nb|BLY|\r"
    assert frame_end(frame, trailer=False) == len(frame)
    first = frame.index(b"\r") + 2
    assert frame_end(frame[:first], trailer=False) == first  # nothing behind it yet: it ends
    assert frame_end(b"941\r\n98Y", trailer=False) == 5  # a new frame begins: it ends


def test_garbage_ends_at_its_first_cr_so_it_is_reported_not_waited_for() -> None:
    assert frame_end(b"<html>502</html>\r<more", trailer=True) == len(b"<html>502</html>\r")


@pytest.mark.parametrize(
    ("reply", "why"),
    [
        (b"24              00920260302    100000AA9000000001|BLY|", None),
        (b"24              00920260302    100000AALN:9000000001 |BLY|", None),
        (b"24              00920260302    100000AA9000000007|BLY|", "another patron"),
        (b"24              00920260302    100000BLY|", "leaves out AA"),
        (b"64              00920260302    100000" + b"0" * 24 + b"AA9000000001|", "got 64"),
    ],
)
def test_a_reply_answers_a_request_only_about_the_same_patron(
    reply: bytes, why: str | None
) -> None:
    request = rq.patron_status(rq.Terminal("X"), "9000000001", "1", datetime(2026, 3, 2))
    problem = request.mismatch(decode(reply, charset="utf-8"))
    assert problem is None if why is None else why in (problem or "")


def test_a_renew_reply_must_name_the_same_item() -> None:
    request = rq.renew(rq.Terminal("X"), "9000000001", "1", "6000000001", datetime(2026, 3, 2))
    other = b"301YNN20260302    100000AOX|AA9000000001|AB6000000002|"
    assert "another item (AB)" in (request.mismatch(decode(other, charset="utf-8")) or "")
