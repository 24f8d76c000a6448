"""The branches of a municipality as the dashboard sees them: which there are, who may do what
at each, and the overview of all of them from what the store holds per site.

The server needs no per-branch configuration: a site is known once the recorder has stored a
state of it (or its own announcement, the ``sites`` table, when the recorder keeps one). The
site the server's settings name is always known, so a one-branch installation looks as before.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import column, inspect, select, table
from sqlalchemy.orm import Session

from services.store.dashboard import Role, StaffSiteRole, StaffUser
from services.store.recorder import AlarmRecord, ComponentState

# The recorder's own bookkeeping rows in component_states (e.g. the retention watermark).
NOT_A_SITE = "*"
DOOR_PREFIX, STATUS_PREFIX = "door/", "status/"
# A controller republishes each door's state every 30 s; older than this, its last word is stale.
DOOR_STALE = timedelta(seconds=75)
SITE_ROLES = (Role.VIEWER, Role.OPERATOR)  # what a user may be at one branch


@dataclass(frozen=True)
class Access:
    """What one staff member may do where.

    ``role`` is the user's own; ``sites`` their roles per branch. An admin is the
    municipality's: every site, everything. Without rows per branch the role holds at every
    site (one branch, as before); with rows, only those sites, in those roles.
    """

    role: Role
    sites: Mapping[str, Role] = field(default_factory=dict)

    def at(self, site: str) -> Role | None:
        """The role at ``site``; None when the site is not this user's to see."""
        if self.role is Role.ADMIN:
            return Role.ADMIN
        if not self.sites:
            return self.role
        return self.sites.get(site)

    def may(self, site: str, needed: Role) -> bool:
        """True when the user may do what ``needed`` may at ``site``."""
        role = self.at(site)
        return role is not None and role.allows(needed)

    def visible(self, sites: Iterable[str]) -> list[str]:
        """The ones of ``sites`` this user may see, in their order."""
        return [s for s in sites if self.at(s) is not None]

    def operable(self, sites: Iterable[str]) -> list[str]:
        """The ones of ``sites`` this user may command."""
        return [s for s in sites if self.may(s, Role.OPERATOR)]


def access_of(session: Session, user: StaffUser) -> Access:
    """The user's access as stored: their role and their rows per site."""
    rows = session.scalars(select(StaffSiteRole).where(StaffSiteRole.user_id == user.id))
    return Access(Role(user.role), {r.site: Role(r.role) for r in rows})


def described_names(session: Session) -> dict[str, str]:
    """The name each site gave itself in its announcement (the recorder's ``sites`` table).

    Read through a plain table construct, so the dashboard works on a store that has no such
    table yet; the one place to point at the recorder's model of it."""
    bind = session.get_bind()
    if not inspect(bind).has_table("sites"):
        return {}
    sites = table("sites", column("site"), column("name"))
    return {str(s): str(n) for s, n in session.execute(select(sites.c.site, sites.c.name)) if n}


@dataclass(frozen=True)
class SiteInfo:
    """A branch: its id (the topic level, the URL) and the name staff know it by."""

    id: str
    name: str


def known_sites(
    session: Session, own: SiteInfo, configured: Mapping[str, str] | None = None
) -> list[SiteInfo]:
    """Every site the store has heard of, the server's own first, then by name; a branch is
    called what it announced, else what ``[branches.<site>] name`` says, else its id."""
    names = {**(configured or {}), **described_names(session)}
    ids = set(session.scalars(select(ComponentState.site).distinct())) | set(names)
    ids.discard(NOT_A_SITE)
    ids.discard(own.id)
    others = sorted((SiteInfo(i, names.get(i, i)) for i in ids), key=lambda s: s.name.lower())
    return [SiteInfo(own.id, names.get(own.id, own.name)), *others]


@dataclass(frozen=True)
class DoorNeed:
    """A door needing someone's attention and why (an alarm, unlocked, or not heard from)."""

    door: str
    why: str  # the door's alarm code, "unlocked", "stale" or "offline"


@dataclass(frozen=True)
class SiteSummary:
    """One line of the overview."""

    site: SiteInfo
    opening: str | None  # staffed, self-service, closed; None: never heard
    inside: int | None
    capacity: int | None
    alarms: int  # needing a person (active or not yet acknowledged)
    critical: int
    doors: int
    doors_needing: list[DoorNeed]
    role: Role

    @property
    def fine(self) -> bool:
        """Nothing to look at here."""
        return not self.alarms and not self.doors_needing


def _door_need(
    door: str, state: Mapping[str, Any], updated: datetime, now: datetime, offline: bool
) -> DoorNeed | None:
    alarm = state.get("alarm")
    if isinstance(alarm, str) and alarm and alarm != "none":
        return DoorNeed(door, alarm)
    if offline:
        return DoorNeed(door, "offline")
    if now - updated > DOOR_STALE:
        return DoorNeed(door, "stale")
    return None


def overview(
    session: Session, sites: Collection[SiteInfo], access: Access, now: datetime
) -> list[SiteSummary]:
    """Opening, people inside, alarms and doors needing attention of each visible site."""
    visible = {s.id: s for s in sites if access.at(s.id) is not None}
    if not visible:
        return []
    states: dict[str, dict[str, tuple[dict[str, Any], datetime]]] = {s: {} for s in visible}
    for row in session.scalars(select(ComponentState).where(ComponentState.site.in_(visible))):
        states[row.site][row.key] = (dict(row.payload or {}), _aware(row.updated, now))
    counts: dict[str, list[str]] = {s: [] for s in visible}
    alarms = session.execute(
        select(AlarmRecord.site, AlarmRecord.severity).where(
            AlarmRecord.site.in_(visible),
            (AlarmRecord.cleared_at.is_(None)) | (AlarmRecord.acknowledged_at.is_(None)),
        )
    )
    for site, severity in alarms:
        counts[site].append(severity)
    found = []
    for site_id, info in visible.items():
        held = states[site_id]
        # Which controller drives which door is the branch's own settings; any offline
        # controller makes the branch's doors worth a look.
        offline = any(
            k.startswith(STATUS_PREFIX + "door-") and p.get("status") == "offline"
            for k, (p, _u) in held.items()
        )
        needs = []
        doors = sorted(k.removeprefix(DOOR_PREFIX) for k in held if k.startswith(DOOR_PREFIX))
        for door in doors:
            payload, updated = held[DOOR_PREFIX + door]
            need = _door_need(door, payload, updated, now, offline)
            if need is not None:
                needs.append(need)
        occupancy = held.get("occupancy", ({}, now))[0]
        opening = held.get("opening", ({}, now))[0]
        role = access.at(site_id)
        assert role is not None
        found.append(
            SiteSummary(
                site=info,
                opening=_text(opening.get("state")),
                inside=_int(occupancy.get("inside")),
                capacity=_int(occupancy.get("capacity")),
                alarms=len(counts[site_id]),
                critical=sum(1 for s in counts[site_id] if s == "critical"),
                doors=len(doors),
                doors_needing=needs,
                role=role,
            )
        )
    return found


def doors_of(session: Session, site: str) -> list[str]:
    """The doors the store holds a state of at ``site``."""
    keys = session.scalars(
        select(ComponentState.key).where(
            ComponentState.site == site, ComponentState.key.startswith(DOOR_PREFIX)
        )
    )
    return sorted(k.removeprefix(DOOR_PREFIX) for k in keys)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _aware(ts: datetime, now: datetime) -> datetime:
    return ts if ts.tzinfo is not None else ts.replace(tzinfo=now.tzinfo)
