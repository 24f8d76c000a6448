"""One ISO 2709 record from its bytes: leader, directory and fields, decoded in the right encoding.

Written here rather than taken from ``pymarc.Record`` for two reasons. The encoding is chosen
per record from what its bytes show (``encoding.py``), not from leader/09 alone: DBC's danMARC2
files are ISO-8859-1 with leader/09 blank, which pymarc reads as MARC-8 and garbles. And the
catalogue needs only tags and subfield strings, which this reads about four times faster than
pymarc builds its objects, so large catalogues import at the speed of the CSV path.

A field is kept as one string: control data, or the indicators followed by ``\\x1f``-separated
subfields, as in the file; ``marc.Fields`` splits it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import accumulate

from services.catalogue.encoding import decode_fields
from services.store.catalogue import RecordError

RECORD_TERMINATOR = b"\x1d"
FIELD_TERMINATOR = b"\x1e"
LEADER_LENGTH = 24
_ENTRY = re.compile(rb"(...)([0-9]{4})([0-9]{5})", re.DOTALL)
_TAG = re.compile(rb"(...).{9}", re.DOTALL)
_WRITTEN = b"%b%04d%05d"  # a directory entry: tag, length, offset


@dataclass(frozen=True)
class RawRecord:
    """A record's leader and its (tag, data) fields in file order, and what reading it noticed."""

    leader: str
    fields: tuple[tuple[str, str], ...]
    warnings: tuple[str, ...] = ()


def _directory(chunk: bytes) -> tuple[int, list[tuple[str, int, int]]]:
    if not chunk[:5].isdigit():
        raise RecordError(f"the leader does not start with a record length: {chunk[:5]!r}")
    base_text = chunk[12:17]
    if not base_text.isdigit() or not LEADER_LENGTH < int(base_text) < len(chunk):
        raise RecordError(f"the leader's base address {base_text!r} is not inside the record")
    base = int(base_text)
    directory = chunk[LEADER_LENGTH : base - 1]
    if len(directory) % 12 or chunk[base - 1 : base] != FIELD_TERMINATOR:
        raise RecordError("the directory is not a whole number of 12-byte entries")
    # One regex over the whole directory instead of a Python loop per entry; a count short of
    # the entries means one of them is not a tag, length and offset.
    entries = [(tag.decode("ascii", "replace"), int(length), int(offset))
               for tag, length, offset in _ENTRY.findall(directory)]  # fmt: skip
    if len(entries) * 12 != len(directory):
        bad = next(
            directory[n : n + 12]
            for n in range(0, len(directory), 12)
            if not _ENTRY.fullmatch(directory[n : n + 12])
        )
        raise RecordError(f"directory entry {bad!r} is not a tag, length and offset")
    return base, entries


def _as_written(chunk: bytes) -> list[tuple[str, bytes]] | None:
    """The fields of a record laid out as writers lay it out, else None.

    That is the fields back to back in directory order, each ended by 0x1E and none holding
    one, and the leader's length right: the body split on 0x1E is then the fields, and the
    directory is checked by writing it again from their lengths (a few calls into C instead
    of a Python loop per entry). Anything else is read entry by entry by ``_by_directory``.
    """
    base_text = chunk[12:17]
    if not (base_text.isdigit() and chunk[:5].isdigit() and int(chunk[:5]) == len(chunk)):
        return None
    base = int(base_text)
    if not LEADER_LENGTH < base < len(chunk) or chunk[base - 1 : base] != FIELD_TERMINATOR:
        return None
    directory = chunk[LEADER_LENGTH : base - 1]
    values = chunk[base:-1].split(FIELD_TERMINATOR)
    if values.pop() or not values or len(values) * 12 != len(directory):
        return None
    tags = _TAG.findall(directory)
    lengths = [len(value) + 1 for value in values]
    entries = zip(tags, lengths, accumulate(lengths[:-1], initial=0), strict=True)
    if b"".join(map(_WRITTEN.__mod__, entries)) != directory:
        return None
    names = b" ".join(tags).decode("ascii", "replace").split(" ") if directory.isascii() else None
    if names is None or len(names) != len(values):
        names = [tag.decode("ascii", "replace") for tag in tags]
    return list(zip(names, values, strict=True))


def _by_directory(chunk: bytes) -> tuple[list[tuple[str, bytes]], list[str]]:
    base, entries = _directory(chunk)
    body_end = len(chunk) - 1
    raw: list[tuple[str, bytes]] = []
    end = base
    for tag, length, offset in entries:
        start, stop = base + offset, base + offset + length
        if stop > body_end:
            raise RecordError(f"field {tag} runs past the end of the record")
        raw.append((tag, chunk[start : stop - 1]))
        end = max(end, stop)
    warnings: list[str] = []
    stated = int(chunk[:5])
    if stated != len(chunk):
        if end != body_end:
            raise RecordError(f"the leader gives {stated} bytes, the record has {len(chunk)}")
        warnings.append(
            f"the leader gives {stated} bytes, the record has {len(chunk)}; read by its directory"
        )
    return raw, warnings


def parse_record(chunk: bytes, encoding: str | None = None) -> RawRecord:
    """The record in ``chunk`` (ending in 0x1D); ``RecordError`` says what is broken.

    A leader whose length is wrong while the directory accounts for every byte is only a
    warning: a character set conversion changes the byte count and some tools do not fix the
    leader, yet the record reads safely by its directory.
    """
    if not chunk.endswith(RECORD_TERMINATOR):
        raise RecordError("the file ends inside this record (no record terminator)")
    raw = _as_written(chunk)
    warnings: list[str] = []
    if raw is None:
        raw, warnings = _by_directory(chunk)
    leader = chunk[:LEADER_LENGTH].decode("ascii", "replace")
    fields, notes = decode_fields(leader, raw, encoding)
    return RawRecord(leader, fields, (*warnings, *notes))
