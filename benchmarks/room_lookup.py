"""The cost of bookable rooms where it is paid: at the room's door and at the kiosk.

``door_answer_p50_ms`` / ``door_answer_p99_ms``: the door's own lists answering one card at a
room's door (``LocalLists.answer``: bans, groups, sign-up and the card's bookings of the room),
from a SQLite copy holding ``--bookings`` bookings of ``--bookers`` cards, beside
``ordinary_door_p99_ms`` for a door that is no room's (no booking query). ``free_slots_ms``: the
kiosk's free slots of a room's 14 days open round the clock (``bookings.free``), the bookings
spread over ``--rooms`` rooms (so the room has every slot of its horizon booked or nearly).
Prints one JSON object; run it on a quiet machine and say the load.

    .venv/bin/python benchmarks/room_lookup.py [--bookings 10000] [--bookers 2000] [--runs 2000]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from services.core.credentials import Credential, SiteKey  # noqa: E402
from services.core.holidays import DanishHolidays  # noqa: E402
from services.core.hours import OpeningHours, parse_intervals  # noqa: E402
from services.core.rooms import Room, RoomRules  # noqa: E402
from services.core.schedule import Schedule  # noqa: E402
from services.patrons import bookings  # noqa: E402
from services.patrons.local_lookup import LocalLists  # noqa: E402
from services.store.engine import make_engine, make_sessionmaker  # noqa: E402
from services.store.rooms import RoomBookingRecord  # noqa: E402
from services.store.schema import create_schema  # noqa: E402

KEY = SiteKey(b"b" * 32)
CPH = ZoneInfo("Europe/Copenhagen")
STUDY = Room("study", frozenset({"basement"}), RoomRules(slot_minutes=60))


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bookings", type=int, default=10_000)
    parser.add_argument("--bookers", type=int, default=2_000)
    parser.add_argument("--runs", type=int, default=2_000)
    parser.add_argument("--rooms", type=int, default=30)
    args = parser.parse_args()
    rng = random.Random(7)
    cards = [Credential.from_text(f"3{n:08d}") for n in range(args.bookers)]
    hashes = [KEY.credential_hash(c) for c in cards]
    now = datetime.now(CPH).replace(minute=0, second=0, microsecond=0)
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'door.sqlite'}")
        create_schema(engine)
        sessions = make_sessionmaker(engine)
        rows = []
        for n in range(args.bookings):
            room = "study" if n % args.rooms == 0 else f"room-{n % args.rooms}"
            start = (now + timedelta(hours=(n // args.rooms) % (14 * 24))).astimezone(UTC)
            rows.append(
                RoomBookingRecord(
                    site="bench",
                    room=room,
                    start=start,
                    end=start + timedelta(hours=1),
                    credential_hash=hashes[n % len(hashes)],
                    state="booked",
                    created=now,
                    changed=now,
                )
            )
        with sessions.begin() as session:
            session.add_all(rows)
        lists = LocalLists(sessions, KEY, rooms=(STUDY,))
        room_times, plain_times = [], []
        for _ in range(args.runs):
            h = rng.choice(hashes)
            t0 = time.perf_counter()
            lists.answer(h, None, "basement")
            room_times.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            lists.answer(h, None, "main")
            plain_times.append((time.perf_counter() - t0) * 1000)
        week = (parse_intervals("00:00-24:00"),) * 7
        schedule = Schedule(OpeningHours(week), CPH, DanishHolidays(lambda ys: {y: {} for y in ys}))
        free_times = []
        for _ in range(20):
            t0 = time.perf_counter()
            with sessions() as session:
                bookings.free(session, "bench", STUDY, schedule, now)
            free_times.append((time.perf_counter() - t0) * 1000)
        engine.dispose()
    print(
        json.dumps(
            {
                "bookings": args.bookings,
                "bookers": args.bookers,
                "door_answer_p50_ms": round(statistics.median(room_times), 3),
                "door_answer_p99_ms": round(_percentile(room_times, 0.99), 3),
                "ordinary_door_p99_ms": round(_percentile(plain_times, 0.99), 3),
                "free_slots_ms": round(statistics.median(free_times), 1),
                "load_average_1m": round(os.getloadavg()[0], 2),
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
