"""Fixtures of the dashboard tests: settings for a simulated site, a database with the dashboard's
and the recorder's tables, a connected bus and a running dashboard."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from services.dashboard.users import add_user
from services.settings import DEFAULT_CONFIG, Settings, load_settings
from services.store.base import Base
from services.store.dashboard import TABLES, Role
from services.store.engine import make_engine, make_sessionmaker
from services.store.recorder import RECORDER_TABLES
from tests.conftest import Broker, free_port

PASSWORD = "correct horse battery"
ALL_DAY = "00:00-24:00"


def site_settings(tmp_path: Path, broker: Broker, **extra: str) -> Settings:
    """The example site, self-service around the clock with no staff, on the test broker."""
    env = {
        "AABENT__SITE__DATA_DIR": str(tmp_path / "var"),
        "AABENT__SITE__KEY_FILE": str(tmp_path / "var" / "site.key"),
        "AABENT__MQTT__PORT": str(broker.port),
        "AABENT__DASHBOARD__PORT": str(free_port()),
        "AABENT__SCHEDULE__PUBLIC_HOLIDAYS_CLOSED": "false",
        "AABENT__RECORDER__HOMEASSISTANT_DISCOVERY": "false",
        **{f"AABENT__SCHEDULE__SELF_SERVICE__{d}": ALL_DAY for d in _DAYS},
        **{f"AABENT__SCHEDULE__STAFFED__{d}": '""' for d in _DAYS},
        **extra,
    }
    settings = load_settings(DEFAULT_CONFIG, environ=env)
    # The example's exception days would make the tests depend on the date they run.
    return settings.model_copy(
        update={"schedule": settings.schedule.model_copy(update={"exceptions": ()})}
    )


_DAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")


def create_tables(engine: Engine) -> None:
    """The dashboard's and the recorder's tables (no migrations for them in these tests)."""
    Base.metadata.create_all(engine, tables=[*TABLES, *RECORDER_TABLES])


@pytest.fixture
def db(engine: Engine) -> sessionmaker[Session]:
    """Sessions on an empty database (SQLite and PostgreSQL) with the tables created."""
    create_tables(engine)
    return make_sessionmaker(engine)


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Engine]:
    """A SQLite file with the tables, for tests that run a whole server."""
    eng = make_engine(f"sqlite:///{tmp_path / 'server.sqlite'}")
    create_tables(eng)
    yield eng
    eng.dispose()


def add_staff(sessions: sessionmaker[Session], name: str, role: Role) -> None:
    """A staff member with the test password."""
    with sessions() as session, session.begin():
        add_user(session, name, PASSWORD, role)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium for one test module; each test opens its own context (cookies)."""
    from tests.services.dashboard.harness import launch_chromium  # harness imports this module

    with sync_playwright() as p:
        chromium = launch_chromium(p)
        yield chromium
        chromium.close()
