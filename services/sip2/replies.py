"""Typed views of the SIP2 replies aabent reads. Pure; every field name cites the SIP2 spec.

A view keeps what it does not understand: ``extensions`` holds the identified fields outside the
spec's table for that message (``PB`` birth date from Koha, Evergreen and FBS; ``PC`` patron
class; anything a vendor adds), so a caller can use them and nothing is lost.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from services.sip2.messages import FrameError, Message, parse_date, yes

# SIP2 spec, Patron Status Response: the 14 positions of the patron status field, "Y" = true.
PATRON_FLAGS = (
    "charge_privileges_denied",
    "renewal_privileges_denied",
    "recall_privileges_denied",
    "hold_privileges_denied",
    "card_reported_lost",
    "too_many_items_charged",
    "too_many_items_overdue",
    "too_many_renewals",
    "too_many_claims_of_items_returned",
    "too_many_items_lost",
    "excessive_outstanding_fines",
    "excessive_outstanding_fees",
    "recall_overdue",
    "too_many_items_billed",
)

# SIP2 spec, ACS Status: the BX supported-messages field, one Y/N per message in this order.
SUPPORTED_MESSAGES = (
    "patron status",
    "checkout",
    "checkin",
    "block patron",
    "SC/ACS status",
    "request SC/ACS resend",
    "login",
    "patron information",
    "end patron session",
    "fee paid",
    "item information",
    "item status update",
    "patron enable",
    "hold",
    "renew",
    "renew all",
)

# Fields the spec defines for the replies read here; the rest are vendor extensions.
# fmt: off
_SPEC_FIELDS = frozenset((
    "AA", "AB", "AE", "AF", "AG", "AH", "AJ", "AM", "AN", "AO", "AP", "AQ", "AS", "AT", "AU",
    "AV", "BD", "BE", "BF", "BG", "BH", "BK", "BL", "BM", "BN", "BR", "BS", "BT", "BU", "BV",
    "BW", "BX", "BY", "BZ",
    "CA", "CB", "CC", "CD", "CF", "CH", "CI", "CJ", "CK", "CM", "CQ",
))
# fmt: on
_ID_PREFIX = re.compile(r"^([A-Z]{2,4}):(.+)$")  # FBS answers AA "LN:0123456789"


def _expect(message: Message, command: str) -> None:
    if message.command != command:
        raise FrameError(f"expected a {command} reply, got {message.command}")


def _extensions(message: Message) -> tuple[tuple[str, str], ...]:
    return tuple((fid, v) for fid, v in message.fields if fid not in _SPEC_FIELDS)


def amount(text: str | None) -> Decimal | None:
    """A money field (BV fee amount, SIP2 spec: "a decimal number"): ``"45.50"``, ``"45,50"``
    or ``"-45.50"`` (some systems sign what is owed); None when absent, blank or not a number."""
    if not text or not text.strip():
        return None
    try:
        value = Decimal(text.strip().replace(",", "."))
    except InvalidOperation:
        return None
    return abs(value) if value.is_finite() else None


def split_identifier(value: str) -> tuple[str | None, str]:
    """``"LN:0123"`` -> ``("LN", "0123")``; a plain identifier has no prefix."""
    m = _ID_PREFIX.match(value)
    return (m[1], m[2]) if m else (None, value)


@dataclass(frozen=True, slots=True)
class AcsStatus:
    """98 ACS Status: what the library system says it is and supports."""

    online: bool
    checkin_ok: bool
    checkout_ok: bool
    renewal_policy: bool
    offline_ok: bool
    timeout_period: str
    retries_allowed: str
    protocol_version: str
    institution_id: str
    library_name: str | None
    supported: tuple[str, ...]
    screen_messages: tuple[str, ...]
    extensions: tuple[tuple[str, str], ...]

    @classmethod
    def from_message(cls, message: Message) -> AcsStatus:
        """Read a decoded 98."""
        _expect(message, "98")
        f = message.fixed
        bx = message.first("BX") or ""
        return cls(
            online=f["online_status"] == "Y",
            checkin_ok=f["checkin_ok"] == "Y",
            checkout_ok=f["checkout_ok"] == "Y",
            renewal_policy=f["acs_renewal_policy"] == "Y",
            offline_ok=f["offline_ok"] == "Y",
            timeout_period=f["timeout_period"],
            retries_allowed=f["retries_allowed"],
            protocol_version=f["protocol_version"],
            institution_id=message.first("AO") or "",
            library_name=message.first("AM"),
            supported=tuple(n for n, c in zip(SUPPORTED_MESSAGES, bx, strict=False) if c == "Y"),
            screen_messages=message.all("AF"),
            extensions=_extensions(message),
        )


@dataclass(frozen=True, slots=True)
class PatronReply:
    """24 Patron Status or 64 Patron Information: who the patron is and may do.

    ``valid_patron`` (BL) and ``valid_password`` (CQ) are None when the reply leaves them out;
    callers must treat that as "no", never as "yes".
    """

    flags: frozenset[str]
    identifier_prefix: str | None
    personal_name: str
    valid_patron: bool | None
    valid_password: bool | None
    birth_date: date | None
    hold_items: tuple[str, ...] = ()
    overdue_items: tuple[str, ...] = ()
    charged_items: tuple[str, ...] = ()
    unavailable_holds: tuple[str, ...] = ()
    fine_items: tuple[str, ...] = ()
    fee_amount: Decimal | None = None
    currency: str = ""
    screen_messages: tuple[str, ...] = ()
    extensions: tuple[tuple[str, str], ...] = ()
    email: str = ""  # BE, where the library system has an address

    @classmethod
    def from_message(cls, message: Message) -> PatronReply:
        """Read a decoded 24 or 64."""
        if message.command not in ("24", "64"):
            raise FrameError(f"expected a 24 or 64 reply, got {message.command}")
        status = message.fixed["patron_status"]
        prefix, _ = split_identifier(message.first("AA") or "")
        return cls(
            flags=frozenset(n for n, c in zip(PATRON_FLAGS, status, strict=True) if c == "Y"),
            identifier_prefix=prefix,
            personal_name=message.first("AE") or "",
            valid_patron=yes(message.first("BL")),
            valid_password=yes(message.first("CQ")),
            # PB is the birth date extension (Envisionware; sent by Koha, Evergreen and FBS).
            birth_date=parse_date(message.first("PB")),
            hold_items=tuple(v for v in message.all("AS") if v),
            overdue_items=tuple(v for v in message.all("AT") if v),
            charged_items=tuple(v for v in message.all("AU") if v),
            unavailable_holds=tuple(v for v in message.all("CD") if v),
            fine_items=tuple(v for v in message.all("AV") if v),
            fee_amount=amount(message.first("BV")),
            currency=(message.first("BH") or "").strip(),
            screen_messages=message.all("AF"),
            extensions=_extensions(message),
            email=(message.first("BE") or "").strip(),
        )


@dataclass(frozen=True, slots=True)
class ItemInfo:
    """18 Item Information: title, circulation status (two digits, spec table) and due date."""

    item_id: str
    title: str
    circulation_status: str
    due_text: str | None
    due: date | None
    screen_messages: tuple[str, ...]

    @classmethod
    def from_message(cls, message: Message) -> ItemInfo:
        """Read a decoded 18."""
        _expect(message, "18")
        due_text = message.first("AH")
        return cls(
            item_id=message.first("AB") or "",
            title=message.first("AJ") or "",
            circulation_status=message.fixed["circulation_status"],
            due_text=due_text,
            due=parse_date(due_text),
            screen_messages=message.all("AF"),
        )

    @property
    def known(self) -> bool:
        """False when the ACS does not know the item (01 "other" with no title)."""
        return bool(self.title) or self.circulation_status not in ("01", "00")


@dataclass(frozen=True, slots=True)
class RenewReply:
    """30 Renew: ok, the new due date, and the ACS's own words when it refuses (AF)."""

    ok: bool
    item_id: str
    title: str
    due_text: str | None
    due: date | None
    screen_messages: tuple[str, ...]

    @classmethod
    def from_message(cls, message: Message) -> RenewReply:
        """Read a decoded 30."""
        _expect(message, "30")
        due_text = message.first("AH") or None
        return cls(
            ok=message.fixed["ok"] == "1",
            item_id=message.first("AB") or "",
            title=message.first("AJ") or "",
            due_text=due_text,
            due=parse_date(due_text),
            screen_messages=tuple(m for m in message.all("AF") if m),
        )


@dataclass(frozen=True, slots=True)
class RenewAllReply:
    """66 Renew All: BM renewed and BN unrenewed items, as the ACS wrote them."""

    ok: bool
    renewed: tuple[str, ...]
    unrenewed: tuple[str, ...]
    screen_messages: tuple[str, ...]

    @classmethod
    def from_message(cls, message: Message) -> RenewAllReply:
        """Read a decoded 66."""
        _expect(message, "66")
        return cls(
            ok=message.fixed["ok"] == "1",
            renewed=tuple(v for v in message.all("BM") if v),
            unrenewed=tuple(v for v in message.all("BN") if v),
            screen_messages=tuple(m for m in message.all("AF") if m),
        )


@dataclass(frozen=True, slots=True)
class EndSessionReply:
    """36 End Session: whether the ACS ended the patron session."""

    ended: bool

    @classmethod
    def from_message(cls, message: Message) -> EndSessionReply:
        """Read a decoded 36."""
        _expect(message, "36")
        return cls(ended=message.fixed["end_session"] == "Y")


@dataclass(frozen=True, slots=True)
class HoldReply:
    """16 Hold: ok, available now, the queue position (BR) and pickup (BS) when the ACS says
    them, and its own words (AF)."""

    ok: bool
    available: bool
    queue_position: int | None
    pickup_location: str
    item_id: str
    title_id: str
    screen_messages: tuple[str, ...]

    @classmethod
    def from_message(cls, message: Message) -> HoldReply:
        """Read a decoded 16."""
        _expect(message, "16")
        position = (message.first("BR") or "").strip()
        return cls(
            ok=message.fixed["ok"] == "1",
            available=message.fixed["available"] == "Y",
            queue_position=int(position) if position.isdigit() and int(position) > 0 else None,
            pickup_location=(message.first("BS") or "").strip(),
            item_id=message.first("AB") or "",
            title_id=message.first("AJ") or "",
            screen_messages=tuple(m for m in message.all("AF") if m),
        )
