"""Specification of the reader frame parsers: what each reader's bytes mean, and what is refused."""

from __future__ import annotations

import pytest

from services.core.credentials import Credential, CredentialKind
from services.core.readers import (
    CardRead,
    KeyPress,
    PinCleared,
    PinEntered,
    PinPadBuffer,
    ReaderFault,
    decode_wiegand,
    parse_em4100,
    parse_line,
    parse_magstripe,
)


def card(number: str) -> CardRead:
    return CardRead(Credential(CredentialKind.CARD, number))


def cpr(number: str) -> CardRead:
    return CardRead(Credential(CredentialKind.CPR, number))


def fault_text(result: object) -> str:
    assert isinstance(result, ReaderFault), result
    return result.problem


# --- barcode --------------------------------------------------------------------------------


@pytest.mark.parametrize("line", [b"3274000123456\r\n", b"3274000123456\r", b"3274000123456\n"])
def test_barcode_line_is_a_library_card_whatever_the_line_end(line: bytes) -> None:
    assert parse_line(line) == card("3274000123456")


def test_barcode_of_ten_digits_forming_a_birth_date_is_a_cpr_number() -> None:
    assert parse_line(b"0101901234\r\n") == cpr("0101901234")
    assert parse_line(b"010190-1234\r\n") == cpr("0101901234")


def test_ten_digits_that_are_no_date_are_a_card() -> None:
    assert parse_line(b"3213001234\r\n") == card("3213001234")


def test_thirty_two_characters_is_the_longest_barcode() -> None:
    assert parse_line(b"1" * 32) == card("1" * 32)
    problem = fault_text(parse_line(b"1" * 33 + b"\r\n"))
    assert "33 characters" in problem
    assert "1111" not in problem  # the number never appears in a fault


@pytest.mark.parametrize("line", [b"", b"\r\n", b"   \r\n"])
def test_empty_barcode_line_is_a_fault(line: bytes) -> None:
    assert fault_text(parse_line(line)) == "barcode: empty line"


def test_control_byte_in_barcode_is_a_fault_naming_the_byte_not_the_number() -> None:
    problem = fault_text(parse_line(b"1234\x075678\r\n"))
    assert "0x07" in problem and "position 4" in problem
    assert "1234" not in problem


def test_non_ascii_barcode_is_a_fault() -> None:
    assert "non-printable byte 0xc3" in fault_text(parse_line("12æ34".encode()))


# --- magnetic stripe ------------------------------------------------------------------------

HEALTH_TRACK1 = "%" + "HANSEN^METTE".ljust(34) + "STATIONSPARKEN 1".ljust(34) + "161" + "2600" + "?"


def health_track2(cpr_field: str) -> str:
    """Track 2 of a health card around ``cpr_field`` (layout in parse_magstripe's docstring)."""
    before = "9" + "208" + "1" + "004"  # card type, country, use, issuer
    after = "1" + "041173" + "084" + "161" + "010824"  # group, GP, region, municipality, from
    return f";{before}{cpr_field}{after}?"


def test_library_card_number_is_read_from_track_2_before_the_separator() -> None:
    assert parse_magstripe(b";6000123456=4912?\r\n") == card("6000123456")


def test_track_2_wins_over_track_1() -> None:
    swipe = b"%B6000999999^HANSEN/METTE^4912?;6000123456=4912?\r"
    assert parse_magstripe(swipe) == card("6000123456")


def test_track_1_format_b_number_is_used_when_track_2_is_absent() -> None:
    assert parse_magstripe(b"%B6000 1234 56^HANSEN/METTE^4912?") == card("6000123456")


def test_track_1_number_is_used_when_the_reader_reports_track_2_unreadable() -> None:
    assert parse_magstripe(b"%B6000123456^HANSEN/METTE^?;E?") == card("6000123456")


def test_health_card_stripe_gives_the_cpr_number() -> None:
    swipe = (HEALTH_TRACK1 + health_track2("0101702345")).encode("ascii")
    assert parse_magstripe(swipe + b"\r\n") == cpr("0101702345")


def test_health_card_track_2_alone_is_enough() -> None:
    assert parse_magstripe(health_track2("2512891234").encode()) == cpr("2512891234")


def test_health_card_whose_cpr_field_is_no_date_is_a_fault() -> None:
    problem = fault_text(parse_magstripe(health_track2("9999999999").encode()))
    assert "CPR field" in problem and "9999" not in problem


def test_health_card_with_unreadable_track_2_is_a_fault_without_the_name() -> None:
    problem = fault_text(parse_magstripe((HEALTH_TRACK1 + ";E?").encode()))
    assert "no card number" in problem
    assert "HANSEN" not in problem


def test_library_card_number_forming_a_birth_date_is_taken_as_cpr() -> None:
    assert parse_magstripe(b";0101901234=?") == cpr("0101901234")


def test_correct_lrc_after_each_track_is_accepted() -> None:
    # LRCs worked by hand: track 1 XORs 6-bit values (ASCII - 0x20), track 2 4-bit (ASCII - 0x30)
    assert parse_magstripe(b"%B1^A^?(") == card("1")
    assert parse_magstripe(b";1?5") == card("1")
    assert parse_magstripe(b"%B1^A^?(;1?5\r\n") == card("1")


def test_lrc_that_looks_like_a_start_sentinel_is_still_an_lrc() -> None:
    # ';' (0xB) ^ '7' ^ '8' ^ '?' (0xF) = 0xB: the LRC of ";78?" is ';' itself
    assert parse_magstripe(b";78?;") == card("78")
    assert parse_magstripe(b";78?;;12?") == card("78")


def test_wrong_lrc_is_a_fault() -> None:
    assert "LRC" in fault_text(parse_magstripe(b";1?6"))
    assert "track 1 fails its LRC" in fault_text(parse_magstripe(b"%B1^A^?)"))


@pytest.mark.parametrize(
    ("swipe", "expected"),
    [
        (b"6000123456=?", "no start sentinel at position 0"),
        (b";6000123456=4912", "track 2 has no end sentinel"),
        (b"%B6000123456^HANSEN", "track 1 has no end sentinel"),
        (b";6000A23456=?", "track 2 has a character outside ISO 7811"),
        (b"%B6000^hansen^?", "track 1 has a character outside ISO 7811"),
        (b";" + b"1" * 38 + b"?", "track 2 is longer than 37 characters"),
        (b";=4912?", "no card number"),
        (b";60:0123=?", "not all digits"),
        (b"%HANSEN^METTE?", "no card number"),
        (b"", "empty swipe"),
        (b";123\x00?", "non-printable byte 0x00"),
    ],
)
def test_malformed_swipes_are_faults(swipe: bytes, expected: str) -> None:
    problem = fault_text(parse_magstripe(swipe))
    assert expected in problem
    assert "6000" not in problem and "HANSEN" not in problem


# --- EM4100 ---------------------------------------------------------------------------------

# version 0x01, data 0x00BC614E (= 12345678), checksum 01^00^BC^61^4E = 0x92
GOOD_TAG = b"0100BC614E92"


def test_em4100_frame_gives_the_ten_digit_number_printed_on_the_tag() -> None:
    assert parse_em4100(GOOD_TAG) == card("0012345678")


def test_em4100_hex_may_be_lower_case() -> None:
    assert parse_em4100(GOOD_TAG.lower()) == card("0012345678")


def test_em4100_tag_is_never_a_cpr_number_even_when_its_digits_form_a_date() -> None:
    number = 112345678  # "0112345678" reads as 01-12-34
    data = bytes([0x2A]) + number.to_bytes(4, "big")
    checksum = 0
    for byte in data:
        checksum ^= byte
    payload = (data.hex() + f"{checksum:02x}").upper().encode()
    assert parse_em4100(payload) == card("0112345678")


def test_em4100_checksum_mismatch_is_a_fault_without_the_number() -> None:
    problem = fault_text(parse_em4100(b"0100BC614E93"))
    assert problem == "EM4100: checksum mismatch"


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b"0100BC614E9", "frame of 11 characters, expected 12"),
        (b"0100BC614E920", "frame of 13 characters, expected 12"),
        (b"", "frame of 0 characters"),
        (b"0100BC614EZ2", "not a hex digit"),
        (b"01 0BC614E92", "not a hex digit"),  # bytes.fromhex would skip the space
        (b"\x02100BC614E92", "not a hex digit"),
    ],
)
def test_malformed_em4100_frames_are_faults(payload: bytes, expected: str) -> None:
    assert expected in fault_text(parse_em4100(payload))


# --- PIN pad --------------------------------------------------------------------------------


def feed_all(buffer: PinPadBuffer, keys: str, now: float = 0.0) -> list[object]:
    return [r for k in keys if (r := buffer.feed(k, now)) is not None]


def test_digits_then_hash_submit_the_pin() -> None:
    buffer = PinPadBuffer(timeout_s=10)
    assert feed_all(buffer, "1234#") == [PinEntered("1234")]
    assert buffer.pending == 0


def test_star_clears_the_entry_and_says_so() -> None:
    buffer = PinPadBuffer(timeout_s=10)
    assert feed_all(buffer, "12*34#") == [PinCleared(), PinEntered("34")]


def test_hash_with_nothing_entered_is_ignored() -> None:
    assert feed_all(PinPadBuffer(timeout_s=10), "#") == []


def test_a_pause_longer_than_the_timeout_discards_the_partial_entry() -> None:
    buffer = PinPadBuffer(timeout_s=10)
    assert buffer.feed("1", 100.0) is None
    assert buffer.feed("2", 105.0) is None
    assert buffer.pending == 2
    assert buffer.feed("3", 115.5) is None  # 10.5 s after the "2": "12" is forgotten
    assert buffer.feed("#", 116.0) == PinEntered("3")


def test_a_pause_of_exactly_the_timeout_keeps_the_entry() -> None:
    buffer = PinPadBuffer(timeout_s=10)
    buffer.feed("1", 0.0)
    buffer.feed("2", 10.0)
    assert buffer.feed("#", 20.0) == PinEntered("12")


def test_too_many_digits_discard_the_entry_with_a_fault() -> None:
    buffer = PinPadBuffer(timeout_s=10, max_len=4)
    results = feed_all(buffer, "12345")
    assert fault_text(results[0]) == "PIN pad: more than 4 digits; entry discarded"
    assert feed_all(buffer, "9#") == [PinEntered("9")]


def test_an_unexpected_byte_is_a_fault_and_the_entry_goes_on() -> None:
    buffer = PinPadBuffer(timeout_s=10)
    results = feed_all(buffer, "1\r2#")
    assert fault_text(results[0]) == "PIN pad: unexpected key '\\r'"
    assert results[1] == PinEntered("12")


def test_a_key_is_one_character() -> None:
    assert "one character" in fault_text(PinPadBuffer(10).feed("12", 0.0))


def test_pin_never_shows_in_repr() -> None:
    assert "4711" not in repr(PinEntered("4711"))
    assert "7" not in repr(KeyPress("7"))


@pytest.mark.parametrize(("timeout_s", "max_len"), [(0, 8), (-1, 8), (10, 0)])
def test_pin_pad_buffer_refuses_nonsense_settings(timeout_s: float, max_len: int) -> None:
    with pytest.raises(ValueError, match="PIN"):
        PinPadBuffer(timeout_s, max_len)


# --- Wiegand --------------------------------------------------------------------------------


def bits_of(value: int, width: int) -> list[int]:
    return [(value >> (width - 1 - i)) & 1 for i in range(width)]


def wiegand(data: int, width: int) -> list[int]:
    """A frame with correct parity: even over the first half, odd over the second."""
    body = bits_of(data, width)
    half = width // 2
    return [sum(body[:half]) % 2, *body, 1 - sum(body[half:]) % 2]


def test_26_bit_card_is_the_24_data_bits_as_eight_digits() -> None:
    # facility 1, card 1, worked by hand: one 1 in each half -> even parity 1, odd parity 0
    frame = [1, *bits_of(1, 8), *bits_of(1, 16), 0]
    assert decode_wiegand(frame) == card("00065537")
    facility, number = 123, 45678
    assert decode_wiegand(wiegand(facility << 16 | number, 24)) == card("08106606")


def test_34_bit_card_matches_the_number_an_rdm6300_reports() -> None:
    assert decode_wiegand(wiegand(0x00BC614E, 32)) == parse_em4100(GOOD_TAG)
    assert decode_wiegand(wiegand(0xFFFFFFFF, 32)) == card("4294967295")


@pytest.mark.parametrize("width", [26, 34])
@pytest.mark.parametrize("flip", [0, 5, -1])
def test_parity_error_is_a_fault(width: int, flip: int) -> None:
    frame = wiegand(0x00BC614E & ((1 << (width - 2)) - 1), width - 2)
    frame[flip] ^= 1
    assert fault_text(decode_wiegand(frame)) == f"Wiegand: {width}-bit frame fails its parity check"


@pytest.mark.parametrize(("code", "key"), [(0, "0"), (7, "7"), (9, "9"), (10, "*"), (11, "#")])
def test_keypad_bursts_of_4_and_8_bits(code: int, key: str) -> None:
    assert decode_wiegand(bits_of(code, 4)) == KeyPress(key)
    assert decode_wiegand(bits_of(code ^ 0xF, 4) + bits_of(code, 4)) == KeyPress(key)


def test_8_bit_key_1_is_1110_0001() -> None:
    assert decode_wiegand([1, 1, 1, 0, 0, 0, 0, 1]) == KeyPress("1")


def test_8_bit_key_failing_its_complement_is_a_fault() -> None:
    assert "complement" in fault_text(decode_wiegand([0, 0, 0, 0, 0, 0, 0, 1]))


def test_keypad_codes_beyond_hash_are_faults() -> None:
    assert fault_text(decode_wiegand(bits_of(12, 4))) == "Wiegand: keypad code 12 is not a key"


@pytest.mark.parametrize("length", [0, 1, 3, 25, 27, 33, 35, 37])
def test_other_lengths_are_faults(length: int) -> None:
    expected = f"Wiegand: {length} bits, expected 4, 8, 26 or 34"
    assert fault_text(decode_wiegand([0] * length)) == expected


def test_values_other_than_bits_are_a_fault() -> None:
    assert "neither 0 nor 1" in fault_text(decode_wiegand([0, 1, 2, 0]))
