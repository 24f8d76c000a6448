"""The door's copy of the lists in memory: swapped whole when a snapshot is applied, loaded from
the controller's database at start, and read without a query on the way to the relay."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from services.core.credentials import Credential, CredentialKind, SiteKey
from services.core.groups import parse_windows
from services.patrons import access_lists as lists
from services.patrons import list_snapshot
from services.patrons.list_distribution import ListReceiver
from services.patrons.list_index import build_index
from services.patrons.local_lookup import LocalLists
from services.store.engine import make_engine, make_sessionmaker
from services.store.schema import create_schema
from tests.conftest import Queries

SITE = "glostrup"
KEY = SiteKey(b"k" * 32)
CARD = Credential.from_text("12345678")
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def door(tmp_path: Path) -> Iterator[tuple[Engine, sessionmaker[Session]]]:
    engine = make_engine(f"sqlite:///{tmp_path / 'door.sqlite'}")
    create_schema(engine)
    yield engine, make_sessionmaker(engine)
    engine.dispose()


def snapshot(version: int, **parts: Any) -> dict[str, Any]:
    empty: dict[str, Any] = {"groups": [], "bans": [], "codes": [], "signups": []}
    return {"version": version, **empty, **parts}


def group(name: str, windows: str, *members: str) -> dict[str, Any]:
    return {
        "name": name,
        "windows": windows,
        "doors": "",
        "valid_from": None,
        "valid_until": None,
        "pin_required": False,
        "when_armed": "refuse",
        "members": [[h, None, None] for h in members],
    }


def payload(snap: dict[str, Any]) -> bytes:
    return list_snapshot.encode(snap)


def test_an_applied_snapshot_decides_the_next_lookup_without_reading_the_database(
    door: tuple[Engine, sessionmaker[Session]],
) -> None:
    engine, sessions = door
    local = LocalLists(sessions, KEY)
    receiver = ListReceiver(sessions, local)
    card = KEY.credential_hash(CARD)
    code = KEY.credential_hash(Credential(CredentialKind.CODE, "246810"))
    window = [NOW.isoformat(), (NOW + timedelta(hours=2)).isoformat()]
    snap = snapshot(
        1,
        groups=[group("staff", "mon-sun 06:00-23:00", card)],
        bans=[[card, None, "main"]],
        codes=[[code, "carpenter", *window, 2, 0, ""]],
        signups=[card],
    )
    assert local.answer(card, None, "main").bans == ()
    assert receiver.submit(payload(snap)).result(10)
    queries = Queries(engine)
    answer = local.answer(card, None, "main")
    typed = local.code(code, "main").code
    assert queries.count == 0  # dict gets, no query
    assert [m.group.name for m in answer.memberships] == ["staff"]
    assert answer.bans[0].doors == {"main"} and answer.signed_up
    assert typed is not None and typed.label == "carpenter" and typed.max_uses == 2
    assert local.index.version == 1
    receiver.close()


def test_a_snapshot_that_fails_to_apply_leaves_the_old_one_in_force(
    door: tuple[Engine, sessionmaker[Session]],
) -> None:
    _, sessions = door
    local = LocalLists(sessions, KEY)
    receiver = ListReceiver(sessions, local)
    card = KEY.credential_hash(CARD)
    assert receiver.apply(payload(snapshot(1, bans=[[card, None, ""]])))
    before = local.index
    bad_window = snapshot(2, groups=[group("night", "tue 16:00-13:00", card)])
    bad_code = snapshot(3, codes=[[card, "x", None, None, 1, 0, ""]])
    bad_shape = snapshot(4, bans=[[card, None]])
    for bad in (bad_window, bad_code, bad_shape):
        assert not receiver.apply(payload(bad))
    assert not receiver.apply(b"{not json")
    assert not receiver.apply(payload(snapshot(1)))  # not newer: the copy held stays too
    assert local.index is before and len(local.answer(card, None, "").bans) == 1
    assert receiver.version() == 1  # nor did the database change
    receiver.close()


def test_a_restart_loads_the_stored_copy(door: tuple[Engine, sessionmaker[Session]]) -> None:
    _, sessions = door
    card = KEY.credential_hash(CARD)
    code = KEY.credential_hash(Credential(CredentialKind.CODE, "135790"))
    window = [NOW.isoformat(), (NOW + timedelta(hours=2)).isoformat()]
    first = LocalLists(sessions, KEY)
    receiver = ListReceiver(sessions, first)
    snap = snapshot(
        7,
        groups=[group("cleaners", "mon-fri 05:30-07:30", card)],
        bans=[[card, (NOW + timedelta(days=1)).isoformat(), ""]],
        codes=[[code, "speaker", *window, 3, 0, "main"]],
    )
    assert receiver.apply(payload(snap))
    first.code_used(code)
    receiver.close()
    again = LocalLists(sessions, KEY)  # a new controller process on the same file
    assert again.index.version == 7
    answer = again.answer(card, None, "main")
    assert answer.memberships[0].group.windows == parse_windows("mon-fri 05:30-07:30")
    assert answer.bans[0].until == NOW + timedelta(days=1)
    typed = again.code(code, "main").code
    assert typed is not None and typed.uses == 1 and typed.doors == {"main"}


def test_the_index_is_what_the_server_snapshot_says(
    door: tuple[Engine, sessionmaker[Session]],
) -> None:
    """The index of the server's snapshot and the one loaded back from the door's stored copy are
    the same: one wire format, read in one place."""
    _, server = door
    with server.begin() as s:
        lists.define_group(
            s, "anne", lists.GroupSpec("staff", parse_windows("mon 08:00-09:00")), site=SITE
        )
        lists.add_member(s, KEY, "anne", "staff", CARD, name="Bo", pin="4321", site=SITE)
        lists.ban(s, KEY, "anne", CARD, until=None, reason="not shown at the door", site=SITE)
        lists.sign_up(s, KEY, "anne", CARD, site=SITE)
    with server() as s:
        taken = list_snapshot.take(s)
    index = build_index(taken)
    card = KEY.credential_hash(CARD)
    member = index.members[card][0]
    assert member.membership.group.name == "staff" and member.pin_hash is not None
    assert index.bans[card][0].reason == ""  # reasons stay on the server
    assert card in index.signups and index.version == taken["version"]


def test_a_snapshot_with_a_section_this_door_does_not_know_still_applies(
    door: tuple[Engine, sessionmaker[Session]],
) -> None:
    """A newer server may add a section (rooms, say): an older door applies the rest."""
    _, sessions = door
    local = LocalLists(sessions, KEY)
    receiver = ListReceiver(sessions, local)
    card = KEY.credential_hash(CARD)
    newer = snapshot(2, bans=[[card, None, ""]], rooms=[{"name": "study", "bookings": []}])
    assert receiver.apply(payload(newer))
    assert local.index.version == 2 and local.answer(card, None, "").bans
    receiver.close()
