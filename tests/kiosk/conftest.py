"""Real parts for the kiosk tests: Xvfb on a free display, Kivy kept to a temporary home.

Kivy reads its environment when first imported (the view models import it), so the environment
is set here, at collection, before any test module imports Kivy.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from kiosk.boot import prepare_environment  # Kivy-free: only sets the environment

os.environ["KIVY_HOME"] = tempfile.mkdtemp(prefix="aabent-kivy-")
atexit.register(shutil.rmtree, os.environ["KIVY_HOME"], True)
prepare_environment()

from kivy.tests.fixtures import kivy_clock  # noqa: E402, F401  (Kivy's own clock fixture)
from sqlalchemy import Engine  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

from kiosk.background import Inline  # noqa: E402
from kiosk.i18n import Translator  # noqa: E402
from services.store.engine import make_engine, make_sessionmaker  # noqa: E402
from tests.conftest import start_xvfb  # noqa: E402
from tests.kiosk.library import Library, build_library  # noqa: E402


@pytest.fixture(scope="session")
def xvfb() -> Iterator[str]:
    """An Xvfb server (1280x800, 24 bit) for the session; DISPLAY points at it."""
    try:
        proc, display = start_xvfb()
    except RuntimeError as exc:
        pytest.fail(str(exc))
    previous = os.environ.get("DISPLAY")
    os.environ["DISPLAY"] = display
    yield display
    proc.terminate()
    proc.wait(5)
    if previous is None:
        os.environ.pop("DISPLAY", None)
    else:
        os.environ["DISPLAY"] = previous


@pytest.fixture
def tr() -> Translator:
    """A Danish translator, as the kiosk starts."""
    return Translator("da")


@pytest.fixture
def inline() -> Inline:
    """Runs the view models' jobs at once, in the test's thread."""
    return Inline()


class Deferred:
    """Holds the view models' jobs until the test runs them, in the order it chooses."""

    def __init__(self) -> None:
        self.jobs: list[tuple[Any, Any, Any]] = []

    def run(self, job: Any, done: Any, failed: Any) -> None:
        """Keep the job for later."""
        self.jobs.append((job, done, failed))

    def finish(self, index: int = 0) -> None:
        """Run the job at ``index`` and deliver its outcome."""
        job, done, failed = self.jobs.pop(index)
        Inline().run(job, done, failed)


@pytest.fixture
def deferred() -> Deferred:
    """A runner whose jobs wait for :meth:`Deferred.finish`."""
    return Deferred()


@dataclass
class Seeded:
    """The test library in a SQLite file, and the instant it was seeded at."""

    engine: Engine
    sessions: sessionmaker[Session]
    library: Library
    now: datetime


@pytest.fixture
def seeded(tmp_path: Path) -> Iterator[Seeded]:
    """A fresh SQLite library: demo catalogue, Karen and Ole, loans, reservations, a program."""
    engine = make_engine(f"sqlite:///{tmp_path / 'kiosk.sqlite'}")
    now = datetime.now(ZoneInfo("Europe/Copenhagen"))
    library = build_library(engine, now)
    yield Seeded(engine, make_sessionmaker(engine), library, now)
    engine.dispose()


@dataclass
class ReceiptMail:
    """A real SMTP server (aiosmtpd, with a login) and the kiosk's way of sending to it."""

    box: Any  # tests.services.recorder.test_notify.Mailbox: what arrived, and the logins
    send: Any  # (to, subject, body) -> None, through services.runtime.mail.send_text


@pytest.fixture
def receipt_mail(tmp_path: Path) -> Iterator[ReceiptMail]:
    """What KioskServices.send_receipt does, against a real mail server on loopback."""
    from aiosmtpd.controller import Controller

    from services.runtime.mail import send_text
    from services.settings import EmailSettings
    from tests.conftest import free_port
    from tests.services.recorder.test_notify import Mailbox

    box, port = Mailbox(), free_port()
    smtp = Controller(box, hostname="127.0.0.1", port=port, authenticator=box.authenticate,
                      auth_require_tls=False)  # fmt: skip
    secret = tmp_path / "smtp.password"
    secret.write_text("hemmelig\n")
    mail = EmailSettings.model_validate({
        "host": "127.0.0.1", "port": port, "from": "noreply@glostrup.dk", "starttls": False,
        "username": "aabent", "password_file": secret, "timeout_s": 5,
    })  # fmt: skip

    def send(to: str, subject: str, body: str) -> None:
        send_text(mail, to, subject, body)  # KioskServices.send_receipt's own path

    smtp.start()
    try:
        yield ReceiptMail(box, send)
    finally:
        smtp.stop()
