"""Staff edits of the local access lists: groups, members, bans, codes, sign-ups. Audited.

Every function takes the ``session`` first and leaves the transaction to the caller (the CLI
today, the dashboard's admin pages later, as thin views). Each change writes one audit row and
raises the lists' version, so the next snapshot reaches every door controller of the site. A
card or CPR number is hashed at once; the audit names a member by the credential's pseudonym.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from services.core.card_rules import pin_problem
from services.core.codes import new_code
from services.core.credentials import Credential, CredentialKind, SiteKey
from services.core.groups import WeeklyWindow, WhenArmed, format_windows
from services.store.access_lists import (
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


def bump_version(session: Session) -> int:
    """Raise the lists' version by one (the row is created at 1)."""
    row = session.get(ListsVersion, 1, with_for_update=True)
    if row is None:
        row = ListsVersion(id=1, version=0)
        session.add(row)
    row.version += 1
    row.changed = utcnow()
    return row.version


def current_version(session: Session) -> int:
    """The lists' version held here (0: never changed)."""
    row = session.get(ListsVersion, 1)
    return 0 if row is None else row.version


def _changed(session: Session, actor: str, action: str, subject: str, detail: str = "") -> None:
    session.add(ListAudit(actor=actor, action=action, subject=subject, detail=detail[:500]))
    bump_version(session)


def _group(session: Session, name: str) -> AccessGroupRecord:
    record = session.scalar(select(AccessGroupRecord).where(AccessGroupRecord.name == name))
    if record is None:
        raise ListError(f"no access group named {name!r}", "no_group", name=name)
    return record


def define_group(session: Session, actor: str, spec: GroupSpec) -> bool:
    """Create the group or replace its rules (its members stay); True if it is new."""
    if not spec.windows:
        raise ListError(
            f"group {spec.name!r}: give at least one window, e.g. 'tue 13:00-16:00'", "no_window"
        )
    if spec.valid_from and spec.valid_until and spec.valid_until < spec.valid_from:
        raise ListError(f"group {spec.name!r}: valid until is before valid from", "dates")
    record = session.scalar(select(AccessGroupRecord).where(AccessGroupRecord.name == spec.name))
    new = record is None
    if record is None:
        record = AccessGroupRecord(name=spec.name)
        session.add(record)
    record.windows = format_windows(spec.windows)
    record.doors = doors_text(spec.doors)
    record.valid_from, record.valid_until = spec.valid_from, spec.valid_until
    record.pin_required, record.when_armed = spec.pin_required, str(spec.when_armed)
    detail = f"{record.windows}; doors={record.doors or 'all'}; pin={spec.pin_required}"
    _changed(session, actor, "group.create" if new else "group.update", spec.name, detail)
    return new


def remove_group(session: Session, actor: str, name: str) -> int:
    """Delete a group and its memberships; how many members it had."""
    record = _group(session, name)
    members = len(record.members)
    session.delete(record)
    _changed(session, actor, "group.remove", name, f"{members} members")
    return members


def add_member(
    session: Session,
    key: SiteKey,
    actor: str,
    group: str,
    credential: Credential,
    *,
    name: str,
    note: str = "",
    expires: date | None = None,
    pin: str | None = None,
) -> None:
    """Put ``credential`` into ``group`` (or update its membership there)."""
    if pin is not None and (problem := pin_problem(pin)) is not None:
        raise ListError(problem, "pin")
    record = _group(session, group)
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
    _changed(session, actor, "member.add", key.pseudonym(credential), f"group={group}")


def remove_member(
    session: Session, key: SiteKey, actor: str, group: str, credential: Credential
) -> None:
    """Take ``credential`` out of ``group``."""
    record = _group(session, group)
    gone = session.execute(
        delete(GroupMemberRecord).where(
            GroupMemberRecord.group_pk == record.id,
            GroupMemberRecord.credential_hash == key.credential_hash(credential),
        )
    )
    if not gone.rowcount:  # type: ignore[attr-defined]
        raise ListError(f"this {credential.kind} is not a member of {group!r}", "not_member")
    _changed(session, actor, "member.remove", key.pseudonym(credential), f"group={group}")


def ban(
    session: Session,
    key: SiteKey,
    actor: str,
    credential: Credential,
    *,
    until: datetime | None,
    reason: str,
    doors: frozenset[str] = frozenset(),
) -> str:
    """Ban ``credential`` (hashed at once); its pseudonym, by which staff lift it again."""
    if not reason.strip():
        raise ListError("a ban needs a reason (shown to staff only)", "ban_reason")
    if until is not None and until <= utcnow():
        raise ListError(
            "the ban would already be over: give an until-date in the future", "ban_over"
        )
    pseudonym = key.pseudonym(credential)
    session.add(
        BanRecord(
            credential_hash=key.credential_hash(credential),
            pseudonym=pseudonym,
            until=until,
            reason=reason.strip(),
            doors=doors_text(doors),
        )
    )
    until_text = until.isoformat() if until else "lifted"
    _changed(session, actor, "ban.add", pseudonym, f"until {until_text}; {reason.strip()}")
    return pseudonym


def lift_bans(session: Session, key: SiteKey, actor: str, credential: Credential) -> int:
    """End every ban of ``credential`` now; how many there were."""
    gone = session.execute(
        delete(BanRecord).where(BanRecord.credential_hash == key.credential_hash(credential))
    )
    count = int(gone.rowcount)  # type: ignore[attr-defined]
    if not count:
        raise ListError(f"this {credential.kind} is not banned", "not_banned")
    _changed(session, actor, "ban.lift", key.pseudonym(credential), f"{count} bans")
    return count


def expire_bans(session: Session, now: datetime) -> int:
    """Delete bans that are over (they already stopped counting at the door), each audited by
    its pseudonym; the lists' version rises once, so the doors' copies drop them too."""
    over = list(session.scalars(select(BanRecord).where(BanRecord.until <= now)))
    for record in over:
        until = record.until.isoformat() if record.until is not None else ""
        session.add(
            ListAudit(
                actor="aabent",
                action="ban.expire",
                subject=record.pseudonym,
                detail=f"ended {until}; {record.reason}"[:500],
            )
        )
        session.delete(record)
    if over:
        bump_version(session)
    return len(over)


def issue_code(
    session: Session,
    key: SiteKey,
    actor: str,
    label: str,
    *,
    valid_from: datetime,
    valid_until: datetime,
    max_uses: int = 1,
    doors: frozenset[str] = frozenset(),
    digits: int = 6,
) -> str:
    """A new code for the PIN pad: returned once, stored only as its keyed hash."""
    if valid_until <= valid_from:
        raise ListError(f"code {label!r}: the window must end after it starts", "code_window")
    if max_uses < 1:
        raise ListError(f"code {label!r}: max uses must be at least 1", "code_uses")
    if session.scalar(select(PadCodeRecord.id).where(PadCodeRecord.label == label)):
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
            code_hash=digest,
            label=label,
            valid_from=valid_from,
            valid_until=valid_until,
            max_uses=max_uses,
            doors=doors_text(doors),
        )
    )
    window = f"{valid_from.isoformat()} to {valid_until.isoformat()}"
    _changed(session, actor, "code.issue", label, f"{window}; {max_uses} uses")
    return code


def revoke_code(session: Session, actor: str, label: str) -> None:
    """Withdraw the code labelled ``label``."""
    gone = session.execute(delete(PadCodeRecord).where(PadCodeRecord.label == label))
    if not gone.rowcount:  # type: ignore[attr-defined]
        raise ListError(f"no code labelled {label!r}", "no_code", label=label)
    _changed(session, actor, "code.revoke", label)


def sign_up(
    session: Session, key: SiteKey, actor: str, credential: Credential, *, via: str = "desk"
) -> bool:
    """Record that the holder of ``credential`` has accepted the house rules; False if known."""
    digest = key.credential_hash(credential)
    if session.get(SignupRecord, digest) is not None:
        return False
    session.add(SignupRecord(credential_hash=digest, via=via))
    _changed(session, actor, "signup.add", key.pseudonym(credential), f"via {via}")
    return True


def withdraw_signup(session: Session, key: SiteKey, actor: str, credential: Credential) -> None:
    """Forget a sign-up: the door asks the patron to sign up again."""
    record = session.get(SignupRecord, key.credential_hash(credential))
    if record is None:
        raise ListError(f"this {credential.kind} has not signed up", "not_signed_up")
    session.delete(record)
    _changed(session, actor, "signup.withdraw", key.pseudonym(credential))


def audit_export(session: Session, actor: str, pseudonym: str, rows: int) -> None:
    """Record a GDPR log export (it changes no list, so the version stays)."""
    session.add(
        ListAudit(actor=actor, action="log.export", subject=pseudonym, detail=f"{rows} rows")
    )


def counts(session: Session) -> dict[str, int]:
    """How many groups, members, bans, codes and sign-ups the lists hold."""
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


def remove_member_by_pseudonym(session: Session, actor: str, group: str, pseudonym: str) -> None:
    """Take the member staff see as ``pseudonym`` out of ``group`` (the dashboard's list has no
    number to type again)."""
    record = _group(session, group)
    gone = session.execute(
        delete(GroupMemberRecord).where(
            GroupMemberRecord.group_pk == record.id, GroupMemberRecord.pseudonym == pseudonym
        )
    )
    if not gone.rowcount:  # type: ignore[attr-defined]
        raise ListError(f"{pseudonym!r} is not a member of {group!r}", "not_member")
    _changed(session, actor, "member.remove", pseudonym, f"group={group}")


def lift_bans_by_pseudonym(session: Session, actor: str, pseudonym: str) -> int:
    """End every ban staff see as ``pseudonym`` now; how many there were."""
    gone = session.execute(delete(BanRecord).where(BanRecord.pseudonym == pseudonym))
    count = int(gone.rowcount)  # type: ignore[attr-defined]
    if not count:
        raise ListError(f"{pseudonym!r} is not banned", "not_banned")
    _changed(session, actor, "ban.lift", pseudonym, f"{count} bans")
    return count
