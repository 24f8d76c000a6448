"""The event program: check-in windows, capacity under concurrency, registration, publishing."""

from __future__ import annotations

import json
import multiprocessing
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, func, select

from services.bus.client import MqttBus
from services.bus.outbox import Outbox, OutboxPublisher
from services.bus.topics import Topics
from services.program.desk import ProgramDesk
from services.program.store import (
    ActivitySpec,
    CheckInOutcome,
    RegisterOutcome,
    activities_between,
    upsert_activities,
)
from services.settings import MqttSettings
from services.store.base import Base
from services.store.engine import make_engine, make_sessionmaker
from services.store.program import PROGRAM_TABLES, ProgramActivity, ProgramCheckIn
from tests.conftest import Broker

ZONE = ZoneInfo("Europe/Copenhagen")
START = datetime(2026, 3, 3, 14, 0, tzinfo=ZONE)
WINDOW = timedelta(minutes=30)


class Clock:
    """A wall clock the test moves."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def db(engine: Engine) -> Engine:
    """The shared ``engine`` (SQLite and PostgreSQL) with the program's tables."""
    Base.metadata.create_all(engine, tables=list(PROGRAM_TABLES))
    return engine


def add_event(engine: Engine, uid: str = "strik", **fields: object) -> None:
    """Store one event starting at START, two hours long unless told otherwise."""
    spec = {"uid": uid, "title": "Strikkecafé", "starts": START, "ends": START + timedelta(hours=2)}
    spec.update(fields)
    with make_sessionmaker(engine).begin() as session:
        upsert_activities(session, [ActivitySpec(**spec)])  # type: ignore[arg-type]


def desk(engine: Engine, clock: Callable[[], datetime], kiosk: str = "k1") -> ProgramDesk:
    """A desk without publishing."""
    return ProgramDesk(make_sessionmaker(engine), kiosk=kiosk, clock=clock, window=WINDOW)


def test_check_in_opens_30_minutes_before_the_start_and_closes_at_the_end(db: Engine) -> None:
    add_event(db)
    clock = Clock(START - WINDOW - timedelta(seconds=1))
    d = desk(db, clock)
    assert d.check_in("strik", patron_id="p-1").outcome is CheckInOutcome.NOT_OPEN_YET
    clock.now = START - WINDOW
    assert d.check_in("strik", patron_id="p-1").ok
    clock.now = START + timedelta(hours=2)
    assert d.check_in("strik", patron_id="p-2").outcome is CheckInOutcome.ENDED
    assert d.check_in("nope", patron_id="p-2").outcome is CheckInOutcome.NO_SUCH_EVENT


def test_a_patron_checks_in_once(db: Engine) -> None:
    add_event(db)
    d = desk(db, Clock(START))
    assert d.check_in("strik", patron_id="p-1").ok
    again = d.check_in("strik", patron_id="p-1")
    assert again.outcome is CheckInOutcome.ALREADY and again.title == "Strikkecafé"
    assert [e.attendance for e in d.upcoming(1)] == [1]


def test_guests_count_by_head_count_within_the_capacity(db: Engine) -> None:
    add_event(db, capacity=5)
    d = desk(db, Clock(START))
    assert d.check_in("strik", head_count=3).head_count == 3
    assert d.check_in("strik", head_count=3).outcome is CheckInOutcome.FULL
    assert d.check_in("strik", head_count=2).ok
    assert d.check_in("strik", patron_id="p-1").outcome is CheckInOutcome.FULL
    assert d.check_in("strik", head_count=0).outcome is CheckInOutcome.BAD_HEAD_COUNT
    (item,) = d.upcoming(1)
    assert (item.attendance, item.seats_taken, item.seats_left) == (5, 5, 0)


def test_registration_books_a_seat_that_check_in_does_not_take_twice(db: Engine) -> None:
    add_event(db, capacity=2, registration=True)
    clock = Clock(START - timedelta(days=1))
    d = desk(db, clock)
    assert d.register("strik", patron_id="p-1") is RegisterOutcome.REGISTERED
    assert d.register("strik", patron_id="p-1") is RegisterOutcome.ALREADY
    assert d.register("strik", patron_id="p-2") is RegisterOutcome.REGISTERED
    assert d.register("strik", patron_id="p-3") is RegisterOutcome.FULL
    clock.now = START
    assert d.register("strik", patron_id="p-4") is RegisterOutcome.STARTED
    assert d.check_in("strik", patron_id="p-1").ok  # their own seat
    assert d.check_in("strik", patron_id="p-3").outcome is CheckInOutcome.FULL  # no walk-in seat
    (item,) = d.upcoming(1)
    assert (item.seats_taken, item.attendance) == (2, 1)


def test_registration_is_only_for_events_that_need_it(db: Engine) -> None:
    add_event(db)
    d = desk(db, Clock(START - timedelta(days=1)))
    assert d.register("strik", patron_id="p-1") is RegisterOutcome.NOT_NEEDED
    assert d.register("nope", patron_id="p-1") is RegisterOutcome.NO_SUCH_EVENT


def _race(workers: int, job: Callable[[int], object]) -> list[object]:
    """Run ``job(i)`` in ``workers`` threads released at the same instant."""
    barrier = threading.Barrier(workers)
    results: list[object] = [None] * workers

    def run(i: int) -> None:
        barrier.wait()
        results[i] = job(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


def test_kiosks_checking_in_at_the_same_moment_never_exceed_the_capacity(db: Engine) -> None:
    add_event(db, capacity=5)
    desks = [desk(db, Clock(START), kiosk=f"k{i}") for i in range(12)]
    results = _race(12, lambda i: desks[i].check_in("strik", patron_id=f"p-{i}").outcome)
    assert results.count(CheckInOutcome.CHECKED_IN) == 5
    assert results.count(CheckInOutcome.FULL) == 7
    with make_sessionmaker(db)() as session:
        assert session.scalar(select(func.count()).select_from(ProgramCheckIn)) == 5
        assert session.scalar(select(ProgramActivity.seats_taken)) == 5


def test_one_card_at_several_kiosks_at_once_checks_in_once(db: Engine) -> None:
    add_event(db, capacity=50)
    desks = [desk(db, Clock(START), kiosk=f"k{i}") for i in range(8)]
    results = _race(8, lambda i: desks[i].check_in("strik", patron_id="p-same").outcome)
    assert results.count(CheckInOutcome.CHECKED_IN) == 1
    assert results.count(CheckInOutcome.ALREADY) == 7
    (item,) = desks[0].upcoming(1)
    assert (item.seats_taken, item.attendance) == (1, 1)


def _process_check_ins(url: str, first: int, count: int, start: datetime) -> list[str]:
    """Run in a separate process: ``count`` check-ins with its own engine."""
    engine = make_engine(url)
    d = ProgramDesk(make_sessionmaker(engine), kiosk=f"proc{first}", clock=lambda: start)
    out = [str(d.check_in("strik", patron_id=f"p-{first + n}").outcome) for n in range(count)]
    engine.dispose()
    return out


def test_kiosk_processes_sharing_one_sqlite_file_respect_the_capacity(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.sqlite'}"
    engine = make_engine(url)
    Base.metadata.create_all(engine, tables=list(PROGRAM_TABLES))
    add_event(engine, capacity=7)
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(4) as pool:
        batches = pool.starmap(_process_check_ins, [(url, i * 10, 5, START) for i in range(4)])
    outcomes = [o for batch in batches for o in batch]
    assert outcomes.count("checked_in") == 7 and outcomes.count("full") == 13
    with make_sessionmaker(engine)() as session:
        assert session.scalar(select(func.count()).select_from(ProgramCheckIn)) == 7
    engine.dispose()


def test_events_between_lists_running_and_coming_events_in_time_order(db: Engine) -> None:
    later = START + timedelta(days=3)
    add_event(db, "later", title="Foredrag", starts=later, ends=later + timedelta(hours=1))
    add_event(db, "now")
    add_event(db, "past", starts=START - timedelta(days=1), ends=START - timedelta(hours=20))
    with make_sessionmaker(db)() as session:
        found = activities_between(session, START + timedelta(hours=1), START + timedelta(days=14))
    assert [e.uid for e in found] == ["now", "later"]
    assert found[0].check_in_open(START + timedelta(hours=1), WINDOW)
    assert not found[1].check_in_open(START + timedelta(hours=1), WINDOW)


@pytest.fixture
def published(
    mqtt_broker: Broker, tmp_path: Path
) -> Iterator[tuple[Outbox, OutboxPublisher, list[bytes]]]:
    """An outbox delivered by a real publisher, and what a listener on the kiosk topic hears."""
    settings = MqttSettings(host=mqtt_broker.host, port=mqtt_broker.port)
    topics = Topics("aabent", "test-program")
    heard: list[bytes] = []
    got = threading.Event()
    listener = MqttBus(settings, "listener-program", "listener", topics)
    listener.subscribe(topics.all_kiosk_events, lambda _t, p: (heard.append(p), got.set()))
    listener.start()
    assert listener.wait_connected(5)
    outbox = Outbox(tmp_path / "kiosk-outbox.sqlite")
    bus = MqttBus(settings, "kiosk-program", "kiosk-k1", topics)
    publisher = OutboxPublisher(outbox, bus)
    bus.start()
    publisher.start()
    yield outbox, publisher, heard
    publisher.stop()
    bus.stop()
    listener.stop()
    outbox.close()


def test_a_check_in_is_published_as_event_checkin_through_the_outbox(
    tmp_path: Path, published: tuple[Outbox, OutboxPublisher, list[bytes]]
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    Base.metadata.create_all(engine, tables=list(PROGRAM_TABLES))
    add_event(engine, capacity=10)
    outbox, publisher, heard = published
    topics = Topics("aabent", "test-program")
    sessions = make_sessionmaker(engine)
    d = ProgramDesk(sessions, kiosk="k1", clock=Clock(START), outbox=outbox, topics=topics)
    result = d.check_in("strik", patron_id="p-1", pseudonym="a1b2c3d4e5f6")
    assert d.check_in("strik", head_count=3).ok
    assert d.check_in("strik", patron_id="p-1").outcome is CheckInOutcome.ALREADY  # not published
    deadline = datetime.now(UTC) + timedelta(seconds=5)
    while len(heard) < 2 and datetime.now(UTC) < deadline:
        threading.Event().wait(0.05)
    payloads = [json.loads(p) for p in heard]
    assert [p["type"] for p in payloads] == ["event.checkin", "event.checkin"]
    first, guests = payloads
    assert first["id"] == result.event_id and first["source"] == "k1"
    assert first["credential"] == "a1b2c3d4e5f6"
    expected = {"activity_uid": "strik", "title": "Strikkecafé", "head_count": 1, "guest": False}
    assert first["details"] == expected
    assert guests["details"]["head_count"] == 3 and guests["details"]["guest"] is True
    assert publisher.wait_drained(5)  # acknowledged by the broker, gone from the outbox
    with make_sessionmaker(engine)() as session:
        stored = session.scalars(select(ProgramCheckIn.event_id)).all()
    assert result.event_id in stored
    engine.dispose()
