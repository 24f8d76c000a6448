"""The patron directory a process uses, chosen by ``patrons.directory`` in settings."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from services.core.credentials import SiteKey
from services.core.events import Event
from services.core.patrons import PatronDirectory
from services.patrons.registry import LocalRegistry
from services.settings import Settings


def open_directory(
    settings: Settings,
    engine: Engine,
    key: SiteKey,
    on_event: Callable[[Event], None],
) -> PatronDirectory:
    """The local registry (default), or the library system over SIP2 with its offline cache.

    The SIP2 directory is started here (its health checks run from now on); the process closes
    it on exit with :func:`close_directory`.
    """
    if settings.patrons.directory == "local":
        return LocalRegistry(sessionmaker(engine, expire_on_commit=False), key)
    from services.sip2.build import build_directory

    directory = build_directory(settings, engine=engine, site_key=key, on_event=on_event)
    directory.start()
    return directory


def close_directory(directory: PatronDirectory) -> None:
    """Stop what the directory runs in the background (SIP2 health checks, its connection)."""
    close = getattr(directory, "close", None)
    if callable(close):
        close()
