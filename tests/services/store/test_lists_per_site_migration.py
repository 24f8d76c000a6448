"""Revision 0018: the access lists held before are the own site's, on SQLite and PostgreSQL.

A database at 0017 with a group, a member, a ban, a code, a sign-up and a version is brought to
the head with the site the process is for: every row is kept and given that site, the version
carries on (so a door's copy is not older than the next snapshot), and two sites may then have
a group of the same name and the same patron signed up.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic import command
from sqlalchemy import Engine, insert, select, text

from services.store.access_lists import (
    AccessGroupRecord,
    BanRecord,
    PadCodeRecord,
    SignupRecord,
)
from services.store.schema import alembic_config, create_schema, schema_differences

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def _at_0017_with_lists(engine: Engine) -> None:
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "0017")
        for statement, values in (
            (
                "INSERT INTO access_groups (name, windows, doors, pin_required, when_armed) "
                "VALUES ('Rengøring', 'mon 05:00-07:00', '', true, 'refuse')",
                {},
            ),
            (
                "INSERT INTO group_members (group_pk, credential_hash, pseudonym, name, note) "
                "VALUES ((SELECT id FROM access_groups), 'h-member', 'p-member', 'Jonas', '')",
                {},
            ),
            (
                "INSERT INTO bans (credential_hash, pseudonym, doors, reason, created) "
                "VALUES ('h-banned', 'p-banned', '', 'Threatened staff', :now)",
                {"now": NOW},
            ),
            (
                "INSERT INTO pad_codes (code_hash, label, valid_from, valid_until, max_uses, "
                "uses, doors) VALUES ('h-code', 'Carpenter', :now, :now, 1, 0, '')",
                {"now": NOW},
            ),
            (
                "INSERT INTO signups (credential_hash, signed_up, via) "
                "VALUES ('h-signed', :now, 'desk')",
                {"now": NOW},
            ),
            (  # as the server wrote it: its one row, always 1
                "INSERT INTO access_lists_version (id, version, changed) VALUES (1, 7, :now)",
                {"now": NOW},
            ),
        ):
            connection.execute(text(statement), values)


def test_the_lists_held_before_become_the_own_site_s(engine: Engine) -> None:
    _at_0017_with_lists(engine)
    create_schema(engine, "glostrup")
    with engine.connect() as connection:
        assert not schema_differences(connection)
        groups = connection.execute(select(AccessGroupRecord.site, AccessGroupRecord.name)).all()
        assert [tuple(g) for g in groups] == [("glostrup", "Rengøring")]
        members = connection.execute(text("SELECT name FROM group_members")).scalars().all()
        assert members == ["Jonas"]
        bans = connection.execute(select(BanRecord.site, BanRecord.reason)).all()
        assert [tuple(b) for b in bans] == [("glostrup", "Threatened staff")]  # a branch ban
        codes = connection.execute(select(PadCodeRecord.site, PadCodeRecord.label)).all()
        assert [tuple(c) for c in codes] == [("glostrup", "Carpenter")]
        signups = connection.execute(select(SignupRecord.site, SignupRecord.credential_hash))
        assert [tuple(s) for s in signups] == [("glostrup", "h-signed")]
        version = connection.execute(text("SELECT site, version FROM access_lists_version"))
        assert [tuple(v) for v in version] == [("glostrup", 7)]
    with engine.begin() as connection:  # now a second branch may have its own of each
        connection.execute(
            insert(AccessGroupRecord),
            {"site": "vallensbaek", "name": "Rengøring", "windows": "tue 05:00-07:00"},
        )
        connection.execute(
            insert(SignupRecord),
            {"site": "vallensbaek", "credential_hash": "h-signed", "signed_up": NOW},
        )
    with engine.connect() as connection:
        count = connection.execute(text("SELECT count(*) FROM access_groups")).scalar()
        assert count == 2


def test_lists_held_without_a_site_to_give_them_are_refused(engine: Engine) -> None:
    _at_0017_with_lists(engine)
    with pytest.raises(RuntimeError, match="site"):
        create_schema(engine)
    with engine.connect() as connection:  # nothing changed: the upgrade was one transaction
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar() == (
            "0017"
        )


def test_an_empty_database_needs_no_site_and_goes_back_down(engine: Engine) -> None:
    create_schema(engine)
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0017")
    create_schema(engine)
    with engine.connect() as connection:
        assert not schema_differences(connection)
