"""Room bookings on the server (SQLite and PostgreSQL): the rules, cancelling, the no-show
release from the recorder's events, and the snapshot that carries them to a door's copy."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from services.core.credentials import Credential, SiteKey
from services.core.events import EventType
from services.core.holidays import DanishHolidays
from services.core.hours import OpeningHours, parse_intervals
from services.core.rooms import BookingState, Room, RoomRules
from services.core.schedule import Schedule
from services.patrons import access_lists as lists
from services.patrons import bookings, list_snapshot
from services.patrons.local_lookup import LocalLists
from services.store.access_lists import ListAudit
from services.store.engine import make_engine, make_sessionmaker
from services.store.recorder import EventRecord
from services.store.rooms import RoomBookingRecord
from services.store.schema import create_schema

KEY = SiteKey(b"k" * 32)
CARD = Credential.from_text("12345678")
OTHER = Credential.from_text("87654321")
CPH = ZoneInfo("Europe/Copenhagen")
# Wednesday 2 December 2026: self-service 07-22, staffed 10-18 on weekdays.
NOW = datetime(2026, 12, 2, 8, 30, tzinfo=CPH)
WEEK = (parse_intervals("07:00-22:00"),) * 7
STAFFED = (parse_intervals("10:00-18:00"),) * 5 + ((), ())
SCHEDULE = Schedule(
    OpeningHours(WEEK, STAFFED), CPH, DanishHolidays(lambda years: {y: {} for y in years})
)
STUDY = Room("study", frozenset({"basement"}), RoomRules(slot_minutes=60, no_show_minutes=15))
EVENING = datetime(2026, 12, 2, 19, 0, tzinfo=CPH)


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    create_schema(engine)
    return make_sessionmaker(engine)


@pytest.fixture
def door_db(tmp_path) -> Iterator[sessionmaker[Session]]:  # type: ignore[no-untyped-def]
    eng = make_engine(f"sqlite:///{tmp_path / 'door.sqlite'}")
    create_schema(eng)
    yield make_sessionmaker(eng)
    eng.dispose()


def book(
    s: Session, start: datetime = EVENING, who: Credential = CARD, **kw: object
) -> bookings.BookingView:
    args = {"companions": 2, "via": "patron", "booked_by": "foyer", "now": NOW, **kw}
    return bookings.book(s, KEY, "glostrup", STUDY, SCHEDULE, who, start, **args)  # type: ignore[arg-type]


def test_a_booking_is_kept_by_keyed_hash_audited_and_raises_the_version(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as s:
        made = book(s)
    assert made.end == EVENING + timedelta(hours=1) and made.companions == 2
    assert made.pseudonym == KEY.pseudonym(CARD)
    with sessions() as s:
        assert lists.current_version(s) == 1
        [row] = s.scalars(select(RoomBookingRecord))
        assert row.credential_hash == KEY.credential_hash(CARD) and row.via == "patron"
        audit = s.scalars(select(ListAudit)).one()
        assert audit.action == "room.book" and audit.subject == made.pseudonym
        dump = " ".join(str(v) for r in s.execute(text("SELECT * FROM room_bookings")) for v in r)
    assert "12345678" not in dump


def test_the_rules_refuse_with_a_code_and_change_nothing(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        book(s)
    for start, who, extra, code in (
        (EVENING, OTHER, {}, "taken"),
        (EVENING.replace(hour=12), OTHER, {}, "not_offered"),  # staffed hours
        (EVENING.replace(hour=20), OTHER, {"companions": 6}, "too_many_companions"),
    ):
        with pytest.raises(bookings.BookingError) as refused, sessions.begin() as s:
            book(s, start, who, **extra)
        assert refused.value.code == code
    with sessions.begin() as s:
        book(s, EVENING + timedelta(days=1))
    with pytest.raises(bookings.BookingError) as refused, sessions.begin() as s:
        book(s, EVENING + timedelta(days=2))
    assert refused.value.code == "week_full"
    with sessions() as s:
        assert len(s.scalars(select(RoomBookingRecord)).all()) == 2
        assert lists.current_version(s) == 2  # the refused ones rolled back their version too


def test_free_slots_leave_out_the_booked_one(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        before = bookings.free(s, "glostrup", STUDY, SCHEDULE, NOW)
        book(s)
        after = bookings.free(s, "glostrup", STUDY, SCHEDULE, NOW)
    assert [x for x in before if x not in after] == [x for x in before if x.start == EVENING]
    assert len(before) - len(after) == 1


def test_the_kiosk_cancels_only_the_bookers_own(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        made = book(s)
    with pytest.raises(bookings.BookingError, match="no booking"), sessions.begin() as s:
        bookings.cancel(
            s,
            "glostrup",
            made.id,
            actor="foyer",
            now=NOW,
            credential_hash=KEY.credential_hash(OTHER),
        )
    with pytest.raises(bookings.BookingError, match="no booking"), sessions.begin() as s:
        bookings.cancel(s, "brondby", made.id, actor="anne", now=NOW)  # another site's
    with sessions.begin() as s:
        mine = KEY.credential_hash(CARD)
        done = bookings.cancel(s, "glostrup", made.id, actor="foyer", now=NOW, credential_hash=mine)
    assert done.state is BookingState.CANCELLED
    with sessions.begin() as s:
        assert bookings.own_bookings(s, KEY, "glostrup", CARD, NOW) == []
        book(s, who=OTHER)  # the slot is free again


def test_todays_bookings_and_the_bookers_own(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        tonight = book(s)
        book(s, EVENING + timedelta(days=1))
        book(s, EVENING.replace(hour=20), OTHER)
    with sessions() as s:
        today = bookings.todays(s, "glostrup", NOW, CPH)
        assert [b.start.astimezone(CPH).hour for b in today] == [19, 20]
        own = bookings.own_bookings(s, KEY, "glostrup", CARD, NOW)
        assert [b.start for b in own] == [EVENING, EVENING + timedelta(days=1)]
        assert own[0].id == tonight.id
        assert bookings.todays(s, "brondby", NOW, CPH) == []


def _entry(s: Session, pseudonym: str, at: datetime, door: str = "basement") -> None:
    s.add(
        EventRecord(
            id=f"e-{at.timestamp()}-{door}",
            site="glostrup",
            ts=at,
            type=str(EventType.ACCESS_GRANTED),
            source=door,
            reason="booking",
            credential=pseudonym,
            details={},
            received=at,
        )
    )


def test_settle_marks_the_booker_who_came_used_and_releases_the_no_show(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as s:
        came = book(s)
        away = book(s, EVENING.replace(hour=20), OTHER)
        _entry(s, came.pseudonym, EVENING + timedelta(minutes=5))
        _entry(s, away.pseudonym, EVENING.replace(hour=20, minute=3), door="main")  # not the room
    with sessions.begin() as s:
        assert bookings.settle(s, "glostrup", (STUDY,), EVENING + timedelta(minutes=10)) == [
            came.id
        ]
        assert bookings.settle(s, "glostrup", (STUDY,), EVENING.replace(hour=20, minute=14)) == []
        assert bookings.settle(s, "glostrup", (STUDY,), EVENING.replace(hour=20, minute=15)) == [
            away.id
        ]
    with sessions() as s:
        states = {r.id: r.state for r in s.scalars(select(RoomBookingRecord))}
        assert states == {came.id: "used", away.id: "released"}
        assert lists.current_version(s) == 4  # two bookings, two settles


def test_the_snapshot_carries_the_bookings_and_the_door_keeps_its_entries(
    sessions: sessionmaker[Session], door_db: sessionmaker[Session]
) -> None:
    rooms = LocalLists(door_db, KEY, rooms=(STUDY,))
    with sessions.begin() as s:
        made = book(s)
        payload = list_snapshot.encode(list_snapshot.take(s, "glostrup", NOW))
        assert list_snapshot.take(s, "brondby", NOW)["bookings"] == []
    with door_db.begin() as s:
        assert list_snapshot.apply(s, list_snapshot.decode(payload))
    answer = rooms.answer(KEY.credential_hash(CARD), None, "basement")
    assert answer.room == STUDY and [b.id for b in answer.bookings] == [made.id]
    assert rooms.answer(KEY.credential_hash(CARD), None, "main").room is None
    rooms.booking_entered(KEY.credential_hash(CARD), EVENING + timedelta(minutes=2))
    with sessions.begin() as s:
        book(s, EVENING.replace(hour=20), OTHER)
        second = list_snapshot.take(s, "glostrup", NOW)
    with door_db.begin() as s:
        assert list_snapshot.apply(s, second)
    [kept] = rooms.answer(KEY.credential_hash(CARD), None, "basement").bookings
    assert kept.entered == (EVENING + timedelta(minutes=2)).astimezone(UTC)


def test_a_snapshot_from_before_rooms_applies_as_no_bookings(
    door_db: sessionmaker[Session],
) -> None:
    old = {"version": 3, "groups": [], "bans": [], "codes": [], "signups": []}
    with door_db.begin() as s:
        assert list_snapshot.apply(s, list_snapshot.decode(list_snapshot.encode(old)))
    assert LocalLists(door_db, KEY, rooms=(STUDY,)).answer("h", None, "basement").bookings == ()


def test_a_snapshot_with_a_bad_booking_changes_nothing(door_db: sessionmaker[Session]) -> None:
    good = {"version": 1, "groups": [], "bans": [], "codes": [], "signups": ["h"]}
    with door_db.begin() as s:
        list_snapshot.apply(s, good)
    bad = {
        **good,
        "version": 2,
        "bookings": [[1, "x", "study", "tonight", "", "h", 0, "booked", ""]],
    }
    with pytest.raises(list_snapshot.SnapshotError), door_db.begin() as s:
        list_snapshot.apply(s, bad)
    with door_db() as s:
        assert lists.current_version(s) == 1


def test_the_servers_keeper_releases_a_no_show_and_the_slot_is_free_again(
    sessions: sessionmaker[Session],
) -> None:
    from services.patrons.room_keeper import RoomKeeper

    with sessions.begin() as s:
        made = book(s)
    late = EVENING + timedelta(minutes=15)
    keeper = RoomKeeper(sessions, "glostrup", (STUDY,), lambda: late)
    assert keeper.settle_now() == [made.id]
    assert keeper.settle_now() == []
    with sessions.begin() as s:
        assert any(x.start == EVENING for x in bookings.free(s, "glostrup", STUDY, SCHEDULE, late))
        book(s, EVENING, OTHER, now=late)  # someone at the kiosk takes the rest of it
