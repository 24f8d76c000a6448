"""The patron tables: aware timestamps on both backends, and the rules the database enforces."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session

from services.core.credentials import CredentialKind
from services.core.patrons import PatronStatus
from services.store.patrons import CredentialRecord, PatronRecord
from services.store.schema import create_schema

CEST = timezone(timedelta(hours=2))


def _patron(**fields: object) -> PatronRecord:
    return PatronRecord(patron_id="p-1", name="Karen Jensen", **fields)


def test_timestamps_come_back_aware_and_in_utc(engine: Engine) -> None:
    create_schema(engine)
    with Session(engine) as session, session.begin():
        session.add(_patron(created=datetime(2026, 6, 1, 12, 0, tzinfo=CEST)))
    with Session(engine) as session:
        record = session.scalars(select(PatronRecord)).one()
        assert record.created == datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
        assert record.created.tzinfo is UTC
        assert record.updated.tzinfo is UTC
        assert record.status is PatronStatus.ACTIVE and record.guardian_consent is False


def test_a_naive_timestamp_is_refused(engine: Engine) -> None:
    create_schema(engine)
    with Session(engine) as session, pytest.raises(StatementError, match="timezone-aware"):
        session.add(_patron(created=datetime(2026, 6, 1, 12, 0)))
        session.flush()


def test_a_patron_holds_one_credential_of_each_kind(engine: Engine) -> None:
    create_schema(engine)
    with Session(engine) as session, pytest.raises(IntegrityError):
        session.add(
            _patron(
                credentials=[
                    CredentialRecord(credential_hash="a" * 64, kind=CredentialKind.CARD),
                    CredentialRecord(credential_hash="b" * 64, kind=CredentialKind.CARD),
                ]
            )
        )
        session.flush()


def test_a_credential_hash_belongs_to_one_patron(engine: Engine) -> None:
    create_schema(engine)
    with Session(engine) as session, pytest.raises(IntegrityError):
        for n, kind in enumerate((CredentialKind.CARD, CredentialKind.CPR)):
            record = PatronRecord(patron_id=f"p-{n}", name="Karen Jensen")
            record.credentials.append(CredentialRecord(credential_hash="a" * 64, kind=kind))
            session.add(record)
        session.flush()


def test_deleting_a_patron_deletes_their_credentials(engine: Engine) -> None:
    create_schema(engine)
    with Session(engine) as session, session.begin():
        card = CredentialRecord(credential_hash="a" * 64, kind=CredentialKind.CARD)
        record = _patron(credentials=[card])
        session.add(record)
    with Session(engine) as session, session.begin():
        session.delete(session.scalars(select(PatronRecord)).one())
    with Session(engine) as session:
        assert session.scalars(select(CredentialRecord)).all() == []
