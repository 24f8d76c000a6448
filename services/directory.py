"""The patron directory a process uses, chosen by ``patrons.directory`` in settings."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from services.credentials import SiteKey
from services.events import Event
from services.patrons import PatronDirectory
from services.registry import LocalRegistry
from services.settings import Settings


def open_directory(
    settings: Settings,
    sessions: sessionmaker[Session],
    key: SiteKey,
    on_event: Callable[[Event], None],
) -> PatronDirectory:
    """The local registry (default) or the library system over SIP2 with its offline cache."""
    if settings.patrons.directory == "local":
        return LocalRegistry(sessions, key)
    from services.sip2.directory import Sip2Directory

    return Sip2Directory.from_settings(settings, sessions, key, on_event=on_event)
