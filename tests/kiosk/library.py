"""A small library for the kiosk tests: the demo catalogue, two patrons, loans, a program.

Dates are relative to ``now``, so "overdue" and "check-in is open" hold whenever the tests run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, update
from sqlalchemy.orm import Session, sessionmaker

from services.catalogue.importer import import_file
from services.core.credentials import Credential, SiteKey
from services.patrons.loans import lend, mark_ready, reserve
from services.patrons.registry import LocalRegistry
from services.program.store import ActivitySpec, upsert_activities
from services.store.loans import LoanRecord
from services.store.schema import create_schema

ROOT = Path(__file__).resolve().parents[2]
KAREN_CARD, KAREN_PIN = "10000001", "1234"
OLE_CARD, OLE_PIN = "10000002", "4321"
KEY_BYTES = b"kiosk-test-site-key-32-bytes-xx!"
KEY = SiteKey(KEY_BYTES)

# Karen's loans: (barcode, title, days until due, renewals so far)
OVERDUE = ("3740001001", "Kvinden i buret", -3, 0)
WANTED = ("3740001005", "Fasandræberne", 10, 0)  # Ole waits for this title
WORN = ("3740001011", "Frøken Smillas fornemmelse for sne", 5, 3)  # renewed the most times
FRESH = ("3740001026", "Barndom", 12, 0)
LOANS = (OVERDUE, WANTED, WORN, FRESH)
READY_TITLE, READY_SHELF = "Nordkraft", "14"
NOW_ACTIVITY, NOW_ACTIVITY_TITLE = "strik-now@test", "Strikkecafé"
TALK_ACTIVITY, TALK_ACTIVITY_TITLE = "talk-tomorrow@test", "Foredrag om Glostrup"
TALK_URL = "https://glostrupbib.dk/arrangementer/foredrag-om-glostrup"


@dataclass
class Library:
    """The seeded database and who is in it."""

    registry: LocalRegistry
    karen: str
    ole: str


def build_library(engine: Engine, now: datetime, key: SiteKey = KEY) -> Library:
    """Migrate the database and fill it."""
    create_schema(engine)
    sessions: sessionmaker[Session] = sessionmaker(engine, expire_on_commit=False)
    registry = LocalRegistry(sessions, key)
    karen = registry.add_patron("Karen Jensen", [Credential.from_text(KAREN_CARD)], pin=KAREN_PIN)
    ole = registry.add_patron("Ole Hansen", [Credential.from_text(OLE_CARD)], pin=OLE_PIN)
    today: date = now.date()
    with sessions.begin() as session:
        import_file(session, ROOT / "config" / "demo-catalogue.csv")
        for barcode, _title, days, renewals in LOANS:
            lend(session, karen.patron_id, barcode, today + timedelta(days=days), now)
            session.execute(
                update(LoanRecord).where(LoanRecord.barcode == barcode).values(renewals=renewals)
            )
        reserve(session, ole.patron_id, "29001378", now)  # Fasandræberne
        reserve(session, karen.patron_id, "29027427", now)  # Nordkraft
        by = today + timedelta(days=7)
        ready = {"barcode": "3740001037", "shelf": READY_SHELF, "by": by}
        mark_ready(session, karen.patron_id, "29027427", **ready)  # type: ignore[arg-type]
        upsert_activities(session, program(now))
    return Library(registry, karen.patron_id, ole.patron_id)


def program(now: datetime) -> list[ActivitySpec]:
    """An event running now (check-in open, 4 seats) and a talk tomorrow that needs registration."""
    # Ten minutes ago, but never before midnight: run just after midnight, an event begun "ten
    # minutes ago" is yesterday's, and the tests that expect it today would fail by the clock.
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    start = max(now.replace(second=0, microsecond=0) - timedelta(minutes=10), midnight)
    tomorrow = start + timedelta(days=1)
    knitting = ActivitySpec(
        NOW_ACTIVITY,
        NOW_ACTIVITY_TITLE,
        start,
        start + timedelta(hours=2),
        location="Caféen",
        capacity=4,
        description="Tag strikketøjet med.",
    )
    talk = ActivitySpec(
        TALK_ACTIVITY,
        TALK_ACTIVITY_TITLE,
        tomorrow,
        tomorrow + timedelta(hours=1),
        location="Salen",
        capacity=40,
        registration=True,
        url=TALK_URL,
    )
    return [knitting, talk]
