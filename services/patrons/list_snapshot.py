"""The lists as one versioned snapshot: taken on the server, applied whole on a controller.

A snapshot is one site's: its groups, codes, sign-ups and room bookings, its own bans and the
municipality's (a door does not tell them apart), and the site's version
(:func:`~services.patrons.access_lists.site_version`).

The snapshot carries only what a door decides with: keyed hashes, windows, doors, dates, the
members' PIN hashes, the room bookings not yet over (booker by keyed hash); no names, notes or ban
reasons. A controller applies a snapshot only when it
is newer than its copy, in one transaction (every list replaced, or nothing), so a door never
decides from half a change; the uses of a code counted at this door are kept, and so is when a
booker came through its door. The ``bookings`` section came later: a snapshot without it is
read as no bookings, and a controller that does not know it ignores it.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from services.core.groups import WhenArmed, parse_windows
from services.core.rooms import BookingState
from services.patrons.access_lists import bans_of, current_version, site_version
from services.store.access_lists import (
    SNAPSHOT_TABLES,
    AccessGroupRecord,
    BanRecord,
    GroupMemberRecord,
    ListsVersion,
    PadCodeRecord,
    SignupRecord,
)
from services.store.base import utcnow
from services.store.rooms import RoomBookingRecord


class SnapshotError(ValueError):
    """A snapshot that cannot be applied; the copy held stays as it was."""


def _iso(value: date | datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _bookings(session: Session, site: str | None, now: datetime) -> list[list[Any]]:
    """The bookings a door may still admit by: booked or used, not over."""
    query = select(RoomBookingRecord).where(
        RoomBookingRecord.end > now, RoomBookingRecord.state.in_(("booked", "used"))
    )
    if site is not None:
        query = query.where(RoomBookingRecord.site == site)
    return [
        [
            b.id,
            b.site,
            b.room,
            _iso(b.start),
            _iso(b.end),
            b.credential_hash,
            b.companions,
            b.state,
            _iso(b.created),
        ]
        for b in session.scalars(query.order_by(RoomBookingRecord.id))
    ]


def take(session: Session, site: str | None = None, now: datetime | None = None) -> dict[str, Any]:
    """The lists of ``site`` held in ``session``'s database, as a JSON-ready snapshot: its
    groups, codes, sign-ups, its bans and the municipality's, its bookings not over at ``now``.

    Without ``site``, everything held (a door controller's copy, which is one site's)."""

    def of(query: Any, model: Any) -> Any:
        return query if site is None else query.where(model.site == site)

    groups = []
    query = of(select(AccessGroupRecord), AccessGroupRecord)
    for g in session.scalars(query.order_by(AccessGroupRecord.name)):
        groups.append(
            {
                "name": g.name,
                "windows": g.windows,
                "doors": g.doors,
                "valid_from": _iso(g.valid_from),
                "valid_until": _iso(g.valid_until),
                "pin_required": g.pin_required,
                "when_armed": g.when_armed,
                "members": [[m.credential_hash, _iso(m.expires), m.pin_hash] for m in g.members],
            }
        )
    bans = [
        [b.credential_hash, _iso(b.until), b.doors]
        for b in session.scalars(
            (
                select(BanRecord) if site is None else select(BanRecord).where(bans_of(site))
            ).order_by(BanRecord.id)
        )
    ]
    codes = [
        [c.code_hash, c.label, _iso(c.valid_from), _iso(c.valid_until), c.max_uses, c.uses, c.doors]
        for c in session.scalars(
            of(select(PadCodeRecord), PadCodeRecord).order_by(PadCodeRecord.id)
        )
    ]
    signups = list(
        session.scalars(
            of(select(SignupRecord.credential_hash), SignupRecord).order_by(
                SignupRecord.credential_hash
            )
        )
    )
    return {
        "version": current_version(session) if site is None else site_version(session, site),
        "site": site,
        "groups": groups,
        "bans": bans,
        "codes": codes,
        "signups": signups,
        "bookings": _bookings(session, site, now or utcnow()),
    }


def encode(snapshot: dict[str, Any]) -> bytes:
    """The snapshot as the retained MQTT payload."""
    return json.dumps(snapshot, separators=(",", ":")).encode()


def decode(payload: bytes) -> dict[str, Any]:
    """A payload back to a snapshot; :class:`SnapshotError` names what is wrong."""
    try:
        snapshot = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SnapshotError(f"lists snapshot is not JSON: {exc}") from None
    if not isinstance(snapshot, dict) or not isinstance(snapshot.get("version"), int):
        raise SnapshotError("lists snapshot has no integer 'version'")
    for part in ("groups", "bans", "codes", "signups"):
        if not isinstance(snapshot.get(part), list):
            raise SnapshotError(f"lists snapshot has no list {part!r}")
    if not isinstance(snapshot.get("bookings", []), list):
        raise SnapshotError("lists snapshot's 'bookings' is not a list")
    return snapshot


def _date(text: str | None) -> date | None:
    return None if text is None else date.fromisoformat(text)


def _instant(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _booking_rows(
    snapshot: dict[str, Any], kept_entries: dict[int, datetime | None]
) -> list[dict[str, Any]]:
    rows = []
    for pk, site, room, start, end, booker, companions, state, made in snapshot.get("bookings", []):
        rows.append(
            {
                "id": int(pk),
                "site": site,
                "room": room,
                "start": datetime.fromisoformat(start),
                "end": datetime.fromisoformat(end),
                "credential_hash": booker,
                "companions": int(companions),
                "state": str(BookingState(state)),
                "entered": kept_entries.get(int(pk)),
                "created": datetime.fromisoformat(made),
            }
        )
    return rows


def _rows(
    snapshot: dict[str, Any], kept_uses: dict[str, int], site: str
) -> dict[str, list[dict[str, Any]]]:
    groups: list[dict[str, Any]] = []
    members: list[dict[str, Any]] = []
    for pk, g in enumerate(snapshot["groups"], start=1):
        parse_windows(g["windows"])  # a bad window refuses the snapshot, not one swipe later
        WhenArmed(g["when_armed"])
        groups.append(
            {
                "id": pk,
                "site": site,
                "name": g["name"],
                "windows": g["windows"],
                "doors": g["doors"],
                "valid_from": _date(g["valid_from"]),
                "valid_until": _date(g["valid_until"]),
                "pin_required": bool(g["pin_required"]),
                "when_armed": g["when_armed"],
            }
        )
        members.extend(
            {"group_pk": pk, "credential_hash": h, "name": "", "expires": _date(e), "pin_hash": p}
            for h, e, p in g["members"]
        )
    bans = [
        {"site": site, "credential_hash": h, "until": _instant(u), "doors": d, "reason": ""}
        for h, u, d in snapshot["bans"]
    ]
    codes = [
        {
            "site": site,
            "code_hash": h,
            "label": label,
            "valid_from": _instant(start),
            "valid_until": _instant(end),
            "max_uses": max_uses,
            "uses": max(uses, kept_uses.get(h, 0)),
            "doors": d,
        }
        for h, label, start, end, max_uses, uses, d in snapshot["codes"]
    ]
    signups = [{"site": site, "credential_hash": h, "via": "desk"} for h in snapshot["signups"]]
    return {"groups": groups, "members": members, "bans": bans, "codes": codes, "signups": signups}


def apply(session: Session, snapshot: dict[str, Any]) -> bool:
    """Replace the lists held here by ``snapshot`` if it is newer; True if it was applied.

    The caller commits: everything or nothing changes. The rows are the snapshot's site's (one
    from a server before sites had lists of their own names none: ``""``).
    """
    version = int(snapshot["version"])
    if version <= current_version(session):
        return False
    kept_uses = {
        code_hash: uses
        for code_hash, uses in session.execute(select(PadCodeRecord.code_hash, PadCodeRecord.uses))
    }
    kept_entries: dict[int, datetime | None] = {
        pk: entered
        for pk, entered in session.execute(
            select(RoomBookingRecord.id, RoomBookingRecord.entered).where(
                RoomBookingRecord.entered.is_not(None)
            )
        )
    }
    try:
        site = str(snapshot.get("site") or "")
        rows = _rows(snapshot, kept_uses, site)
        rows["bookings"] = _booking_rows(snapshot, kept_entries)
    except (KeyError, TypeError, ValueError) as exc:
        raise SnapshotError(f"lists snapshot {version}: {exc!r}") from None
    for table in SNAPSHOT_TABLES:
        session.execute(delete(table))
    session.execute(delete(RoomBookingRecord))
    for model, part in (
        (AccessGroupRecord, "groups"),
        (GroupMemberRecord, "members"),
        (BanRecord, "bans"),
        (PadCodeRecord, "codes"),
        (SignupRecord, "signups"),
        (RoomBookingRecord, "bookings"),
    ):
        if rows[part]:
            session.execute(insert(model), rows[part])
    session.execute(delete(ListsVersion))  # a controller holds one copy, of one site
    session.add(ListsVersion(id=1, site=site, version=version, changed=utcnow()))
    return True
