"""`patrons.directory` (services/patrons/directory.py): the local registry or the library system."""

from __future__ import annotations

from pathlib import Path

from services.core.credentials import Credential, SiteKey
from services.core.events import Event
from services.core.patrons import PatronStatus, PinCheck
from services.patrons.directory import close_directory, open_directory
from services.patrons.registry import LocalRegistry
from services.settings import Settings
from services.store.engine import make_engine
from services.store.schema import create_schema
from tests.services.sip2.conftest import Acs

KEY = SiteKey(b"k" * 32)


def test_local_is_the_registry(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    create_schema(engine)
    directory = open_directory(Settings(), engine, KEY, on_event=lambda _e: None)
    assert isinstance(directory, LocalRegistry)


def test_sip2_asks_the_library_system_for_card_pin_and_standing(tmp_path: Path, acs: Acs) -> None:
    settings = Settings.model_validate(
        {
            "patrons": {"directory": "sip2"},
            "sip2": {"transport": "tcp", "host": "127.0.0.1", "port": acs.port, "timeout_s": 1.0},
        }
    )
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    create_schema(engine)  # the offline cache's table comes with the migrations
    events: list[Event] = []
    directory = open_directory(settings, engine, KEY, on_event=events.append)
    try:
        good = directory.authenticate(Credential.from_text("9000000001"), "1234")
        assert good.patron is not None and good.pin is PinCheck.OK and good.reachable
        wrong = directory.authenticate(Credential.from_text("9000000001"), "1111")
        assert wrong.pin is PinCheck.WRONG
        blocked = directory.authenticate(Credential.from_text("9000000002"), "2222")
        assert blocked.patron is not None and blocked.patron.status is PatronStatus.BLOCKED
    finally:
        close_directory(directory)
