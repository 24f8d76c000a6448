"""Staff edits of the lists, the door's answers from them, and the snapshot between the two."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from services.core.credentials import Credential, CredentialKind, SiteKey
from services.core.groups import parse_windows
from services.core.patrons import PinCheck
from services.patrons import access_lists as lists
from services.patrons import list_snapshot
from services.patrons.local_lookup import LocalLists
from services.store.access_lists import ListAudit
from services.store.engine import make_engine, make_sessionmaker
from services.store.schema import create_schema

SITE = "glostrup"
KEY = SiteKey(b"k" * 32)
CARD = Credential.from_text("12345678")
CPR = Credential.from_text("1512901234")
CPH = ZoneInfo("Europe/Copenhagen")
IT_CAFE = lists.GroupSpec("IT-café", parse_windows("tue 13:00-16:00"), pin_required=False)


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    create_schema(engine)
    return make_sessionmaker(engine)


@pytest.fixture
def door_db(tmp_path) -> Iterator[sessionmaker[Session]]:  # type: ignore[no-untyped-def]
    """A door controller's own SQLite copy."""
    eng = make_engine(f"sqlite:///{tmp_path / 'door.sqlite'}")
    create_schema(eng)
    yield make_sessionmaker(eng)
    eng.dispose()


def test_each_change_is_audited_and_raises_the_version(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        assert lists.define_group(s, "anne", IT_CAFE, site=SITE)
        lists.add_member(s, KEY, "anne", "IT-café", CARD, name="Bo", note="Tuesdays", site=SITE)
        lists.ban(s, KEY, "anne", CPR, until=None, reason="threatened staff", site=SITE)
    with sessions() as s:
        assert lists.current_version(s) == 3
        audit = list(s.scalars(select(ListAudit).order_by(ListAudit.id)))
    assert [a.action for a in audit] == ["group.create", "member.add", "ban.add"]
    assert audit[1].subject == KEY.pseudonym(CARD)
    assert all("12345678" not in f"{a.subject}{a.detail}" for a in audit)


def test_no_clear_number_reaches_the_database(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        lists.define_group(s, "anne", IT_CAFE, site=SITE)
        lists.add_member(s, KEY, "anne", "IT-café", CPR, name="Bo", pin="4321", site=SITE)
        lists.ban(s, KEY, "anne", CARD, until=None, reason="x", site=SITE)
        code = lists.issue_code(
            s,
            KEY,
            "anne",
            "carpenter",
            valid_from=datetime.now(UTC),
            valid_until=datetime.now(UTC) + timedelta(hours=2),
            site=SITE,
        )
        lists.sign_up(s, KEY, "anne", CARD, site=SITE)
    with sessions() as s:
        dump = " ".join(
            str(row)
            for table in ("group_members", "bans", "pad_codes", "signups", "access_list_audit")
            for row in s.execute(text(f"SELECT * FROM {table}"))
        )
    for secret in ("1512901234", "12345678", "4321", code):
        assert secret not in dump


def test_bad_edits_are_refused_by_name(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        with pytest.raises(lists.ListError, match="no access group"):
            lists.add_member(s, KEY, "anne", "nope", CARD, name="Bo", site=SITE)
        with pytest.raises(lists.ListError, match="reason"):
            lists.ban(s, KEY, "anne", CARD, until=None, reason=" ", site=SITE)
        with pytest.raises(lists.ListError, match="already be over"):
            lists.ban(
                s, KEY, "anne", CARD, until=datetime(2020, 1, 1, tzinfo=UTC), reason="x", site=SITE
            )
        with pytest.raises(lists.ListError, match="PIN"):
            lists.define_group(s, "anne", IT_CAFE, site=SITE)
            lists.add_member(s, KEY, "anne", "IT-café", CARD, name="Bo", pin="12", site=SITE)
        with pytest.raises(lists.ListError, match="not banned"):
            lists.lift_bans(s, KEY, "anne", CARD, site=SITE)


def test_the_door_answers_from_its_copy_after_a_snapshot(
    sessions: sessionmaker[Session], door_db: sessionmaker[Session]
) -> None:
    now = datetime.now(UTC)
    with sessions.begin() as s:
        lists.define_group(
            s, "anne", lists.GroupSpec("staff", parse_windows("mon-sun 06:00-23:00")), site=SITE
        )
        lists.add_member(s, KEY, "anne", "staff", CARD, name="Bo", pin="4321", site=SITE)
        lists.ban(
            s,
            KEY,
            "anne",
            CPR,
            until=now + timedelta(days=7),
            reason="x",
            doors=frozenset({"main"}),
            site=SITE,
        )
        code = lists.issue_code(
            s,
            KEY,
            "anne",
            "carpenter",
            valid_from=now,
            valid_until=now + timedelta(hours=2),
            max_uses=2,
            site=SITE,
        )
        lists.sign_up(s, KEY, "anne", CPR, site=SITE)
    with sessions() as s:
        payload = list_snapshot.encode(list_snapshot.take(s))
    with door_db.begin() as s:
        assert list_snapshot.apply(s, list_snapshot.decode(payload))
    door = LocalLists(door_db, KEY)
    card = door.answer(KEY.credential_hash(CARD), "4321", "main")
    assert [m.group.name for m in card.memberships] == ["staff"]
    assert card.member_pin is PinCheck.OK
    assert door.answer(KEY.credential_hash(CARD), "1111", "main").member_pin is PinCheck.WRONG
    cpr = door.answer(KEY.credential_hash(CPR), None, "main")
    assert cpr.signed_up and len(cpr.bans) == 1 and cpr.bans[0].doors == {"main"}
    assert cpr.bans[0].until is not None and cpr.bans[0].until > now
    code_hash = KEY.credential_hash(Credential(CredentialKind.CODE, code))
    found = door.code(code_hash, "main").code
    assert found is not None and found.label == "carpenter" and found.max_uses == 2
    door.code_used(code_hash)
    assert door.code(code_hash, "main").code.uses == 1  # type: ignore[union-attr]
    assert door.code("0" * 64, "main").code is None


def test_a_snapshot_is_applied_only_when_newer_and_keeps_the_doors_code_uses(
    sessions: sessionmaker[Session], door_db: sessionmaker[Session]
) -> None:
    now = datetime.now(UTC)
    with sessions.begin() as s:
        code = lists.issue_code(
            s,
            KEY,
            "anne",
            "speaker",
            valid_from=now,
            valid_until=now + timedelta(hours=2),
            site=SITE,
        )
    with sessions() as s:
        first = list_snapshot.take(s)
    with door_db.begin() as s:
        assert list_snapshot.apply(s, first)
        assert not list_snapshot.apply(s, first)  # the same version again: nothing to do
    code_hash = KEY.credential_hash(Credential(CredentialKind.CODE, code))
    LocalLists(door_db, KEY).code_used(code_hash)
    with sessions.begin() as s:
        lists.sign_up(s, KEY, "anne", CARD, site=SITE)
        second = list_snapshot.take(s)
    with door_db.begin() as s:
        assert list_snapshot.apply(s, second)
    assert LocalLists(door_db, KEY).code(code_hash, "main").code.uses == 1  # type: ignore[union-attr]
    assert LocalLists(door_db, KEY).answer(KEY.credential_hash(CARD), None, "main").signed_up


def test_a_bad_snapshot_changes_nothing(door_db: sessionmaker[Session]) -> None:
    with door_db.begin() as s:
        list_snapshot.apply(
            s, {"version": 1, "groups": [], "bans": [], "codes": [], "signups": ["h"]}
        )
    with pytest.raises(list_snapshot.SnapshotError, match="not JSON"):
        list_snapshot.decode(b"{")
    with pytest.raises(list_snapshot.SnapshotError, match="version"):
        list_snapshot.decode(b'{"groups": []}')
    broken = {
        "version": 2,
        "groups": [{"name": "x", "windows": "tue 16:00-13:00"}],
        "bans": [],
        "codes": [],
        "signups": [],
    }
    with pytest.raises(list_snapshot.SnapshotError, match="snapshot 2"), door_db.begin() as s:
        list_snapshot.apply(s, broken)
    with door_db() as s:
        assert lists.current_version(s) == 1
    assert LocalLists(door_db, KEY).answer("h", None, "main").signed_up


def test_expired_bans_are_tidied_and_lifted_ones_gone(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        lists.ban(
            s,
            KEY,
            "anne",
            CARD,
            until=datetime.now(UTC) + timedelta(seconds=1),
            reason="x",
            site=SITE,
        )
        lists.ban(s, KEY, "anne", CPR, until=None, reason="y", site=SITE)
    with sessions.begin() as s:
        assert lists.expire_bans(s, datetime.now(UTC) + timedelta(seconds=2)) == 1
        assert lists.lift_bans(s, KEY, "anne", CPR, site=SITE) == 1
        assert lists.counts(s)["bans"] == 0


def test_groups_are_redefined_and_removed_with_their_members(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as s:
        lists.define_group(s, "anne", IT_CAFE, site=SITE)
        lists.add_member(
            s, KEY, "anne", "IT-café", CARD, name="Bo", expires=date(2027, 6, 30), site=SITE
        )
        assert not lists.define_group(s, "anne", IT_CAFE, site=SITE)
        assert lists.remove_group(s, "anne", "IT-café", site=SITE) == 1
        assert lists.counts(s)["members"] == 0
