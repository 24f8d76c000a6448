"""The database schema: Alembic migrations applied in code, and the modules whose models it covers.

Every process that opens the database calls :func:`create_schema` first; it brings an empty or
older database to the newest revision and does nothing on a current one. A new table needs its
model module listed in :data:`MODEL_MODULES` and a revision, written by::

    .venv/bin/python -m services.store.schema "add lockouts"

which autogenerates ``services/store/migrations/versions/NNNN_add_lockouts.py`` from the models
(review it before committing; ``tests/services/store/test_schema.py`` fails until it matches).
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, MetaData, column, inspect, select, table

from services.store.base import Base
from services.store.engine import make_engine

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

# Modules that put tables on Base. Imported before upgrading, comparing or autogenerating, so a
# table whose module is missing here is noticed by the schema test instead of silently skipped.
MODEL_MODULES: tuple[str, ...] = (
    "services.store.patrons",
    "services.store.lockouts",
    "services.store.occupancy",
    "services.store.sip2_cache",
    "services.store.building",
    "services.store.catalogue",
    "services.store.recorder",
    "services.store.dashboard",
    "services.store.program",
    "services.store.loans",
    "services.store.access_lists",
    "services.store.rooms",
)

# Tables that a database feature owns (SQLite FTS5 and its shadow tables, PostgreSQL's tsvector
# table) are created by their migration's own DDL, not from models: Alembic must not see them.
UNMODELLED = ("catalogue_fts",)


def include_name(name: str | None, type_: str, _parents: Any) -> bool:
    """Alembic's filter: leave out the tables and indexes of :data:`UNMODELLED`."""
    if name is None or type_ not in ("table", "index"):
        return True
    return not name.removeprefix("ix_").startswith(UNMODELLED)


def import_models() -> MetaData:
    """Import every module of :data:`MODEL_MODULES`; return the metadata they fill."""
    for name in MODEL_MODULES:
        importlib.import_module(name)
    return Base.metadata


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's config, built in code: our migrations folder, and ``connection`` to run on."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # "%%" because Config values are interpolated; sequential ids sort the files by age.
    config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@contextmanager
def _quiet_alembic() -> Iterator[None]:
    # Alembic announces its dialect at INFO on every connection; a staff command that merely
    # checks the revision should not print that.
    logger = logging.getLogger("alembic.runtime.migration")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def current_revisions(connection: Connection) -> tuple[str, ...]:
    """The revisions the database is at; empty for a database never migrated."""
    from alembic.migration import MigrationContext

    with _quiet_alembic():
        return MigrationContext.configure(connection).get_current_heads()


def newest_revision() -> str:
    """The head revision, read from the file names (revisions are numbered 0001, 0002, …)."""
    return max(p.name.split("_", 1)[0] for p in (MIGRATIONS / "versions").glob("[0-9]*_*.py"))


def is_current(connection: Connection) -> bool:
    """Whether the database is at the newest revision, asked without loading Alembic.

    Every process calls :func:`create_schema` at start; on a current database (the usual case)
    this spares the kiosk and the door Alembic's import, some 20 MB and a tenth of a second.
    """
    if not inspect(connection).has_table("alembic_version"):
        return False
    version = table("alembic_version", column("version_num"))
    return set(connection.scalars(select(version.c.version_num))) == {newest_revision()}


def create_schema(engine: Engine, site: str | None = None) -> None:
    """Bring the database behind ``engine`` to the newest revision (a no-op when it is there).

    ``site`` is the id of the site the database is for (``[site] id``): a revision that gives
    rows held before a site of their own (0018, the access lists) gives them this one."""
    with engine.connect() as connection:
        if is_current(connection):
            return
    from alembic import command
    from alembic.script import ScriptDirectory

    config = alembic_config()
    heads = ScriptDirectory.from_config(config).get_heads()
    with engine.begin() as connection:
        current = current_revisions(connection)
        if set(current) == set(heads):
            return
        log.info("upgrading database schema from %s to %s", current or "empty", heads)
        config.attributes["connection"] = connection
        if site is not None:
            config.attributes["site"] = site
        command.upgrade(config, "heads")


def open_database(url: str, site: str | None = None) -> Engine:
    """An engine on ``url`` with its database at the newest schema: how every process starts
    (``site``: the settings' ``[site] id``, see :func:`create_schema`)."""
    engine = make_engine(url)
    try:
        create_schema(engine, site)
    except BaseException:
        engine.dispose()
        raise
    return engine


def schema_differences(connection: Connection) -> list[Any]:
    """What Alembic sees between the database and the models; empty when they agree."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    metadata = import_models()
    with _quiet_alembic():
        opts = {"compare_type": True, "include_name": include_name}
        context = MigrationContext.configure(connection, opts=opts)
        return list(compare_metadata(context, metadata))


def _next_revision_id(config: Config) -> str:
    from alembic.script import ScriptDirectory

    revisions = list(ScriptDirectory.from_config(config).walk_revisions())
    return f"{len(revisions) + 1:04d}"


def _format_with_ruff(config: Config) -> None:
    # Generated revisions pass `make lint` without hand-formatting (ruff is in the test extra).
    if importlib.util.find_spec("ruff") is None:
        return
    section = "post_write_hooks"
    config.set_section_option(section, "hooks", "ruff_format, ruff_fix")
    for hook, options in (("ruff_format", "format --quiet"), ("ruff_fix", "check --fix --quiet")):
        config.set_section_option(section, f"{hook}.type", "module")
        config.set_section_option(section, f"{hook}.module", "ruff")
        config.set_section_option(section, f"{hook}.options", f"{options} REVISION_SCRIPT_FILENAME")


def make_revision(message: str) -> Path:
    """Autogenerate the next revision from the models, against a scratch database at head."""
    from alembic import command
    from alembic.script import Script

    with tempfile.TemporaryDirectory() as scratch:
        engine = make_engine(f"sqlite:///{Path(scratch) / 'scratch.sqlite'}")
        try:
            create_schema(engine)
            with engine.begin() as connection:
                config = alembic_config(connection)
                _format_with_ruff(config)
                script = command.revision(
                    config, message=message, autogenerate=True, rev_id=_next_revision_id(config)
                )
        finally:
            engine.dispose()
    if not isinstance(script, Script):
        raise RuntimeError("alembic wrote no single revision")
    return Path(script.path)


def main(argv: list[str] | None = None) -> int:
    """``python -m services.store.schema MESSAGE``: write the next revision and print its path."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or not args[0].strip():
        print('usage: python -m services.store.schema "what the revision does"', file=sys.stderr)
        return 2
    print(make_revision(args[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
