"""A local ban against the library system's yes: online over SIP2, and from its offline cache."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from services.core.access import AccessRules, Decision, DoorContext, Reason, decide
from services.core.schedule import OpeningState
from services.patrons.local_lookup import LocalLists
from services.store.access_lists import SNAPSHOT_TABLES, BanRecord, ListsVersion
from services.store.base import Base
from services.store.engine import make_sessionmaker
from services.store.rooms import RoomBookingRecord
from tests.services.sip2.conftest import SITE_KEY, DoorRig
from tests.services.sip2.faults import FaultProxy
from tests.services.sip2.test_directory import SOREN, go_offline

SELF = DoorContext(opening=OpeningState.SELF_SERVICE)
NOW = datetime(2026, 11, 25, 20, 0, tzinfo=ZoneInfo("Europe/Copenhagen"))


def at_the_door(rig: DoorRig, local: LocalLists, pin: str) -> Decision:
    auth = rig.directory.authenticate(SOREN, pin)
    answer = local.answer(SITE_KEY.credential_hash(SOREN), pin, "main")
    return decide(NOW, auth, SELF, AccessRules(), answer)


def test_a_ban_wins_over_the_library_systems_yes_online_and_from_its_cache(
    door_rig: DoorRig, proxy: FaultProxy, cache_engine: Engine
) -> None:
    tables = [*SNAPSHOT_TABLES, ListsVersion.__table__, RoomBookingRecord.__table__]
    Base.metadata.create_all(cache_engine, tables=tables)  # type: ignore[list-item]
    sessions = make_sessionmaker(cache_engine)
    local = LocalLists(sessions, SITE_KEY)
    assert at_the_door(door_rig, local, "1234") == Decision.grant()  # known, cached now
    with sessions.begin() as session:
        session.add(BanRecord(credential_hash=SITE_KEY.credential_hash(SOREN), reason="x"))
    local.load()  # the door reads its stored copy into memory, as at a restart
    assert at_the_door(door_rig, local, "1234").reason is Reason.BANNED
    go_offline(door_rig, proxy)
    offline = door_rig.directory.authenticate(SOREN, "1234")
    assert offline.patron is not None  # the cache still says yes...
    assert at_the_door(door_rig, local, "1234").reason is Reason.BANNED  # ...the ban wins
