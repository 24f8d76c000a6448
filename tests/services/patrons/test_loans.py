"""Local loans and reservations and the renewal rules, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, create_engine, select

from services.core.account import AccountRefused, AccountUnavailable, LoanRules, RenewRefusal
from services.core.credentials import Credential, SiteKey
from services.core.patrons import PatronStatus
from services.patrons.account import LocalAccount
from services.patrons.loans import LoanError, give_back, lend, mark_ready, reserve
from services.patrons.registry import LocalRegistry
from services.store.base import Base
from services.store.catalogue import (
    CATALOGUE_TABLES,
    CatalogueCopy,
    CatalogueRecord,
    CopyStatus,
)
from services.store.engine import make_sessionmaker
from services.store.loans import LOAN_TABLES, LoanRecord
from services.store.patrons import CredentialRecord, PatronRecord

TODAY = date(2026, 3, 2)
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
KEY = SiteKey(b"k" * 32)
KAREN, OLE = Credential.from_text("10000001"), Credential.from_text("10000002")
BOOKS = {
    "29000007": ("Kvinden i buret", ["3740001001", "3740001002"]),
    "29000008": ("Fasandræberne", ["3740002001"]),
    "29000009": ("Flaskepost fra P", ["3740003001"]),
}


@dataclass
class Library:
    """A registry with two patrons, a small catalogue and the account over them."""

    engine: Engine
    registry: LocalRegistry
    account: LocalAccount
    karen: str
    ole: str

    def session(self):  # type: ignore[no-untyped-def]
        return make_sessionmaker(self.engine).begin()


@pytest.fixture
def lib(engine: Engine) -> Iterator[Library]:
    tables = [PatronRecord.__table__, CredentialRecord.__table__, *CATALOGUE_TABLES, *LOAN_TABLES]
    Base.metadata.create_all(engine, tables=tables)  # type: ignore[arg-type]
    sessions = make_sessionmaker(engine)
    registry = LocalRegistry(sessions, KEY)
    karen = registry.add_patron("Karen Jensen", [KAREN], pin="1234").patron_id
    ole = registry.add_patron("Ole Hansen", [OLE], pin="4321").patron_id
    with sessions.begin() as session:
        for record_id, (title, barcodes) in BOOKS.items():
            record = CatalogueRecord(record_id=record_id, title=title)
            session.add(record)
            session.flush()
            for barcode in barcodes:
                session.add(
                    CatalogueCopy(record_key=record.id, barcode=barcode, department="Voksen")
                )
    account = LocalAccount(sessions, registry, today=lambda: TODAY, rules=LoanRules(2, 30))
    yield Library(engine, registry, account, karen, ole)


def copy_status(lib: Library, barcode: str) -> tuple[CopyStatus, date | None]:
    with lib.session() as session:
        copy = session.scalars(select(CatalogueCopy).where(CatalogueCopy.barcode == barcode)).one()
        return copy.status, copy.due_date


def test_loans_show_titles_and_due_dates_soonest_first_with_overdue_marked(lib: Library) -> None:
    with lib.session() as session:
        lend(session, lib.karen, "3740001001", TODAY + timedelta(days=10), NOW)
        lend(session, lib.karen, "3740002001", TODAY - timedelta(days=2), NOW)
        lend(session, lib.ole, "3740003001", TODAY, NOW)
    loans = lib.account.loans(KAREN, "1234")
    assert [(x.item_id, x.title, x.overdue) for x in loans] == [
        ("3740002001", "Fasandræberne", True),
        ("3740001001", "Kvinden i buret", False),
    ]
    assert copy_status(lib, "3740001001") == (CopyStatus.ON_LOAN, TODAY + timedelta(days=10))


def test_a_copy_is_lent_once_and_returns_to_the_shelf(lib: Library) -> None:
    with lib.session() as session:
        lend(session, lib.karen, "3740001001", TODAY, NOW)
    with pytest.raises(LoanError, match="already on loan"), lib.session() as session:
        lend(session, lib.ole, "3740001001", TODAY, NOW)
    with lib.session() as session:
        give_back(session, "3740001001")
    assert copy_status(lib, "3740001001") == (CopyStatus.AVAILABLE, None)
    assert lib.account.loans(KAREN, "1234") == []


def test_a_renewal_lends_for_the_renewal_period_from_today(lib: Library) -> None:
    with lib.session() as session:
        lend(session, lib.karen, "3740001001", TODAY + timedelta(days=3), NOW)
    result = lib.account.renew(KAREN, "1234", "3740001001")
    assert result.renewed and result.due == TODAY + timedelta(days=30)
    assert result.title == "Kvinden i buret" and result.reason is None
    assert copy_status(lib, "3740001001") == (CopyStatus.ON_LOAN, TODAY + timedelta(days=30))


def test_renewals_stop_at_the_maximum(lib: Library) -> None:
    days = iter([TODAY, TODAY + timedelta(days=10), TODAY + timedelta(days=20)])
    today = [TODAY]
    account = LocalAccount(
        make_sessionmaker(lib.engine), lib.registry, today=lambda: today[0], rules=LoanRules(2, 30)
    )
    with lib.session() as session:
        lend(session, lib.karen, "3740001001", TODAY, NOW)
    today[0] = next(days)
    assert account.renew(KAREN, "1234", "3740001001").renewed
    today[0] = next(days)
    assert account.renew(KAREN, "1234", "3740001001").renewed
    today[0] = next(days)
    third = account.renew(KAREN, "1234", "3740001001")
    assert not third.renewed and third.reason == RenewRefusal.MAX_RENEWALS
    assert third.due == TODAY + timedelta(days=40)


def test_a_renewal_that_would_not_move_the_due_date_is_refused_and_takes_nothing(
    lib: Library,
) -> None:
    with lib.session() as session:
        lend(session, lib.karen, "3740001001", TODAY, NOW)
    first = lib.account.renew(KAREN, "1234", "3740001001")
    assert first.renewed and first.due == TODAY + timedelta(days=30)
    again = lib.account.renew(KAREN, "1234", "3740001001")  # the same day: "Forny" once more
    assert not again.renewed and again.reason == RenewRefusal.NOT_EXTENDED
    assert again.due == TODAY + timedelta(days=30)
    with lib.session() as session:
        renewals = session.scalar(select(LoanRecord.renewals))
    assert renewals == 1


def test_a_title_someone_else_waits_for_cannot_be_renewed(lib: Library) -> None:
    with lib.session() as session:
        lend(session, lib.karen, "3740001001", TODAY, NOW)
        lend(session, lib.karen, "3740002001", TODAY, NOW)
        reserve(session, lib.ole, "29000007", NOW)
        reserve(session, lib.karen, "29000008", NOW)  # her own reservation does not stop her
    results = {r.item_id: r for r in lib.account.renew_all(KAREN, "1234")}
    assert results["3740001001"].reason == RenewRefusal.RESERVED
    assert results["3740002001"].renewed


def test_a_reservation_ready_with_another_copy_no_longer_blocks_renewal(lib: Library) -> None:
    with lib.session() as session:
        lend(session, lib.karen, "3740001001", TODAY, NOW)
        reserve(session, lib.ole, "29000007", NOW)
        week = TODAY + timedelta(days=7)
        mark_ready(session, lib.ole, "29000007", barcode="3740001002", shelf="14", by=week)
    assert lib.account.renew(KAREN, "1234", "3740001001").renewed


def test_a_blocked_patron_gets_every_loan_refused_with_the_reason(lib: Library) -> None:
    with lib.session() as session:
        lend(session, lib.karen, "3740001001", TODAY, NOW)
        lend(session, lib.karen, "3740002001", TODAY, NOW)
    lib.registry.set_status(KAREN, PatronStatus.BLOCKED)
    results = lib.account.renew_all(KAREN, "1234")
    assert [(r.renewed, r.reason) for r in results] == [(False, RenewRefusal.BLOCKED)] * 2
    lib.registry.set_status(KAREN, PatronStatus.EXPIRED)
    assert lib.account.renew(KAREN, "1234", "3740001001").reason == RenewRefusal.EXPIRED


def test_only_ones_own_loans_can_be_renewed(lib: Library) -> None:
    with lib.session() as session:
        lend(session, lib.ole, "3740003001", TODAY, NOW)
    result = lib.account.renew(KAREN, "1234", "3740003001")
    assert not result.renewed and result.reason == RenewRefusal.NOT_ON_LOAN


def test_reservations_ready_for_pickup_come_first_with_their_shelf_number(lib: Library) -> None:
    with lib.session() as session:
        reserve(session, lib.karen, "29000009", NOW)
        reserve(session, lib.karen, "29000008", NOW + timedelta(minutes=1))
        week = TODAY + timedelta(days=7)
        mark_ready(session, lib.karen, "29000008", barcode="3740002001", shelf="23", by=week)
    held = lib.account.reservations(KAREN, "1234")
    assert [(r.title, r.ready, r.pickup_number) for r in held] == [
        ("Fasandræberne", True, "23"),
        ("Flaskepost fra P", False, None),
    ]
    assert held[0].pickup_by == TODAY + timedelta(days=7)
    assert copy_status(lib, "3740002001")[0] is CopyStatus.RESERVED


def test_the_account_needs_the_right_pin(lib: Library) -> None:
    with pytest.raises(AccountRefused) as refused:
        lib.account.loans(KAREN, "0000")
    assert "10000001" not in str(refused.value)
    with pytest.raises(AccountRefused):
        lib.account.loans(Credential.from_text("99999999"), "1234")
    with pytest.raises(AccountRefused):
        lib.account.loans(KAREN, None)


def test_an_unreachable_database_says_unavailable(tmp_path: object) -> None:
    engine = create_engine("sqlite:////nonexistent-aabent-dir/db.sqlite")
    sessions = make_sessionmaker(engine)
    account = LocalAccount(sessions, LocalRegistry(sessions, KEY), today=lambda: TODAY)
    with pytest.raises(AccountUnavailable):
        account.loans(KAREN, "1234")
