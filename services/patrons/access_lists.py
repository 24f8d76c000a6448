"""Staff edits of the local access lists: groups, members, bans, codes, sign-ups. Audited.

Every function takes the ``session`` first and leaves the transaction to the caller (the CLI,
the dashboard's list pages, as thin views), and the ``site`` whose lists it changes: groups,
codes and sign-ups are one site's; a ban is one site's or (``site`` None) the municipality's,
at every branch. Each change writes one audit row and raises that site's lists version (a
municipality ban: the municipality's, which every site's snapshot counts), so the next snapshot
reaches the door controllers of that site only (of every site). A card or CPR number is hashed
at once; the audit names a member by the credential's pseudonym.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, delete, func, or_, select
from sqlalchemy.orm import Session

from services.core.card_rules import pin_problem
from services.core.codes import new_code
from services.core.credentials import Credential, CredentialKind, SiteKey
from services.core.groups import WeeklyWindow, WhenArmed, format_windows
from services.store.access_lists import (
    MUNICIPALITY,
    AccessGroupRecord,
    BanRecord,
    GroupMemberRecord,
    ListAudit,
    ListsVersion,
    PadCodeRecord,
    SignupRecord,
    doors_text,
)
from services.store.base import utcnow


class ListError(Exception):
    """A list edit that cannot be made; the message names the problem, nothing was changed.

    ``key`` names the problem for the dashboard's catalogue (``list_error.<key>``), so a page
    says it in the reader's language; the message is the CLI's and the log's English."""

    def __init__(self, message: str, key: str = "", **values: object) -> None:
        super().__init__(message)
        self.key = key
        self.values = values


@dataclass(frozen=True, slots=True)
class GroupSpec:
    """What staff say about a group."""

    name: str
    windows: tuple[WeeklyWindow, ...]
    doors: frozenset[str] = frozenset()
    valid_from: date | None = None
    valid_until: date | None = None
    pin_required: bool = True
    when_armed: WhenArmed = WhenArmed.REFUSE


def _counter(session: Session, site: str) -> ListsVersion | None:
    return session.scalar(select(ListsVersion).where(ListsVersion.site == site).with_for_update())


def bump_version(session: Session, site: str | None) -> int:
    """Raise the lists' counter of ``site`` (None: the municipality's bans) by one (a row is
    created at 1); the site's snapshot version it makes."""
    key = MUNICIPALITY if site is None else site
    row = _counter(session, key)
    if row is None:
        # Ids given here: the server's one row was written as id 1 before there were sites,
        # so PostgreSQL's sequence may not have moved past it.
        top = session.scalar(select(func.max(ListsVersion.id))) or 0
        row = ListsVersion(id=top + 1, site=key, version=0)
        session.add(row)
    row.version += 1
    row.changed = utcnow()
    session.flush()
    return row.version if site is None else site_version(session, site)


def site_version(session: Session, site: str) -> int:
    """The version of ``site``'s snapshot: its own counter plus the municipality bans' (0:
    never changed). Both only rise, so a change of either gives every door a newer one."""
    rows = session.execute(
        select(ListsVersion.version).where(ListsVersion.site.in_((site, MUNICIPALITY)))
    )
    return sum(int(v) for (v,) in rows)


def current_version(session: Session) -> int:
    """The version of the copy a door controller holds (0: none yet): its one row."""
    return int(session.scalar(select(func.max(ListsVersion.version))) or 0)


def _changed(
    session: Session,
    actor: str,
    action: str,
    subject: str,
    detail: str = "",
    *,
    site: str | None,
) -> None:
    session.add(
        ListAudit(actor=actor, site=site, action=action, subject=subject, detail=detail[:500])
    )
    bump_version(session, site)


def _group(session: Session, name: str, site: str) -> AccessGroupRecord:
    record = session.scalar(
        select(AccessGroupRecord).where(
            AccessGroupRecord.site == site, AccessGroupRecord.name == name
        )
    )
    if record is None:
        raise ListError(f"no access group named {name!r}", "no_group", name=name)
    return record


def define_group(session: Session, actor: str, spec: GroupSpec, *, site: str) -> bool:
    """Create the group at ``site`` or replace its rules (its members stay); True if new."""
    if not spec.windows:
        raise ListError(
            f"group {spec.name!r}: give at least one window, e.g. 'tue 13:00-16:00'", "no_window"
        )
    if spec.valid_from and spec.valid_until and spec.valid_until < spec.valid_from:
        raise ListError(f"group {spec.name!r}: valid until is before valid from", "dates")
    record = session.scalar(
        select(AccessGroupRecord).where(
            AccessGroupRecord.site == site, AccessGroupRecord.name == spec.name
        )
    )
    new = record is None
    if record is None:
        record = AccessGroupRecord(site=site, name=spec.name)
        session.add(record)
    record.windows = format_windows(spec.windows)
    record.doors = doors_text(spec.doors)
    record.valid_from, record.valid_until = spec.valid_from, spec.valid_until
    record.pin_required, record.when_armed = spec.pin_required, str(spec.when_armed)
    detail = f"{record.windows}; doors={record.doors or 'all'}; pin={spec.pin_required}"
    action = "group.create" if new else "group.update"
    _changed(session, actor, action, spec.name, detail, site=site)
    return new


def remove_group(session: Session, actor: str, name: str, *, site: str) -> int:
    """Delete a group of ``site`` and its memberships; how many members it had."""
    record = _group(session, name, site)
    members = len(record.members)
    session.delete(record)
    _changed(session, actor, "group.remove", name, f"{members} members", site=site)
    return members


def add_member(
    session: Session,
    key: SiteKey,
    actor: str,
    group: str,
    credential: Credential,
    *,
    site: str,
    name: str,
    note: str = "",
    expires: date | None = None,
    pin: str | None = None,
) -> None:
    """Put ``credential`` into ``group`` of ``site`` (or update its membership there)."""
    if pin is not None and (problem := pin_problem(pin)) is not None:
        raise ListError(problem, "pin")
    record = _group(session, group, site)
    digest = key.credential_hash(credential)
    member = session.scalar(
        select(GroupMemberRecord).where(
            GroupMemberRecord.group_pk == record.id, GroupMemberRecord.credential_hash == digest
        )
    )
    if member is None:
        member = GroupMemberRecord(
            group=record, credential_hash=digest, pseudonym=key.pseudonym(credential)
        )
        session.add(member)
    member.name, member.note, member.expires = name, note, expires
    if pin is not None:
        member.pin_hash = key.hash_pin(pin)
    pseudonym = key.pseudonym(credential)
    _changed(session, actor, "member.add", pseudonym, f"group={group}", site=site)


def remove_member(
    session: Session, key: SiteKey, actor: str, group: str, credential: Credential, *, site: str
) -> None:
    """Take ``credential`` out of ``group`` of ``site``."""
    record = _group(session, group, site)
    gone = session.execute(
        delete(GroupMemberRecord).where(
            GroupMemberRecord.group_pk == record.id,
            GroupMemberRecord.credential_hash == key.credential_hash(credential),
        )
    )
    if not gone.rowcount:  # type: ignore[attr-defined]
        raise ListError(f"this {credential.kind} is not a member of {group!r}", "not_member")
    pseudonym = key.pseudonym(credential)
    _changed(session, actor, "member.remove", pseudonym, f"group={group}", site=site)


def ban(
    session: Session,
    key: SiteKey,
    actor: str,
    credential: Credential,
    *,
    site: str | None,
    until: datetime | None,
    reason: str,
    doors: frozenset[str] = frozenset(),
) -> str:
    """Ban ``credential`` (hashed at once) at ``site``, or at every branch of the municipality
    (``site`` None); its pseudonym, by which staff lift it again. ``doors`` are the site's:
    a municipality ban is for every door."""
    if not reason.strip():
        raise ListError("a ban needs a reason (shown to staff only)", "ban_reason")
    if until is not None and until <= utcnow():
        raise ListError(
            "the ban would already be over: give an until-date in the future", "ban_over"
        )
    pseudonym = key.pseudonym(credential)
    session.add(
        BanRecord(
            site=site,
            credential_hash=key.credential_hash(credential),
            pseudonym=pseudonym,
            until=until,
            reason=reason.strip(),
            doors=doors_text(doors) if site is not None else "",
        )
    )
    until_text = until.isoformat() if until else "lifted"
    detail = f"until {until_text}; {reason.strip()}"
    _changed(session, actor, "ban.add", pseudonym, detail, site=site)
    return pseudonym


def _site_is(site: str | None) -> ColumnElement[bool]:
    return BanRecord.site.is_(None) if site is None else BanRecord.site == site


def lift_bans(
    session: Session, key: SiteKey, actor: str, credential: Credential, *, site: str | None
) -> int:
    """End every ban of ``credential`` at ``site`` (None: the municipality's) now; how many."""
    gone = session.execute(
        delete(BanRecord).where(
            BanRecord.credential_hash == key.credential_hash(credential), _site_is(site)
        )
    )
    count = int(gone.rowcount)  # type: ignore[attr-defined]
    if not count:
        raise ListError(f"this {credential.kind} is not banned", "not_banned")
    _changed(session, actor, "ban.lift", key.pseudonym(credential), f"{count} bans", site=site)
    return count


def expire_bans(session: Session, now: datetime) -> int:
    """Delete bans that are over (they already stopped counting at the door), each audited by
    its pseudonym; the lists' version of each site they were for rises once (of the
    municipality, for its bans), so those doors' copies drop them too."""
    over = list(session.scalars(select(BanRecord).where(BanRecord.until <= now)))
    for record in over:
        until = record.until.isoformat() if record.until is not None else ""
        session.add(
            ListAudit(
                actor="aabent",
                site=record.site,
                action="ban.expire",
                subject=record.pseudonym,
                detail=f"ended {until}; {record.reason}"[:500],
            )
        )
        session.delete(record)
    for site in {record.site for record in over}:
        bump_version(session, site)
    return len(over)


def issue_code(
    session: Session,
    key: SiteKey,
    actor: str,
    label: str,
    *,
    site: str,
    valid_from: datetime,
    valid_until: datetime,
    max_uses: int = 1,
    doors: frozenset[str] = frozenset(),
    digits: int = 6,
) -> str:
    """A new code for the PIN pad of ``site``: returned once, stored only as its keyed hash.

    Its digits differ from every live code of the server's (any site's), so one lookup by hash
    never finds two."""
    if valid_until <= valid_from:
        raise ListError(f"code {label!r}: the window must end after it starts", "code_window")
    if max_uses < 1:
        raise ListError(f"code {label!r}: max uses must be at least 1", "code_uses")
    taken = select(PadCodeRecord.id).where(PadCodeRecord.site == site, PadCodeRecord.label == label)
    if session.scalar(taken):
        raise ListError(
            f"a code labelled {label!r} exists; revoke it or choose another label",
            "code_label",
            label=label,
        )
    while True:  # two live codes may not share digits: the door could not tell them apart
        code = new_code(digits)
        digest = key.credential_hash(Credential(CredentialKind.CODE, code))
        if (
            session.scalar(select(PadCodeRecord.id).where(PadCodeRecord.code_hash == digest))
            is None
        ):
            break
    session.add(
        PadCodeRecord(
            site=site,
            code_hash=digest,
            label=label,
            valid_from=valid_from,
            valid_until=valid_until,
            max_uses=max_uses,
            doors=doors_text(doors),
        )
    )
    window = f"{valid_from.isoformat()} to {valid_until.isoformat()}"
    _changed(session, actor, "code.issue", label, f"{window}; {max_uses} uses", site=site)
    return code


def revoke_code(session: Session, actor: str, label: str, *, site: str) -> None:
    """Withdraw the code of ``site`` labelled ``label``."""
    gone = session.execute(
        delete(PadCodeRecord).where(PadCodeRecord.site == site, PadCodeRecord.label == label)
    )
    if not gone.rowcount:  # type: ignore[attr-defined]
        raise ListError(f"no code labelled {label!r}", "no_code", label=label)
    _changed(session, actor, "code.revoke", label, site=site)


def sign_up(
    session: Session,
    key: SiteKey,
    actor: str,
    credential: Credential,
    *,
    site: str,
    via: str = "desk",
) -> bool:
    """Record that the holder of ``credential`` has accepted the house rules of ``site``;
    False if known there."""
    digest = key.credential_hash(credential)
    if session.get(SignupRecord, (site, digest)) is not None:
        return False
    session.add(SignupRecord(site=site, credential_hash=digest, via=via))
    _changed(session, actor, "signup.add", key.pseudonym(credential), f"via {via}", site=site)
    return True


def withdraw_signup(
    session: Session, key: SiteKey, actor: str, credential: Credential, *, site: str
) -> None:
    """Forget a sign-up at ``site``: its doors ask the patron to sign up again."""
    record = session.get(SignupRecord, (site, key.credential_hash(credential)))
    if record is None:
        raise ListError(f"this {credential.kind} has not signed up", "not_signed_up")
    session.delete(record)
    _changed(session, actor, "signup.withdraw", key.pseudonym(credential), site=site)


def audit_export(session: Session, actor: str, pseudonym: str, rows: int) -> None:
    """Record a GDPR log export (it changes no list, so the version stays)."""
    session.add(
        ListAudit(actor=actor, action="log.export", subject=pseudonym, detail=f"{rows} rows")
    )


def counts(session: Session) -> dict[str, int]:
    """How many groups, members, bans, codes and sign-ups the lists hold (every site's)."""
    tables = {
        "groups": AccessGroupRecord,
        "members": GroupMemberRecord,
        "bans": BanRecord,
        "codes": PadCodeRecord,
        "signups": SignupRecord,
    }
    return {
        name: int(session.scalar(select(func.count()).select_from(model)) or 0)
        for name, model in tables.items()
    }


def remove_member_by_pseudonym(
    session: Session, actor: str, group: str, pseudonym: str, *, site: str
) -> None:
    """Take the member staff see as ``pseudonym`` out of ``group`` of ``site`` (the dashboard's
    list has no number to type again)."""
    record = _group(session, group, site)
    gone = session.execute(
        delete(GroupMemberRecord).where(
            GroupMemberRecord.group_pk == record.id, GroupMemberRecord.pseudonym == pseudonym
        )
    )
    if not gone.rowcount:  # type: ignore[attr-defined]
        raise ListError(f"{pseudonym!r} is not a member of {group!r}", "not_member")
    _changed(session, actor, "member.remove", pseudonym, f"group={group}", site=site)


def lift_bans_by_pseudonym(
    session: Session, actor: str, pseudonym: str, *, site: str | None
) -> int:
    """End every ban staff see as ``pseudonym`` at ``site`` (None: the municipality's) now;
    how many there were."""
    gone = session.execute(
        delete(BanRecord).where(BanRecord.pseudonym == pseudonym, _site_is(site))
    )
    count = int(gone.rowcount)  # type: ignore[attr-defined]
    if not count:
        raise ListError(f"{pseudonym!r} is not banned", "not_banned")
    _changed(session, actor, "ban.lift", pseudonym, f"{count} bans", site=site)
    return count


def bans_of(site: str) -> ColumnElement[bool]:
    """The condition of the bans that count at ``site``: its own and the municipality's."""
    return or_(BanRecord.site == site, BanRecord.site.is_(None))
