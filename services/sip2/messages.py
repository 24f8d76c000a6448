"""SIP2 frames: encode, decode, checksum. Pure: bytes in, values out, no I/O.

Source: 3M Standard Interchange Protocol v2.00 (the "SIP2 spec"). A frame is a two-digit command,
its fixed-length fields, then variable-length fields ``XXvalue|`` (two-letter id, value, ``|``),
optionally the error-detection trailer ``AY<seq>AZ<checksum>`` and a carriage return.

Parsing is tolerant on purpose, because library systems differ: identified fields may come in any
order, fields this module does not know (vendor extensions such as ``PB`` birth date) are kept in
wire order rather than rejected, a missing final ``|`` or a trailing line feed is accepted, and the
character set is a parameter (UTF-8, latin-1, cp850). What is *not* tolerated is a checksum that
does not verify: that is the one thing error detection exists to catch.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

CR = b"\r"
DELIMITER = "|"
MAX_FRAME = 64 * 1024  # no real reply comes near this; a longer run without CR is garbage

# Fixed-length fields of each message aabent sends or reads, in wire order (SIP2 spec, one
# section per message). Widths are in characters.
_DATE = ("transaction_date", 18)
FIXED: dict[str, tuple[tuple[str, int], ...]] = {
    "93": (("uid_algorithm", 1), ("pwd_algorithm", 1)),
    "94": (("ok", 1),),
    "99": (("status_code", 1), ("max_print_width", 3), ("protocol_version", 4)),
    "98": (
        ("online_status", 1),
        ("checkin_ok", 1),
        ("checkout_ok", 1),
        ("acs_renewal_policy", 1),
        ("status_update_ok", 1),
        ("offline_ok", 1),
        ("timeout_period", 3),
        ("retries_allowed", 3),
        ("date_time_sync", 18),
        ("protocol_version", 4),
    ),
    "97": (),
    "96": (),
    "23": (("language", 3), _DATE),
    "24": (("patron_status", 14), ("language", 3), _DATE),
    "63": (("language", 3), _DATE, ("summary", 10)),
    "64": (
        ("patron_status", 14),
        ("language", 3),
        _DATE,
        ("hold_items_count", 4),
        ("overdue_items_count", 4),
        ("charged_items_count", 4),
        ("fine_items_count", 4),
        ("recall_items_count", 4),
        ("unavailable_holds_count", 4),
    ),
    "17": (_DATE,),
    "18": (("circulation_status", 2), ("security_marker", 2), ("fee_type", 2), _DATE),
    "29": (("third_party_allowed", 1), ("no_block", 1), _DATE, ("nb_due_date", 18)),
    "30": (("ok", 1), ("renewal_ok", 1), ("magnetic_media", 1), ("desensitize", 1), _DATE),
    "65": (_DATE,),
    "66": (("ok", 1), ("renewed_count", 4), ("unrenewed_count", 4), _DATE),
    "35": (_DATE,),
    "36": (("end_session", 1), _DATE),
    "15": (("hold_mode", 1), _DATE),
    "16": (("ok", 1), ("available", 1), _DATE),
}

# Values that identify or authenticate a person: masked in every log line (README.md, "Privacy").
# AA patron identifier (card or CPR number), AD patron password (PIN), AC terminal password,
# CO login password, AE personal name, BD/BE/BF address/e-mail/phone, PB birth date.
SENSITIVE = frozenset({"AA", "AD", "AC", "CO", "AE", "BD", "BE", "BF", "PB"})

_TRAILER = re.compile(rb"(?:AY(\d))?AZ([0-9A-Fa-f]{4})$")
_FRAME_START = re.compile(rb"[\r\n]*\d\d")
LF = b"\n"


def has_trailer(frame: bytes) -> bool:
    """True if ``frame`` (its CR or CR LF included or not) ends in the ``AY<n>AZ<xxxx>`` trailer."""
    return _TRAILER.search(frame.rstrip(b"\r\n")) is not None


def frame_end(data: bytes | bytearray, *, trailer: bool) -> int | None:
    """Where the first frame in ``data`` ends (past its CR and an LF right behind it), or None.

    The SIP2 spec ends every message with a CR and has no way to quote one inside a field, yet
    library systems pass staff notes with a raw CR LF through into screen messages (AF). So a CR
    ends the frame only where the frame says it may end:

    - with error detection (``trailer``), a CR ends a frame only right after ``AY<n>AZ<xxxx>``;
      any other CR is inside a field, and reading goes on to the trailer;
    - without it, a CR ends a frame unless bytes already received right behind it (after an
      optional LF) do not begin a frame (two digits): then it was inside a field. A tail that
      arrives later cannot be told from a new frame here; the client never believes it, because
      it does not answer the request.

    Bytes that do not begin like a frame (garbage, an HTML error page) end at their first CR, so
    they are reported rather than waited on.
    """
    start = 0
    while True:
        cr = data.find(CR, start)
        if cr < 0:
            return None
        end = cr + 1
        if data[end : end + 1] == LF:
            end += 1
        head = bytes(data[:cr])
        if not _FRAME_START.match(head):
            return end
        if trailer:
            if _TRAILER.search(head):
                return end
        elif _may_begin_frame(bytes(data[end : end + 8])):
            return end
        start = cr + 1


def _may_begin_frame(rest: bytes) -> bool:
    rest = rest.lstrip(b"\r\n")
    return not rest or rest[:2].isdigit() or (len(rest) == 1 and rest.isdigit())


class FrameError(ValueError):
    """Bytes that are not a usable SIP2 frame; the message names the field, never its value."""


class ChecksumError(FrameError):
    """A frame whose AZ checksum does not match its bytes (SIP2 spec, "Error Detection")."""


def checksum(data: bytes) -> str:
    """The AZ value: two's complement of the 16-bit sum of every byte up to and including "AZ".

    SIP2 spec, "Checksum": the binary sum of the characters from the first character of the
    message through the AZ field id, negated, as four upper-case hex digits.
    """
    return f"{-sum(data) & 0xFFFF:04X}"


def checksum_ok(frame: bytes) -> bool:
    """True if a frame (CR stripped) ending in ``AZxxxx`` sums to zero with its checksum."""
    if len(frame) < 6 or frame[-6:-4] != b"AZ":
        return False
    try:
        value = int(frame[-4:], 16)
    except ValueError:
        return False
    return (sum(frame[:-4]) + value) & 0xFFFF == 0


@dataclass(frozen=True, slots=True)
class Message:
    """One decoded frame: command, named fixed fields, and every identified field in wire order."""

    command: str
    fixed: Mapping[str, str] = field(default_factory=dict)
    fields: tuple[tuple[str, str], ...] = ()
    sequence: int | None = None
    checksum: str | None = None

    def first(self, field_id: str) -> str | None:
        """The first value of ``field_id``, or None if the frame does not carry it."""
        for fid, value in self.fields:
            if fid == field_id:
                return value
        return None

    def all(self, field_id: str) -> tuple[str, ...]:
        """Every value of a repeatable field (``AU`` charged items, ``AF`` screen messages…)."""
        return tuple(value for fid, value in self.fields if fid == field_id)

    def __repr__(self) -> str:
        shown = "".join(f"{fid}{mask_value(fid, v)}|" for fid, v in self.fields)
        return f"Message({self.command} {''.join(self.fixed.values())!r} {shown!r})"


def mask_value(field_id: str, value: str) -> str:
    """``value`` as it may appear in a log: sensitive fields keep at most their last two chars."""
    if field_id not in SENSITIVE or not value:
        return value
    if field_id == "AA" and len(value) > 6:
        return "****" + value[-2:]
    return "***"


def masked(frame: bytes, charset: str = "utf-8") -> str:
    """A frame for the log with card numbers, PINs and passwords masked (never log ``frame``)."""
    text = frame.decode(charset, errors="replace").rstrip("\r\n")
    return re.sub(
        r"(?<=[|\d\sYN])(A[ACDE]|B[DEF]|CO|PB)([^|]*)(?=\||$)",
        lambda m: m.group(1) + mask_value(m.group(1), m.group(2)),
        text,
    )


def encode(
    command: str,
    fixed: Sequence[tuple[str, str]],
    fields: Sequence[tuple[str, str | None]],
    *,
    charset: str,
    sequence: int | None = None,
) -> bytes:
    """One frame, CR included. ``None`` field values are left out; ``""`` is sent as ``XX|``.

    With ``sequence`` (0-9) the frame gets ``AY<sequence>AZ<checksum>``; the resend requests 96
    and 97 take ``sequence=-1`` for a bare ``AZ<checksum>`` (SIP2 spec, "Request ACS Resend").
    """
    layout = FIXED.get(command)
    if layout is None:
        raise FrameError(f"command {command!r}: no layout")
    if [name for name, _ in fixed] != [name for name, _ in layout]:
        raise FrameError(f"command {command}: fixed fields must be {[n for n, _ in layout]}")
    parts = [command]
    for (name, width), (_, value) in zip(layout, fixed, strict=True):
        if len(value) != width:
            raise FrameError(f"command {command}: {name} must be {width} characters")
        parts.append(value)
    for fid, maybe in fields:
        if maybe is None:
            continue
        value = maybe
        if DELIMITER in value or "\r" in value or "\n" in value:
            raise FrameError(f"command {command}: field {fid} contains a delimiter")
        parts.append(f"{fid}{value}{DELIMITER}")
    try:
        body = "".join(parts).encode(charset)
    except UnicodeEncodeError:
        raise FrameError(f"command {command}: a field cannot be written in {charset}") from None
    return _with_trailer(body, sequence) + CR


def _with_trailer(body: bytes, sequence: int | None) -> bytes:
    if sequence is None:
        return body
    if sequence == -1:
        head = body + b"AZ"
    elif 0 <= sequence <= 9:
        head = body + b"AY" + str(sequence).encode() + b"AZ"
    else:
        raise FrameError("sequence number must be a single digit")
    return head + checksum(head).encode("ascii")


def decode(frame: bytes, *, charset: str) -> Message:
    """Parse one frame (with or without its CR); raises :class:`FrameError` or ChecksumError."""
    body = frame.strip(b"\r\n")  # some systems end with CR LF, or lead with the last LF
    seq: int | None = None
    check: str | None = None
    trailer = _TRAILER.search(body)
    if trailer is not None and trailer.start() >= 2:  # the command comes first
        if not checksum_ok(body):
            raise ChecksumError("reply checksum does not verify")
        seq = int(trailer.group(1)) if trailer.group(1) is not None else None
        check = trailer.group(2).decode("ascii").upper()
        body = body[: trailer.start()]
    text = body.decode(charset, errors="replace")
    command = text[:2]
    if len(command) < 2 or not command.isdigit():
        raise FrameError("not a SIP2 frame: no two-digit command")
    layout = FIXED.get(command)
    if layout is None:
        raise FrameError(f"unknown command {command}")
    fixed, pos = _fixed_fields(command, layout, text)
    return Message(command, fixed, _identified(command, text[pos:]), seq, check)


def _fixed_fields(
    command: str, layout: tuple[tuple[str, int], ...], text: str
) -> tuple[dict[str, str], int]:
    fixed: dict[str, str] = {}
    pos = 2
    for name, width in layout:
        value = text[pos : pos + width]
        if len(value) != width or "|" in value:
            raise FrameError(f"command {command}: fixed field {name} is cut short")
        fixed[name] = value
        pos += width
    return fixed, pos


def _identified(command: str, rest: str) -> tuple[tuple[str, str], ...]:
    out: list[tuple[str, str]] = []
    for piece in rest.split(DELIMITER):
        if not piece:
            continue  # "||" or the empty tail after the last delimiter
        if len(piece) < 2 or not (piece[0].isalpha() and piece[0].isupper()):
            raise FrameError(f"command {command}: malformed field after {len(out)} fields")
        out.append((piece[:2], piece[2:]))
    return tuple(out)


def sip_datetime(moment: datetime) -> str:
    """``YYYYMMDDZZZZHHMMSS`` with ZZZZ blank: local time (SIP2 spec, "date and time" fields)."""
    return moment.strftime("%Y%m%d") + "    " + moment.strftime("%H%M%S")


_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")
_SIP_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})")


def parse_date(text: str | None) -> date | None:
    """The date in a due date or birth date field, or None if it is not one.

    The spec leaves the due date's format to the library system (SIP2 spec, AH); seen in the wild:
    ``YYYYMMDD    HHMMSS`` (Koha, Evergreen), ``YYYYMMDD`` (FBS) and ISO ``YYYY-MM-DD``.
    """
    if not text:
        return None
    text = text.strip()
    m = _ISO_DATE.match(text) or _SIP_DATE.match(text)
    if m is None:
        return None
    try:
        return date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        return None


def yes(value: str | None) -> bool | None:
    """A ``Y``/``N`` field as True/False; None when absent or anything else."""
    if value is None:
        return None
    value = value.strip().upper()
    return True if value == "Y" else False if value == "N" else None
