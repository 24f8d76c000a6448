"""The door's copy of the lists in memory: one dict per section, keyed by the keyed hash.

Built whole from a snapshot (:mod:`services.patrons.list_snapshot`'s wire format, which
:func:`~services.patrons.list_snapshot.take` also reads back from the controller's database at
start), so a lookup at the door is a dict get, not a query. An index is never changed once built:
a newer snapshot gives a new index, put in place by one reference swap.

A new section of the snapshot is one field here and one builder in :data:`SECTIONS`; a snapshot
without it (an older server) gives the section's empty value.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from types import MappingProxyType
from typing import Any

from services.core.bans import Ban
from services.core.codes import PadCode
from services.core.groups import AccessGroup, Membership, WhenArmed, parse_windows
from services.store.access_lists import doors_of


@dataclass(frozen=True, slots=True)
class Member:
    """One membership of a credential, with the member's own PIN hash (None: no PIN)."""

    membership: Membership
    pin_hash: str | None = field(repr=False, default=None)


def _empty() -> Mapping[str, Any]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class ListIndex:
    """Every section of one snapshot, keyed by credential (or code) hash."""

    version: int = 0
    members: Mapping[str, tuple[Member, ...]] = field(default_factory=_empty)
    bans: Mapping[str, tuple[Ban, ...]] = field(default_factory=_empty)
    codes: Mapping[str, PadCode] = field(default_factory=_empty)
    signups: frozenset[str] = frozenset()


def _date(text: str | None) -> date | None:
    return None if text is None else date.fromisoformat(text)


def _instant(text: str | None) -> datetime | None:
    if text is None:
        return None
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _members(groups: list[dict[str, Any]]) -> Mapping[str, tuple[Member, ...]]:
    out: dict[str, list[Member]] = {}
    for g in groups:
        group = AccessGroup(
            name=g["name"],
            windows=parse_windows(g["windows"]),
            doors=doors_of(g["doors"]),
            valid_from=_date(g["valid_from"]),
            valid_until=_date(g["valid_until"]),
            pin_required=bool(g["pin_required"]),
            when_armed=WhenArmed(g["when_armed"]),
        )
        for credential_hash, expires, pin_hash in g["members"]:
            member = Member(Membership(group, _date(expires)), pin_hash)
            out.setdefault(credential_hash, []).append(member)
    return {h: tuple(m) for h, m in out.items()}


def _bans(rows: list[list[Any]]) -> Mapping[str, tuple[Ban, ...]]:
    out: dict[str, list[Ban]] = {}
    for credential_hash, until, doors in rows:
        out.setdefault(credential_hash, []).append(
            Ban(credential_hash, _instant(until), doors_of(doors))
        )
    return {h: tuple(b) for h, b in out.items()}


def _codes(rows: list[list[Any]]) -> Mapping[str, PadCode]:
    out: dict[str, PadCode] = {}
    for code_hash, label, start, end, max_uses, uses, doors in rows:
        valid_from, valid_until = _instant(start), _instant(end)
        if valid_from is None or valid_until is None:
            raise ValueError(f"code {label!r} has no window")
        out[code_hash] = PadCode(
            code_hash, label, valid_from, valid_until, int(max_uses), int(uses), doors_of(doors)
        )
    return out


def _signups(rows: list[str]) -> frozenset[str]:
    return frozenset(rows)


# Section name in the snapshot -> (field of ListIndex, builder). Order does not matter.
SECTIONS: Mapping[str, tuple[str, Callable[[Any], Any]]] = {
    "groups": ("members", _members),
    "bans": ("bans", _bans),
    "codes": ("codes", _codes),
    "signups": ("signups", _signups),
}


def build_index(snapshot: Mapping[str, Any]) -> ListIndex:
    """The index of ``snapshot``; KeyError, TypeError or ValueError name what is malformed."""
    parts = {
        name: build(snapshot[section])
        for section, (name, build) in SECTIONS.items()
        if section in snapshot
    }
    return ListIndex(version=int(snapshot["version"]), **parts)
