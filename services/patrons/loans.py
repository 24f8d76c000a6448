"""Loans and reservations of the local directory, so the kiosk's account works without SIP2.

A loan links a patron (by ``patron_id``) to a catalogue copy (by barcode, which survives a
catalogue re-import; copy rows do not). A reservation is for a title (record id) and becomes
ready when a copy waits on the pickup shelf under a number. Renewal follows the usual rules of a
Danish public library: not for a blocked or expired patron, not beyond the maximum number of
renewals, and not when another patron is waiting for the title (the rules themselves are in
:mod:`services.core.account`). The shapes returned are those of :mod:`services.core.account`, as
the SIP2 directory's are, so the kiosk shows either directory's answer alike.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.core.account import (
    Loan,
    LoanRules,
    RenewRefusal,
    RenewResult,
    Reservation,
    renewal_refusal,
    renewed_due,
)
from services.core.patrons import Patron
from services.store.catalogue import CatalogueCopy, CatalogueRecord, CopyStatus
from services.store.loans import LoanRecord, ReservationRecord


class LoanError(Exception):
    """A loan or reservation that cannot be made; the message says why."""


def lend(session: Session, patron_id: str, barcode: str, due: date, now: datetime) -> None:
    """Lend the copy ``barcode``; its catalogue status becomes on loan."""
    if session.scalar(select(LoanRecord.id).where(LoanRecord.barcode == barcode)) is not None:
        raise LoanError(f"copy {barcode} is already on loan")
    session.add(LoanRecord(patron_id=patron_id, barcode=barcode, loaned=now, due=due))
    _set_copy(session, barcode, CopyStatus.ON_LOAN, due)
    session.flush()


def give_back(session: Session, barcode: str) -> None:
    """Return the copy ``barcode``; it is on the shelf again."""
    loan = session.scalars(select(LoanRecord).where(LoanRecord.barcode == barcode)).one_or_none()
    if loan is None:
        raise LoanError(f"copy {barcode} is not on loan")
    session.delete(loan)
    _set_copy(session, barcode, CopyStatus.AVAILABLE, None)
    session.flush()


def reserve(session: Session, patron_id: str, record_id: str, now: datetime) -> None:
    """Put the patron in the queue for the title ``record_id``."""
    known = select(ReservationRecord.id).where(
        ReservationRecord.patron_id == patron_id, ReservationRecord.record_id == record_id
    )
    if session.scalar(known) is not None:
        raise LoanError(f"the patron already reserved {record_id}")
    session.add(ReservationRecord(patron_id=patron_id, record_id=record_id, created=now))
    session.flush()


def cancel_reservation(session: Session, patron_id: str, item_id: str) -> bool:
    """Cancel the patron's reservation listed as ``item_id`` (its record id, or the barcode of
    the copy waiting on the shelf); False when the patron has none such. The copy on the shelf
    goes back to the shelves."""
    reservation = session.scalars(
        select(ReservationRecord).where(
            ReservationRecord.patron_id == patron_id,
            (ReservationRecord.record_id == item_id) | (ReservationRecord.barcode == item_id),
        )
    ).first()
    if reservation is None:
        return False
    if reservation.barcode:
        _set_copy(session, reservation.barcode, CopyStatus.AVAILABLE, None)
    session.delete(reservation)
    session.flush()
    return True


def queue_position(session: Session, patron_id: str, record_id: str) -> int | None:
    """Where the patron stands in the queue for ``record_id`` (1 = next), None if not in it."""
    own = session.scalars(
        select(ReservationRecord).where(
            ReservationRecord.patron_id == patron_id, ReservationRecord.record_id == record_id
        )
    ).first()
    if own is None or own.ready:
        return None
    ahead = select(func.count(ReservationRecord.id)).where(
        ReservationRecord.record_id == record_id,
        ReservationRecord.ready.is_(False),
        (ReservationRecord.created < own.created)
        | ((ReservationRecord.created == own.created) & (ReservationRecord.id < own.id)),
    )
    return int(session.scalar(ahead) or 0) + 1


def mark_ready(
    session: Session, patron_id: str, record_id: str, *, barcode: str, shelf: str, by: date
) -> None:
    """A copy of the reserved title waits for the patron on pickup shelf ``shelf`` until ``by``."""
    reservation = session.scalars(
        select(ReservationRecord).where(
            ReservationRecord.patron_id == patron_id, ReservationRecord.record_id == record_id
        )
    ).one_or_none()
    if reservation is None:
        raise LoanError(f"the patron has no reservation of {record_id}")
    reservation.ready, reservation.barcode = True, barcode
    reservation.pickup_number, reservation.pickup_by = shelf, by
    _set_copy(session, barcode, CopyStatus.RESERVED, None)
    session.flush()


def _set_copy(session: Session, barcode: str, status: CopyStatus, due: date | None) -> None:
    # Keeps the catalogue's availability true to the loans; a barcode not in it is left alone.
    copy = session.scalars(select(CatalogueCopy).where(CatalogueCopy.barcode == barcode)).first()
    if copy is not None:
        copy.status, copy.due_date = status, due


def _titles(session: Session, barcodes: list[str]) -> dict[str, tuple[str, str]]:
    """Barcode -> (title, record id) from the catalogue, for the copies it knows."""
    if not barcodes:
        return {}
    rows = session.execute(
        select(CatalogueCopy.barcode, CatalogueRecord.title, CatalogueRecord.record_id)
        .join(CatalogueRecord, CatalogueRecord.id == CatalogueCopy.record_key)
        .where(CatalogueCopy.barcode.in_(barcodes))
    )
    return {barcode: (title, record_id) for barcode, title, record_id in rows}


def loans_of(session: Session, patron_id: str, today: date) -> list[Loan]:
    """The patron's loans, soonest due first, overdue ones marked."""
    records = session.scalars(
        select(LoanRecord)
        .where(LoanRecord.patron_id == patron_id)
        .order_by(LoanRecord.due, LoanRecord.barcode)
    ).all()
    titles = _titles(session, [r.barcode for r in records])
    return [
        Loan(r.barcode, titles.get(r.barcode, ("", ""))[0], r.due, r.due < today) for r in records
    ]


def reservations_of(session: Session, patron_id: str) -> list[Reservation]:
    """The patron's reservations, those ready for pickup first."""
    records = session.scalars(
        select(ReservationRecord)
        .where(ReservationRecord.patron_id == patron_id)
        .order_by(ReservationRecord.ready.desc(), ReservationRecord.created)
    ).all()
    ids = [r.record_id for r in records]
    rows = session.execute(
        select(CatalogueRecord.record_id, CatalogueRecord.title).where(
            CatalogueRecord.record_id.in_(ids)
        )
    )
    titles = {record_id: title for record_id, title in rows}
    return [
        Reservation(
            item_id=r.barcode or r.record_id,
            title=titles.get(r.record_id, ""),
            ready=r.ready,
            pickup_number=r.pickup_number,
            pickup_by=r.pickup_by,
            queue_position=None if r.ready else queue_position(session, patron_id, r.record_id),
        )
        for r in records
    ]


def _someone_waits(session: Session, record_id: str, patron_id: str) -> bool:
    waiting = select(ReservationRecord.id).where(
        ReservationRecord.record_id == record_id,
        ReservationRecord.patron_id != patron_id,
        ReservationRecord.ready.is_(False),
    )
    return session.scalar(waiting.limit(1)) is not None


def renew(
    session: Session, patron: Patron, barcode: str, today: date, rules: LoanRules
) -> RenewResult:
    """Renew one loan of ``patron``; a refusal's reason is a :class:`RenewRefusal` value."""
    loan = session.scalars(
        select(LoanRecord).where(
            LoanRecord.barcode == barcode, LoanRecord.patron_id == patron.patron_id
        )
    ).one_or_none()
    if loan is None:
        return RenewResult(barcode, False, None, RenewRefusal.NOT_ON_LOAN)
    title, record_id = _titles(session, [barcode]).get(barcode, ("", ""))
    refusal = renewal_refusal(patron, today)
    if refusal is None and loan.renewals >= rules.max_renewals:
        refusal = RenewRefusal.MAX_RENEWALS
    if refusal is None and record_id and _someone_waits(session, record_id, patron.patron_id):
        refusal = RenewRefusal.RESERVED
    due = renewed_due(loan.due, today, rules)
    if refusal is None and due is None:
        refusal = RenewRefusal.NOT_EXTENDED
    if refusal is not None or due is None:
        return RenewResult(barcode, False, loan.due, refusal, title)
    loan.due = due
    loan.renewals += 1
    _set_copy(session, barcode, CopyStatus.ON_LOAN, loan.due)
    session.flush()
    return RenewResult(barcode, True, loan.due, None, title)


def renew_all(session: Session, patron: Patron, today: date, rules: LoanRules) -> list[RenewResult]:
    """Renew every loan of ``patron``; one result per loan, in due-date order."""
    barcodes = session.scalars(
        select(LoanRecord.barcode)
        .where(LoanRecord.patron_id == patron.patron_id)
        .order_by(LoanRecord.due, LoanRecord.barcode)
    ).all()
    return [renew(session, patron, barcode, today, rules) for barcode in barcodes]
