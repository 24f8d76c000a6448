"""What the credential readers send, parsed: pure functions over the bytes of one frame.

The framing (lines, STX…ETX packets, pulse gaps) is done by the adapters in
``services/runtime/serial_reader.py`` and ``hardware/wiegand.py``; here a complete frame becomes a
:data:`ReaderInput`. A bad frame becomes a :class:`ReaderFault` whose text names the problem and
never the card number, the CPR number or a PIN digit, so it is safe to log and to publish.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import reduce
from operator import xor

from services.core.cpr import is_cpr
from services.core.credentials import Credential, CredentialKind

STX, ETX = 0x02, 0x03
MAX_BARCODE_CHARS = 32
# ISO 7811: track 1 holds up to 79 characters, track 2 up to 40, track 3 (ISO 4909) up to 107.
MAX_STRIPE_CHARS = 79 + 40 + 107
EM4100_PAYLOAD_CHARS = 12
PIN_KEYS = frozenset("0123456789")


@dataclass(frozen=True, slots=True)
class CardRead:
    """A card presented at a reader; ``repr`` masks the number (see :class:`Credential`)."""

    credential: Credential


@dataclass(frozen=True, slots=True)
class PinEntered:
    """A PIN submitted with '#'; ``repr`` shows only its length."""

    pin: str = field(repr=False)

    def __repr__(self) -> str:
        return f"PinEntered(<{len(self.pin)} digits>)"


@dataclass(frozen=True, slots=True)
class PinCleared:
    """The patron pressed '*': start the PIN again."""


@dataclass(frozen=True, slots=True)
class ReaderFault:
    """A frame that could not be read; ``problem`` names why and never holds a number."""

    problem: str


@dataclass(frozen=True, slots=True)
class KeyPress:
    """One key from a Wiegand keypad ('0'-'9', '*', '#'), to be fed to a :class:`PinPadBuffer`."""

    key: str = field(repr=False)

    def __repr__(self) -> str:
        return "KeyPress(…)"


ReaderInput = CardRead | PinEntered | PinCleared | ReaderFault


def _non_printable(what: str, data: bytes) -> ReaderFault | None:
    for pos, byte in enumerate(data):
        if not 0x20 <= byte <= 0x7E:
            return ReaderFault(f"{what}: non-printable byte {byte:#04x} at position {pos}")
    return None


def parse_line(line: bytes) -> CardRead | ReaderFault:
    """One line from a barcode scanner (CR/LF optional) -> the card or CPR number on it.

    Ten digits that form a birth date are a CPR number: the barcode on the yellow health card.
    """
    data = line.rstrip(b"\r\n")
    fault = _non_printable("barcode", data)
    if fault:
        return fault
    if not data.strip():
        return ReaderFault("barcode: empty line")
    if len(data) > MAX_BARCODE_CHARS:
        return ReaderFault(f"barcode: {len(data)} characters, at most {MAX_BARCODE_CHARS}")
    return CardRead(Credential.from_text(data.decode("ascii")))


# --- magnetic stripe, ISO/IEC 7811-2 ---------------------------------------------------------
# (start sentinel, data characters allowed, most data characters, ASCII offset of the LRC)
_TRACK1 = ("%", frozenset(chr(c) for c in range(0x20, 0x60)) - {"%", "?"}, 76, 0x20)
_TRACK2 = (";", frozenset(chr(c) for c in range(0x30, 0x40)) - {";", "?"}, 37, 0x30)
_TRACK3 = (";", _TRACK2[1], 104, 0x30)
_STARTS = "%;"
_UNREAD = "E"  # readers send "%E?" or ";E?" for a track they could not decode


def _lrc(start: str, data: str, offset: int) -> str:
    """The longitudinal redundancy check: XOR of the characters' data bits, SS to ES."""
    return chr(offset + reduce(xor, (ord(c) - offset for c in f"{start}{data}?"), 0))


def _split_tracks(text: str) -> dict[int, str] | ReaderFault:
    """``"%…?;…?"`` -> ``{1: "…", 2: "…"}``, checking sentinels, characters and any LRC."""
    tracks: dict[int, str] = {}
    pos = 0
    while pos < len(text):
        if text[pos] == "%":
            number, (start, allowed, most, offset) = 1, _TRACK1
        elif text[pos] == ";":
            number = 3 if 2 in tracks else 2
            start, allowed, most, offset = _TRACK3 if number == 3 else _TRACK2
        else:
            return ReaderFault(f"magnetic stripe: no start sentinel at position {pos}")
        end = text.find("?", pos + 1)
        if end < 0:
            return ReaderFault(f"magnetic stripe: track {number} has no end sentinel")
        data = text[pos + 1 : end]
        if data != _UNREAD and any(c not in allowed for c in data):
            return ReaderFault(f"magnetic stripe: track {number} has a character outside ISO 7811")
        if len(data) > most:
            return ReaderFault(f"magnetic stripe: track {number} is longer than {most} characters")
        pos = end + 1
        if _lrc_follows(text, pos):
            if text[pos] != _lrc(start, data, offset):
                return ReaderFault(f"magnetic stripe: track {number} fails its LRC check")
            pos += 1
        tracks[number] = data
    return tracks


def _lrc_follows(text: str, pos: int) -> bool:
    """Whether the character after an end sentinel is an LRC rather than the next track.

    Readers pass the LRC on or drop it, by configuration. An LRC can itself be '%' or ';', so a
    start sentinel counts as the next track only when track data (not the end) comes after it.
    """
    if pos >= len(text):
        return False
    return text[pos] not in _STARTS or pos + 1 == len(text) or text[pos + 1] in _STARTS


def _is_health_card(track2: str) -> bool:
    return len(track2) == 37 and track2.isdigit() and track2[1:4] == "208"


def parse_magstripe(line: bytes) -> CardRead | ReaderFault:
    """One swipe (tracks 1-3 as sent by the reader, CR/LF optional) -> the card or CPR number.

    The Danish health card (sundhedskort) carries no ISO account number. Its track 2 is 37
    digits: card type (1), country 208 (3), use (1), issuer (3), CPR number (10), insurance
    group (1), GP provider number (6), region (3), municipality (3), valid from DDMMYY (6);
    track 1 holds name and address only. (Layout: github.com/dauer/sygesikringskort, after
    Jacob Kjer on dk.teknik.elektronik.) Other cards: the track 2 number before '=', else the
    track 1 format-B account number; a ten-digit birth date there is taken as a CPR number.
    """
    data = line.rstrip(b"\r\n")
    fault = _non_printable("magnetic stripe", data)
    if fault:
        return fault
    if not data:
        return ReaderFault("magnetic stripe: empty swipe")
    tracks = _split_tracks(data.decode("ascii"))
    if isinstance(tracks, ReaderFault):
        return tracks
    track2 = tracks.get(2, _UNREAD)
    if _is_health_card(track2):
        cpr = track2[8:18]
        if not is_cpr(cpr):
            return ReaderFault("magnetic stripe: the health card's CPR field is not a CPR number")
        return CardRead(Credential(CredentialKind.CPR, cpr))
    number = track2.split("=", 1)[0] if track2 != _UNREAD else _track1_number(tracks.get(1))
    if not number:
        return ReaderFault("magnetic stripe: no card number on track 2 or track 1")
    if not number.isdigit():
        return ReaderFault("magnetic stripe: the card number is not all digits")
    return CardRead(Credential.from_text(number))


def _track1_number(track1: str | None) -> str:
    """The account number of an ISO format-B track 1 (``B<number>^NAME^…``), else empty."""
    if track1 is None or not track1.startswith("B") or "^" not in track1:
        return ""
    return track1[1:].split("^", 1)[0].replace(" ", "")


# --- EM4100 (RDM6300 and alike) -----------------------------------------------------------------
_HEX = frozenset(b"0123456789abcdefABCDEF")


def parse_em4100(payload: bytes) -> CardRead | ReaderFault:
    """The 12 characters between STX and ETX of an RDM6300 frame -> the tag's card number.

    Payload: 10 ASCII hex digits (version byte + 4 data bytes) and 2 of checksum, the XOR of
    those 5 bytes. The number is the 32 data bits as 10 decimal digits, zero-padded, as printed
    on most tags (``0012345678``); the version byte is dropped. A tag is never a CPR number,
    even when its digits happen to form a date.
    """
    if len(payload) != EM4100_PAYLOAD_CHARS:
        return ReaderFault(f"EM4100: frame of {len(payload)} characters, expected 12")
    if any(byte not in _HEX for byte in payload):
        return ReaderFault("EM4100: frame holds a character that is not a hex digit")
    raw = bytes.fromhex(payload.decode("ascii"))
    if reduce(xor, raw[:5]) != raw[5]:
        return ReaderFault("EM4100: checksum mismatch")
    number = int.from_bytes(raw[1:5], "big")
    return CardRead(Credential(CredentialKind.CARD, f"{number:010d}"))


# --- PIN pads ---------------------------------------------------------------------------------
# A pause this long between PIN keys forgets the digits typed so far (``[doors] pin_timeout_s``).
PIN_TIMEOUT_S = 10.0


# The longest entry the pad's language has: a CPR number typed with its prefix
# (services.core.pad_entry); PINs and codes are at most 8 digits.
PAD_MAX_DIGITS = 16


class PinPadBuffer:
    """Collects PIN digits: '0'-'9' add, '#' submits, '*' clears; a long pause forgets them."""

    def __init__(self, timeout_s: float, max_len: int = PAD_MAX_DIGITS) -> None:
        if timeout_s <= 0:
            raise ValueError(f"PIN timeout must be positive, got {timeout_s}")
        if max_len < 1:
            raise ValueError(f"PIN max_len must be at least 1, got {max_len}")
        self._timeout_s = timeout_s
        self._max_len = max_len
        self._digits: list[str] = []
        self._last_key_at: float | None = None

    @property
    def pending(self) -> int:
        """How many digits have been entered so far (for a row of asterisks)."""
        return len(self._digits)

    def clear(self) -> None:
        """Forget the digits typed so far: a card was presented, and its PIN starts now."""
        self._digits.clear()

    def feed(self, key: str, now: float) -> PinEntered | PinCleared | ReaderFault | None:
        """Take one key pressed at ``now`` (seconds, monotonic); the result, if the key ends one."""
        if self._last_key_at is not None and now - self._last_key_at > self._timeout_s:
            # the patron walked away mid-entry: the next person must not inherit the digits
            self._digits.clear()
        self._last_key_at = now
        if key == "*":
            self._digits.clear()
            return PinCleared()
        if key == "#":
            pin, self._digits = "".join(self._digits), []
            return PinEntered(pin) if pin else None
        if key in PIN_KEYS:  # single characters only, so "12" is not a key
            if len(self._digits) >= self._max_len:
                self._digits.clear()
                return ReaderFault(f"PIN pad: more than {self._max_len} digits; entry discarded")
            self._digits.append(key)
            return None
        if len(key) != 1:
            return ReaderFault(f"PIN pad: a key is one character, got {len(key)}")
        return ReaderFault(f"PIN pad: unexpected key {key!a}")


# --- Wiegand --------------------------------------------------------------------------------
_KEYPAD = "0123456789*#"


def _value(bits: Sequence[int]) -> int:
    return reduce(lambda acc, bit: acc << 1 | bit, bits, 0)


def _key(code: int) -> KeyPress | ReaderFault:
    if code < len(_KEYPAD):
        return KeyPress(_KEYPAD[code])
    return ReaderFault(f"Wiegand: keypad code {code} is not a key")


def _parity_ok(bits: Sequence[int]) -> bool:
    """Leading even parity over the first half, trailing odd parity over the second half."""
    half = len(bits) // 2
    return sum(bits[:half]) % 2 == 0 and sum(bits[half:]) % 2 == 1


def decode_wiegand(bits: Sequence[int]) -> CardRead | KeyPress | ReaderFault:
    """One Wiegand frame (bits in arrival order) -> a card, a keypad key, or a fault.

    26 bits: even parity, facility code (8), card number (16), odd parity. The credential is
    the 24 data bits as one decimal number, 8 digits zero-padded (facility * 65536 + card).
    34 bits: even parity, 32 data bits, odd parity; 10 digits zero-padded, the same number an
    RDM6300 reports for that EM4100 tag. Keypads (HID style): 4 bits = the key code;
    8 bits = the complement of the key code, then the key code (the 8-bit burst of the
    monkeyboard Wiegand library: key 1 is 1110 0001). Codes 0-9 are digits, 10 '*', 11 '#'.
    """
    if any(bit not in (0, 1) for bit in bits):
        return ReaderFault("Wiegand: a bit is neither 0 nor 1")
    if len(bits) == 4:
        return _key(_value(bits))
    if len(bits) == 8:
        check, code = _value(bits[:4]), _value(bits[4:])
        if check != code ^ 0xF:
            return ReaderFault("Wiegand: 8-bit key fails its complement check")
        return _key(code)
    if len(bits) in (26, 34):
        if not _parity_ok(bits):
            return ReaderFault(f"Wiegand: {len(bits)}-bit frame fails its parity check")
        width = 8 if len(bits) == 26 else 10
        number = f"{_value(bits[1:-1]):0{width}d}"
        return CardRead(Credential(CredentialKind.CARD, number))
    return ReaderFault(f"Wiegand: {len(bits)} bits, expected 4, 8, 26 or 34")
