"""A bookable room's door end to end: a booking made on the server reaches the controller in
the lists' snapshot, and the controller on MockFactory pins decides from its copy: the booker in
the slot, not outside it, nobody else; a no-show loses the room; the booker who came may come
back after the no-show time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from services.core.credentials import Credential, SiteKey
from services.core.events import EventType
from services.core.readers import CardRead, PinEntered
from services.patrons import bookings, list_snapshot
from services.patrons.list_distribution import ListReceiver
from services.runtime.holiday_file import site_schedule
from services.settings import Settings
from services.store.engine import make_engine, make_sessionmaker
from services.store.recorder import EventRecord
from services.store.rooms import RoomBookingRecord
from services.store.schema import create_schema
from tests.hardware.test_controller import CARD, CPH, DOOR, PIN, Rig, build_rig

KEY = SiteKey(b"k" * 32)  # the rig's
FREJA, FREJA_PIN = "10000003", "1111"  # enrolled by the rig, no booking of her own at first
SETTINGS = Settings.model_validate(
    {
        "schedule": {"staffed": {"wed": "10:00-18:00"}},
        "doors": {"basement": {**DOOR.model_dump(), "entrance": False}},
        "rooms": {"study": {"doors": ["basement"], "slot_minutes": 60, "no_show_minutes": 15}},
    }
)
STUDY = SETTINGS.room_list()[0]
# Wednesday 25 November 2026, self-service after 18:00.
BOOKED_AT = datetime(2026, 11, 25, 17, 0, tzinfo=CPH)
SLOT = datetime(2026, 11, 25, 20, 0, tzinfo=CPH)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(f"sqlite:///{tmp_path / 'server.sqlite'}")
    create_schema(engine)
    yield make_sessionmaker(engine)
    engine.dispose()


def book(server: sessionmaker[Session], card: str, start: datetime, companions: int = 0) -> None:
    with server.begin() as s:
        bookings.book(
            s,
            KEY,
            SETTINGS.site.id,
            STUDY,
            site_schedule(SETTINGS),
            Credential.from_text(card),
            start,
            companions=companions,
            via="staff",
            booked_by="anne",
            now=BOOKED_AT,
        )


def distribute(server: sessionmaker[Session], rig: Rig) -> None:
    """What the recorder's publisher and the controller's receiver do over the bus."""
    with server() as s:
        payload = list_snapshot.encode(list_snapshot.take(s, SETTINGS.site.id, BOOKED_AT))
    assert ListReceiver(rig.sessions).apply(payload)


def at(rig: Rig, moment: datetime) -> None:
    rig.hold((moment - rig.clock.wall).total_seconds())


def entered(rig: Rig, card: str | None = CARD, pin: str = PIN) -> str:
    if card is None:  # the card is already waiting for its PIN
        rig.ctl.on_reader_input(f"{rig.door}.1.pinpad", PinEntered(pin))
        assert rig.ctl.wait_idle()
    else:
        rig.swipe(card, pin)
    granted = rig.lock_released
    last = rig.sink.last(EventType.ACCESS_GRANTED if granted else EventType.ACCESS_DENIED)
    rig.hold(6)  # the lock falls back; the next swipe is a new entry
    return f"{'granted' if granted else 'denied'}:{last.reason}"


@pytest.fixture
def rig(tmp_path: Path, server: sessionmaker[Session]) -> Iterator[Rig]:
    book(server, CARD, SLOT, companions=1)
    book(server, FREJA, SLOT + timedelta(hours=1))
    rig = build_rig(tmp_path, SETTINGS, SLOT - timedelta(minutes=5), door="basement")
    distribute(server, rig)
    yield rig


def test_the_booker_is_admitted_in_the_slot_only(rig: Rig) -> None:
    assert entered(rig) == "denied:room_not_booked"  # five minutes early
    at(rig, SLOT + timedelta(minutes=1))
    assert entered(rig) == "granted:booking"
    at(rig, SLOT + timedelta(hours=1, minutes=1))
    assert entered(rig) == "denied:room_not_booked"  # the slot is over


def test_another_patron_is_refused_in_the_bookers_slot(rig: Rig) -> None:
    at(rig, SLOT + timedelta(minutes=1))
    assert entered(rig, FREJA, FREJA_PIN) == "denied:room_not_booked"


def test_a_no_show_loses_the_room(rig: Rig) -> None:
    at(rig, SLOT + timedelta(hours=1, minutes=15))
    assert entered(rig, FREJA, FREJA_PIN) == "denied:room_not_booked"


def test_the_booker_who_came_may_come_back_after_the_no_show_time(rig: Rig) -> None:
    at(rig, SLOT + timedelta(minutes=10))
    assert entered(rig) == "granted:booking"
    at(rig, SLOT + timedelta(minutes=40))
    assert entered(rig) == "granted:booking"


def with_companions(rig: Rig, count: int) -> str:
    """Card, the companions ('N#'), then the PIN: the pad's documented sequence."""
    rig.ctl.on_reader_input(f"{rig.door}.0.em4100", CardRead(Credential.from_text(CARD)))
    rig.ctl.on_reader_input(f"{rig.door}.1.pinpad", PinEntered(str(count)))
    return entered(rig, None, PIN)


def test_the_booker_brings_the_companions_the_booking_names(rig: Rig) -> None:
    at(rig, SLOT + timedelta(minutes=1))
    assert with_companions(rig, 2) == "denied:too_many_companions"  # the booking names one
    assert with_companions(rig, 1) == "granted:booking"


def test_the_server_settles_from_the_doors_entries_and_the_door_follows(
    rig: Rig, server: sessionmaker[Session]
) -> None:
    at(rig, SLOT + timedelta(minutes=3))
    assert entered(rig) == "granted:booking"
    came = rig.sink.last(EventType.ACCESS_GRANTED)
    with server.begin() as s:  # what the recorder keeps of the door's event
        s.add(
            EventRecord(
                id=came.id,
                site=SETTINGS.site.id,
                ts=came.ts,
                type=str(came.type),
                source=came.source,
                reason=came.reason,
                credential=came.credential,
                details=dict(came.details),
                received=came.ts,
            )
        )
    late = SLOT + timedelta(hours=1, minutes=15)
    with server.begin() as s:
        settled = bookings.settle(s, SETTINGS.site.id, (STUDY,), late)
    with server() as s:
        states = [
            r.state for r in s.scalars(select(RoomBookingRecord).order_by(RoomBookingRecord.id))
        ]
    assert len(settled) == 2 and states == ["used", "released"]
    distribute(server, rig)
    with rig.sessions() as s:
        held = [r.state for r in s.scalars(select(RoomBookingRecord))]
    assert held == ["used"]  # the released one is gone from the door's copy
