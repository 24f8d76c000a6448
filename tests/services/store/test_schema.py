"""The schema is what the migrations make: an empty database at head matches the models exactly.

If a test here fails after you added a model: list its module in ``MODEL_MODULES`` and write a
revision with ``.venv/bin/python -m services.store.schema "what it adds"``.
"""

from __future__ import annotations

import importlib
import pkgutil
from datetime import UTC, datetime

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, insert, inspect, select

import services.store
from services.store.base import Base
from services.store.patrons import PatronRecord
from services.store.schema import (
    MODEL_MODULES,
    alembic_config,
    create_schema,
    current_revisions,
    is_current,
    newest_revision,
    schema_differences,
)


def _import_every_store_module() -> None:
    for info in pkgutil.iter_modules(services.store.__path__, "services.store."):
        if not info.name.endswith(".migrations"):
            importlib.import_module(info.name)


def test_create_schema_on_an_empty_database_gives_exactly_the_models(engine: Engine) -> None:
    _import_every_store_module()
    create_schema(engine)
    with engine.connect() as connection:
        differences = schema_differences(connection)
    assert not differences, (
        "the migrations do not make the models; write a revision with\n"
        '    .venv/bin/python -m services.store.schema "what it adds"\n'
        f"differences: {differences}"
    )


def test_every_module_with_models_is_listed_in_model_modules() -> None:
    _import_every_store_module()
    modules = {mapper.class_.__module__ for mapper in Base.registry.mappers}
    assert modules <= set(MODEL_MODULES), f"add {sorted(modules - set(MODEL_MODULES))}"


def test_the_revisions_form_a_single_line() -> None:
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    assert len(heads) == 1, f"several heads {heads}: renumber your revision onto the latest"


def test_the_newest_revision_from_file_names_is_alembics_head() -> None:
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    assert heads == [newest_revision()]


def test_a_current_database_is_recognised_without_alembic(engine: Engine) -> None:
    with engine.connect() as connection:
        assert not is_current(connection)
    create_schema(engine)
    with engine.connect() as connection:
        assert is_current(connection)
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), "-1")
    with engine.connect() as connection:
        assert not is_current(connection)
    create_schema(engine)  # and an outdated one is brought up to date
    with engine.connect() as connection:
        assert is_current(connection)


def test_create_schema_again_is_a_no_op_that_keeps_the_data(engine: Engine) -> None:
    create_schema(engine)
    with engine.begin() as connection:
        connection.execute(insert(PatronRecord), _a_patron_row())
    create_schema(engine)
    with engine.connect() as connection:
        heads = ScriptDirectory.from_config(alembic_config()).get_heads()
        assert set(current_revisions(connection)) == set(heads)
        assert connection.execute(select(PatronRecord.name)).scalars().all() == ["Karen"]


def test_downgrade_to_base_removes_every_table(engine: Engine) -> None:
    create_schema(engine)
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), "base")
    assert set(inspect(engine).get_table_names()) == {"alembic_version"}


def _a_patron_row() -> dict[str, object]:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    return {
        "patron_id": "p1",
        "name": "Karen",
        "status": "active",
        "guardian_consent": False,
        "created": now,
        "updated": now,
    }


def test_catalogue_search_works_on_a_migrated_database(engine: Engine) -> None:
    """The full-text index comes from the migration, not from the models: it must be there."""
    from sqlalchemy.orm import Session

    from services.catalogue.search import search

    create_schema(engine)
    with Session(engine) as session:
        assert search(session, "blixen") == []


def test_every_table_is_modelled_in_the_store_package() -> None:
    """One place for the schema: an ORM table defined anywhere else is missed by whoever reads
    services/store/ to learn what the database holds (the SIP2 cache once lived in sip2/)."""
    for name in MODEL_MODULES:
        importlib.import_module(name)
    outside = {
        mapper.class_.__name__: mapper.class_.__module__
        for mapper in Base.registry.mappers
        if not mapper.class_.__module__.startswith("services.store.")
    }
    assert outside == {}
    assert all(name.startswith("services.store.") for name in MODEL_MODULES)
