"""Which character set a MARC record is in, decided from its bytes, and its fields decoded.

The rules, in order (``encoding`` given: that one, no guessing):

1. Only ASCII, or valid UTF-8: UTF-8. (Non-ASCII Latin-1 or MARC-8 text is almost never
   valid UTF-8 by accident.)
2. Leader/09 ``a`` but not UTF-8: the record is broken (``RecordError``).
3. An escape (0x1B) anywhere: MARC-8, whose escapes select its other character sets.
4. danMARC2 (001 with subfields): ISO-8859-1, the format's character set unless declared.
5. MARC21 with leader/09 blank: MARC-8 as the leader says, if every diacritic it yields sits on
   a letter it composes with (MARC-8 writes the accent before its letter: 0xE2 "e" is "é");
   otherwise ISO-8859-1, with a warning that the decoding was a guess. Danish read as MARC-8
   gives "Mr̜k" (an accent on "r"), which no language writes.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from pymarc.marc8 import MARC8ToUnicode

from services.store.catalogue import ImportFailed, RecordError

ENCODINGS = {"utf-8": "utf-8", "utf8": "utf-8", "latin-1": "iso8859-1", "latin1": "iso8859-1",
             "iso-8859-1": "iso8859-1", "iso8859-1": "iso8859-1", "marc-8": "marc-8",
             "marc8": "marc-8"}  # fmt: skip
_MARC8 = MARC8ToUnicode(quiet=True)
GUESSED = (
    "leader/09 says MARC-8, but the text reads as ISO-8859-1 and was decoded so "
    "(choose with --encoding)"
)


def codec_name(encoding: str) -> str:
    """The codec of an ``--encoding`` value; ``ImportFailed`` names the ones known."""
    try:
        return ENCODINGS[encoding.casefold()]
    except KeyError:
        raise ImportFailed(
            f"unknown encoding {encoding!r} (use utf-8, latin-1 or marc-8)"
        ) from None


def _decode(data: bytes, codec: str) -> str:
    if codec == "marc-8":
        parts = (_MARC8.translate(part) for part in data.split(b"\x1f"))  # type: ignore[no-untyped-call]
        return "\x1f".join(parts)
    return data.decode(codec)


def _decode_all(
    raw: Sequence[tuple[str, bytes]], codec: str, body: bytes
) -> tuple[tuple[str, str], ...]:
    if codec != "marc-8":
        # One decode for the whole record rather than one per field. 0x1E ends a field and
        # is never part of a multi-byte character; a field that holds one anyway (the
        # directory says so) is caught by the count and decoded by itself.
        texts = body.decode(codec).split("\x1e")
        if len(texts) == len(raw):
            return tuple(zip([tag for tag, _ in raw], texts, strict=True))
    return tuple((tag, _decode(value, codec)) for tag, value in raw)


def _plausible_marc8(texts: Sequence[str]) -> bool:
    for text in texts:
        composed = unicodedata.normalize("NFC", text)
        if any(unicodedata.combining(c) for c in composed) or "\ufffd" in composed:
            return False
    return True


def _choose(leader: str, raw: Sequence[tuple[str, bytes]], data: bytes) -> tuple[str, str | None]:
    if data.isascii():
        return "ascii", None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return "utf-8", None
    if leader[9:10] == "a":
        raise RecordError("the leader says UTF-8 but the record is not UTF-8")
    if b"\x1b" in data:
        return "marc-8", None
    if any(tag == "001" and b"\x1f" in value for tag, value in raw):
        return "iso8859-1", None
    try:
        as_marc8 = [_decode(value, "marc-8") for _, value in raw]
    except (UnicodeDecodeError, KeyError, IndexError):
        return "iso8859-1", GUESSED
    return ("marc-8", None) if _plausible_marc8(as_marc8) else ("iso8859-1", GUESSED)


def decode_fields(
    leader: str, raw: Sequence[tuple[str, bytes]], encoding: str | None
) -> tuple[tuple[tuple[str, str], ...], tuple[str, ...]]:
    """(tag, text) for each raw field, and the warnings the decoding gave (a guess, a repair)."""
    # The fields as the file has them, each but the last ended by 0x1E: what is checked and
    # decoded, in one piece.
    body = b"\x1e".join([value for _, value in raw])
    codec, note = (codec_name(encoding), None) if encoding else _choose(leader, raw, body)
    try:
        fields = _decode_all(raw, codec, body)
    except UnicodeDecodeError as exc:
        # Only an override can get here: keep the record, mark what could not be read.
        fields = tuple((tag, value.decode(codec, "replace")) for tag, value in raw)
        note = f"not valid {encoding} at byte {exc.start} of a field; characters replaced"
    if codec == "marc-8":
        fields = tuple((tag, unicodedata.normalize("NFC", text)) for tag, text in fields)
    return fields, (note,) if note else ()
