"""`aabent door --simulate` in its own process: the lists arrive over a real Mosquitto, the
digits cross the PIN pad's real pty, and the copy survives a restart without the broker's."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from services.core.credentials import Credential
from services.core.groups import parse_windows
from services.patrons import access_lists as lists
from services.patrons import list_snapshot
from services.patrons.staff_edit import opened
from services.settings import load_settings
from tests.conftest import Broker
from tests.hardware.test_service import (
    TIMEOUT,
    TOPICS,
    Door,
    Observer,
    observer,  # noqa: F401  (its fixture)
    write_config,
)

CLEANER = "20000001"


@pytest.fixture
def door(
    tmp_path: Path,
    own_broker: Broker,
    observer: Observer,  # noqa: F811
) -> Iterator[Door]:
    config = write_config(tmp_path, own_broker.port)
    with config.open("a", encoding="utf-8") as f:
        f.write("[access]\nmax_companions = 2\n")
    d = Door(config, observer)
    yield d
    if d.proc and d.proc.poll() is None:
        d.kill()
    print("".join(d.output))


def wait_line(door: Door, text: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not any(text in line for line in door.output):
        assert time.monotonic() < deadline, f"the controller never logged {text!r}"
        time.sleep(0.05)


def test_codes_members_and_companions_over_the_bus_and_the_ptys(
    tmp_path: Path,
    observer: Observer,  # noqa: F811
    door: Door,
) -> None:
    # The server's lists: a separate database with the same site key as the door's.
    server = load_settings(
        door.config, environ={"AABENT__STORE__URL": f"sqlite:///{tmp_path}/server.sqlite"}
    )
    now = datetime.now(UTC)
    with opened(server) as (session, key):
        code = lists.issue_code(
            session,
            key,
            "anne",
            "carpenter",
            valid_from=now - timedelta(minutes=1),
            valid_until=now + timedelta(hours=1),
            site=server.site.id,
        )
        every_day = lists.GroupSpec("cleaners", parse_windows("mon-sun 00:00-24:00"))
        lists.define_group(session, "anne", every_day, site=server.site.id)
        lists.add_member(
            session,
            key,
            "anne",
            "cleaners",
            Credential.from_text(CLEANER),
            name="R",
            pin="2468",
            site=server.site.id,
        )
        payload = list_snapshot.encode(list_snapshot.take(session))
    door.start()
    assert observer.bus.publish(TOPICS.lists, payload, retain=True).wait(TIMEOUT)
    wait_line(door, "lists version 3 applied")

    observer.sim("pad", code.encode())
    observer.wait_event("access.granted", reason="code")
    observer.sim("pad", code.encode())  # one use only
    observer.wait_event("access.denied", reason="code_used_up")

    observer.sim("swipe", json.dumps({"card": "10000001"}).encode())
    time.sleep(0.5)
    observer.sim("pad", b"2")
    observer.sim("pad", b"1234")
    granted = observer.wait_event("access.granted", reason="granted")
    assert granted["details"]["companions"] == 2

    # The broker forgets the snapshot, the door restarts: it decides from its own copy.
    assert observer.bus.publish(TOPICS.lists, b"", retain=True).wait(TIMEOUT)
    assert door.terminate() == 0
    door.output.clear()
    door.start()
    observer.sim("swipe", json.dumps({"card": CLEANER, "pin": "2468"}).encode())
    observer.wait_event("access.granted", reason="member")
    assert door.terminate() == 0
