"""The SIP2 requests aabent sends, as values. Pure: the clock comes in as ``now``.

Each builder names the SIP2 spec message it implements. A :class:`Request` knows the reply command
it expects and whether sending it twice is harmless, so the client may resend a read after a lost
connection but never a renewal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum, StrEnum

from services.sip2.messages import Message, encode, sip_datetime
from services.sip2.replies import split_identifier

PROTOCOL_VERSION = "2.00"
DANISH = "009"  # SIP2 spec, language codes: 009 Danish (000 unknown, 001 English)


@dataclass(frozen=True, slots=True)
class Terminal:
    """Who is asking: the institution (AO), terminal password (AC) and language of this device."""

    institution_id: str
    terminal_password: str | None = None  # AC; None leaves it out where the spec allows
    language: str = DANISH


@dataclass(frozen=True, slots=True)
class Request:
    """One request: command, fixed and identified fields, the reply it expects."""

    command: str
    reply: str
    fixed: tuple[tuple[str, str], ...]
    fields: tuple[tuple[str, str | None], ...] = ()
    idempotent: bool = True

    def frame(self, *, charset: str, sequence: int | None) -> bytes:
        """The wire frame, with the AY/AZ trailer when ``sequence`` is given."""
        return encode(self.command, self.fixed, self.fields, charset=charset, sequence=sequence)

    def mismatch(self, reply: Message) -> str | None:
        """Why ``reply`` does not answer this request, or None when it does.

        It must be the reply message this request expects and, where the SIP2 spec makes the
        reply repeat them, name the same patron (AA) and item (AB): 24, 64, 30, 36 and 16 carry AA,
        18 and 30 carry AB. FBS's ``LN:`` prefix is not part of the identifier; case and
        surrounding spaces do not count. A reply that leaves such a field out is not believed.
        """
        if reply.command != self.reply:
            return f"expected a {self.reply} reply, got {reply.command}"
        asked = {fid: value for fid, value in self.fields if value is not None}
        for fid in ECHOED.get(self.reply, ()):
            if fid not in asked:
                continue
            got = reply.first(fid)
            if got is None:
                return f"the {self.reply} reply leaves out {fid}"
            if _same_id(split_identifier(got)[1]) != _same_id(asked[fid]):
                return f"the {self.reply} reply is about another {_WHAT[fid]} ({fid})"
        return None


# Identifiers the reply repeats from its request (SIP2 spec, the response messages' fields).
ECHOED: dict[str, tuple[str, ...]] = {
    "24": ("AA",),
    "64": ("AA",),
    "18": ("AB",),
    "30": ("AA", "AB"),
    "36": ("AA",),
    "16": ("AA",),
}
_WHAT = {"AA": "patron", "AB": "item"}


def _same_id(value: str) -> str:
    return value.strip().casefold()


class Summary(IntEnum):
    """Position of the one ``Y`` in the 63 summary field: which item list to send back.

    SIP2 spec, Patron Information: only one detail list per request.
    """

    HOLD_ITEMS = 0  # available holds (ready for pickup): AS
    OVERDUE_ITEMS = 1  # AT
    CHARGED_ITEMS = 2  # AU
    FINE_ITEMS = 3  # AV
    RECALL_ITEMS = 4  # BU
    UNAVAILABLE_HOLDS = 5  # CD


def login(user: str, password: str, location_code: str = "") -> Request:
    """93 Login: UID and password algorithms 0 (clear text), CN user, CO password, CP location."""
    return Request(
        "93",
        "94",
        (("uid_algorithm", "0"), ("pwd_algorithm", "0")),
        (("CN", user), ("CO", password), ("CP", location_code or None)),
    )


def sc_status(protocol_version: str = PROTOCOL_VERSION, max_print_width: int = 0) -> Request:
    """99 SC Status: status 0 (SC unit OK), printer width (none: 000), our protocol version."""
    return Request(
        "99",
        "98",
        (
            ("status_code", "0"),
            ("max_print_width", f"{max_print_width:03d}"),
            ("protocol_version", protocol_version),
        ),
    )


def request_acs_resend() -> Request:
    """97 Request ACS Resend: ask the ACS to send its last message again (``97AZFEF5``)."""
    return Request("97", "", ())


def patron_status(terminal: Terminal, patron: str, pin: str | None, now: datetime) -> Request:
    """23 Patron Status Request: AO, AA patron, AC and AD are all required (AD may be empty)."""
    return Request(
        "23",
        "24",
        (("language", terminal.language), ("transaction_date", sip_datetime(now))),
        (
            ("AO", terminal.institution_id),
            ("AA", patron),
            ("AC", terminal.terminal_password or ""),
            ("AD", pin or ""),
        ),
    )


def patron_information(
    terminal: Terminal,
    patron: str,
    pin: str | None,
    now: datetime,
    summary: Summary | None = None,
    window: tuple[int, int] | None = None,
) -> Request:
    """63 Patron Information: status, counts and, with ``summary``, one list of items.

    ``window`` is the BP start item / BQ end item range of that list (1-based); without it the
    library system sends its default, which for Koha, Evergreen and FBS is the whole list.
    AD is left out when no PIN was given, so the ACS does not judge an empty password.
    """
    flags = [" "] * 10
    if summary is not None:
        flags[summary] = "Y"
    start, end = (f"{window[0]:05d}", f"{window[1]:05d}") if window else (None, None)
    return Request(
        "63",
        "64",
        (
            ("language", terminal.language),
            ("transaction_date", sip_datetime(now)),
            ("summary", "".join(flags)),
        ),
        (
            ("AO", terminal.institution_id),
            ("AA", patron),
            ("AC", terminal.terminal_password),
            ("AD", pin),
            ("BP", start),
            ("BQ", end),
        ),
    )


def item_information(terminal: Terminal, item: str, now: datetime) -> Request:
    """17 Item Information: title, circulation status and due date of one item."""
    return Request(
        "17",
        "18",
        (("transaction_date", sip_datetime(now)),),
        (("AO", terminal.institution_id), ("AB", item), ("AC", terminal.terminal_password)),
    )


def renew(terminal: Terminal, patron: str, pin: str | None, item: str, now: datetime) -> Request:
    """29 Renew one item. Not idempotent: a lost reply is reported, never resent blindly.

    third party allowed N, no block N; the nb due date is required by layout but only read by the
    ACS when no block is Y, so it carries the transaction date as many clients do.
    """
    stamp = sip_datetime(now)
    return Request(
        "29",
        "30",
        (
            ("third_party_allowed", "N"),
            ("no_block", "N"),
            ("transaction_date", stamp),
            ("nb_due_date", stamp),
        ),
        (
            ("AO", terminal.institution_id),
            ("AA", patron),
            ("AD", pin),
            ("AB", item),
            ("AC", terminal.terminal_password),
        ),
        idempotent=False,
    )


def renew_all(terminal: Terminal, patron: str, pin: str | None, now: datetime) -> Request:
    """65 Renew All of a patron's loans. Not idempotent."""
    return Request(
        "65",
        "66",
        (("transaction_date", sip_datetime(now)),),
        (
            ("AO", terminal.institution_id),
            ("AA", patron),
            ("AD", pin),
            ("AC", terminal.terminal_password),
        ),
        idempotent=False,
    )


class HoldMode(StrEnum):
    """The 15 Hold mode (SIP2 spec): add, delete, or change a hold."""

    ADD = "+"
    DELETE = "-"
    CHANGE = "*"


def hold(
    terminal: Terminal,
    patron: str,
    pin: str | None,
    mode: HoldMode,
    now: datetime,
    *,
    item: str | None = None,
    title: str | None = None,
) -> Request:
    """15 Hold: place (``+``) or cancel (``-``) a hold on an item (AB) or a title (AJ).

    Not idempotent: a second ``+`` is a second place in some queues, so a lost reply is reported,
    never resent. BY hold type 2 (any copy of the title) where a title is named, as the spec says.
    """
    if item is None and title is None:
        raise ValueError("a hold names an item or a title")
    return Request(
        "15",
        "16",
        (("hold_mode", str(mode)), ("transaction_date", sip_datetime(now))),
        (
            ("BY", "2" if title is not None and item is None else None),
            ("AO", terminal.institution_id),
            ("AA", patron),
            ("AD", pin),
            ("AB", item),
            ("AJ", title),
            ("AC", terminal.terminal_password),
        ),
        idempotent=False,
    )


def end_patron_session(terminal: Terminal, patron: str, pin: str | None, now: datetime) -> Request:
    """35 End Patron Session: the kiosk is done with this patron."""
    return Request(
        "35",
        "36",
        (("transaction_date", sip_datetime(now)),),
        (
            ("AO", terminal.institution_id),
            ("AA", patron),
            ("AC", terminal.terminal_password),
            ("AD", pin),
        ),
    )
