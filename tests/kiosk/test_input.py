"""Scanner input: a fast burst ending in Enter is a scan; a person's typing is typing."""

from __future__ import annotations

from kiosk.input import (
    Pressed,
    ScanClassifier,
    Scanned,
    Typed,
    card_from,
    read_card,
    scan_target,
)
from services.core.credentials import CredentialKind
from services.core.readers import ReaderFault, parse_line


def feed(c: ScanClassifier, text: str, start: float, gap: float) -> list[object]:
    out: list[object] = []
    for n, char in enumerate(text):
        out += c.key(char, start + n * gap)
    return out


def test_a_fast_burst_ending_in_enter_is_a_scan() -> None:
    c = ScanClassifier()
    assert feed(c, "10000001", 0.0, 0.008) == []  # held back while the burst lasts
    assert c.enter(0.008 * 8) == [Scanned("10000001")]
    assert c.deadline is None


def test_slow_keys_are_typing_released_after_the_gap() -> None:
    c = ScanClassifier(max_gap_s=0.05)
    assert c.key("k", 0.0) == []
    assert c.deadline == 0.05
    assert c.flush(0.03) == []  # not yet: the next key may still come
    assert c.flush(0.06) == [Typed("k")]
    assert c.key("v", 0.2) == []
    assert c.key("i", 0.4) == [Typed("v")]  # the gap before "i" decided that "v" was typed


def test_enter_after_typing_is_a_key_not_a_scan() -> None:
    c = ScanClassifier()
    out = feed(c, "1234", 0.0, 0.2)
    out += c.enter(0.8 + 0.2)
    assert out == [Typed("1"), Typed("2"), Typed("3"), Typed("4"), Pressed("enter")]


def test_a_short_fast_burst_is_not_a_scan() -> None:
    c = ScanClassifier(min_chars=4)
    feed(c, "ab", 0.0, 0.005)
    assert c.enter(0.01) == [Typed("ab"), Pressed("enter")]


def test_a_pause_inside_a_burst_turns_it_into_typing() -> None:
    c = ScanClassifier()
    out = feed(c, "1000", 0.0, 0.005) + feed(c, "0001", 0.5, 0.005)
    out += c.enter(0.52)
    assert out == [Typed("1000"), Scanned("0001")]


def test_backspace_is_never_part_of_a_scan() -> None:
    c = ScanClassifier()
    feed(c, "abc", 0.0, 0.005)
    assert c.backspace(0.02) == [Typed("abc"), Pressed("backspace")]


def test_the_scan_text_is_hidden_from_repr() -> None:
    assert "10000001" not in repr(Scanned("10000001"))


def test_cards_and_cpr_numbers_are_read_and_garbage_is_not() -> None:
    card = read_card("10000001\r\n")
    assert card is not None and card.kind is CredentialKind.CARD and card.number == "10000001"
    cpr = read_card("0101801234")
    assert cpr is not None and cpr.kind is CredentialKind.CPR
    for garbage in ("", "  ", "#@!?", "æøå123", "12", "x" * 60, "1000\x07001"):
        assert read_card(garbage) is None, repr(garbage)


def test_a_serial_reader_fault_is_no_card() -> None:
    assert card_from(ReaderFault("barcode: empty line")) is None
    assert card_from(parse_line(b"10000002\r")) is not None
    assert card_from(parse_line(b"$$$$\r")) is None


def test_a_scanner_sending_a_key_every_40_to_50_ms_is_still_a_scan() -> None:
    c = ScanClassifier()
    gaps = [0.040, 0.050, 0.045, 0.049, 0.041, 0.050, 0.047, 0.044, 0.050]
    now, out = 0.0, []
    for char, gap in zip("9000000010", [0.0, *gaps], strict=True):
        now += gap
        out += c.key(char, now)
        out += c.flush(now + 0.01)  # the kiosk's flush timer runs between the keys
    out += c.enter(now + 0.048)
    assert out == [Scanned("9000000010")]


def test_a_person_typing_on_a_keyboard_is_still_typing() -> None:
    c = ScanClassifier()
    out = feed(c, "krimi", 0.0, 0.15)
    out += c.flush(0.9)
    assert "".join(t.text for t in out if isinstance(t, Typed)) == "krimi"


def test_a_card_scanned_on_any_screen_goes_where_the_patron_meant() -> None:
    karen = "9000000010"
    isbn = "9788702123456"  # a valid ISBN-13, which card rules would also accept
    assert scan_target("search", karen, program_takes_it=False) == "account"
    assert scan_target("item", karen, program_takes_it=False) == "account"
    assert scan_target("home", karen, program_takes_it=False) == "account"
    assert scan_target("program", karen, program_takes_it=True) == "program"
    assert scan_target("program", karen, program_takes_it=False) == "account"
    assert scan_target("search", isbn, program_takes_it=False) == "search"
    assert scan_target("item", isbn, program_takes_it=False) == "search"
    assert scan_target("account", "%%garbage", program_takes_it=False) == "account"
