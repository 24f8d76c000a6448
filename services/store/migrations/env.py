"""Alembic environment for the aabent schema, configured in code by :mod:`services.store.schema`.

There is no ``alembic.ini``: :func:`services.store.schema.alembic_config` builds the config and
hands over an open connection in ``config.attributes["connection"]``, so migrations run inside
the caller's transaction and on whatever ``search_path`` its engine set (the tests' PostgreSQL
schemas). Without one, ``sqlalchemy.url`` is used.
"""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import Connection
from sqlalchemy.types import TypeDecorator

from services.store.engine import make_engine
from services.store.schema import import_models, include_name

config = context.config
target_metadata = import_models()


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Render our TypeDecorators (UtcDateTime) as the plain SQLAlchemy type they store."""
    # A revision must not import the models: it has to keep working after they move on.
    if type_ == "type" and isinstance(obj, TypeDecorator):
        return f"sa.{obj.impl!r}"
    return False


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        # SQLite cannot ALTER most things; batch mode copies the table, and is a no-op elsewhere.
        render_as_batch=True,
        render_item=render_item,
        include_name=include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


def run() -> None:
    """Run the migrations online, on the handed-over connection or on ``sqlalchemy.url``."""
    if context.is_offline_mode():
        raise RuntimeError("offline (--sql) migrations are not supported; pass a connection")
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no connection in config.attributes and no sqlalchemy.url")
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            _configure(conn)
    finally:
        engine.dispose()


run()
