"""SIP2 latency over loopback, printed as JSON.

- ``p50_ms`` / ``p99_ms``: 23 Patron Status round trips (AY/AZ on) against the pysip2 test
  library system (``tests.services.sip2.acs_server``) in a process of its own. Target p99 <= 5 ms.
- ``door_p99_ms_online``: ``Sip2Directory.authenticate`` with the system up (63 + cache write).
- ``door_p99_ms_sip2_down``: ``Sip2Directory.authenticate`` when the library system does not
  answer (a socket that listens and never replies), every swipe of a card validated earlier.
  Target: within the configured timeout + 10 ms (``door_budget_ms``).
- ``wrong_decisions``: door decisions (``Sip2Directory.authenticate`` +
  ``services.core.access.decide``) that differ from the honest answer, over ``--decisions``
  (1,000) swipes of known, unknown, blocked and wrong-PIN cards against the misbehaving test server
  (``tests.services.sip2.rogue_server``) putting a staff note with a raw CR LF into 10 % of its
  replies, its tail 2 ms late. With error detection on (the default) and off. Target: 0.

Run from the checkout: ``.venv/bin/python benchmarks/sip2_latency.py [--round-trips 2000]``.
"""

from __future__ import annotations

import argparse
import json
import logging
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from services.core.access import AccessRules, DoorContext, decide
from services.core.credentials import Credential, SiteKey
from services.core.patrons import Patron, PatronStatus
from services.core.schedule import OpeningState
from services.sip2 import cache
from services.sip2.cache import CachedPatron
from services.sip2.client import Sip2Client
from services.sip2.directory import Sip2Directory
from services.sip2.requests import Terminal
from services.sip2.transport import TcpTransport
from services.store.base import Base
from services.store.engine import make_engine

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.services.sip2.rogue_server import Rogue, RogueAcs  # noqa: E402

CARD, PIN = "9000000001", "1234"
KEY = SiteKey(b"b" * 32)


def percentile(samples: list[float], q: float) -> float:
    """The q-th percentile (0-100), nearest rank, in milliseconds."""
    ordered = sorted(samples)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return round(ordered[rank] * 1000, 3)


def timed(action: Callable[[], object], times: int) -> list[float]:
    """Durations of ``times`` calls, in seconds."""
    out = []
    for _ in range(times):
        started = time.perf_counter()
        action()
        out.append(time.perf_counter() - started)
    return out


def start_acs() -> tuple[subprocess.Popen[str], int]:
    """The pysip2 test library system on a free loopback port."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.services.sip2.acs_server", "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("READY "):
        proc.kill()
        raise SystemExit(f"the test ACS did not start: {line!r}")
    return proc, int(line.split()[1])


def cache_engine(folder: Path, name: str) -> Engine:
    """A door controller's SQLite file with the SIP2 cache table."""
    engine = make_engine(f"sqlite:///{folder / name}")
    Base.metadata.create_all(engine, tables=[CachedPatron.__table__])  # type: ignore[list-item]
    return engine


def directory(
    port: int, timeout_s: float, engine: Engine, error_detection: bool = True
) -> Sip2Directory:
    """A door controller's directory for the library system on ``port``."""
    client = Sip2Client(
        TcpTransport("127.0.0.1", port),
        Terminal("DK-761500"),
        timeout_s=timeout_s,
        error_detection=error_detection,
    )
    return Sip2Directory(
        client,
        engine=engine,
        site_key=KEY,
        on_event=lambda e: None,
        clock=lambda: datetime.now().astimezone(),
        timeout_s=timeout_s,
    )


def door_down(timeout_s: float, swipes: int, folder: Path) -> list[float]:
    """Swipe durations against a library system that listens and never answers, for a card
    validated online earlier (so the offline cache has its verifier)."""
    engine = cache_engine(folder, "door-down.sqlite")
    card = Credential.from_text(CARD)
    with Session(engine) as session, session.begin():
        patron = Patron("sip2:bench", "Bench", PatronStatus.ACTIVE)
        now = datetime.now().astimezone()
        cache.remember(session, KEY, card, PIN, patron, now, timedelta(days=14))
    with socket.create_server(("127.0.0.1", 0)) as hung:  # never accepted, never answered
        d = directory(hung.getsockname()[1], timeout_s, engine)
        return timed(lambda: d.authenticate(card, PIN), swipes)


# Card, PIN, and what an honest library system makes of them at the door.
SWIPES = [
    ("9000000001", "1234", True),
    ("9000009999", "1234", False),  # unknown
    ("9000000007", "7777", True),
    ("9000000002", "2222", False),  # blocked
    ("9000000001", "0000", False),  # wrong PIN
]


def wrong_decisions(decisions: int, folder: Path, error_detection: bool) -> int:
    """Door decisions that differ from the honest answer, with a CR LF in 10 % of the replies."""
    server = RogueAcs(Rogue(cr_share=0.1, tail_delay_s=0.002), seed=1)
    try:
        name = f"door-cr-{error_detection}.sqlite"
        d = directory(server.port, 1.5, cache_engine(folder, name), error_detection)
        context, rules = DoorContext(opening=OpeningState.SELF_SERVICE), AccessRules()
        wrong = 0
        for i in range(decisions):
            card, pin, honest = SWIPES[i % len(SWIPES)]
            auth = d.authenticate(Credential.from_text(card), pin)
            now = datetime.now().astimezone()
            wrong += decide(now, auth, context, rules).granted is not honest
        d.close()
        return wrong
    finally:
        server.stop()


def figures(
    trips: list[float], door_online: list[float], down: list[float], timeout_s: float
) -> dict[str, float]:
    """The JSON object the benchmark prints."""
    return {
        "round_trips": len(trips),
        "p50_ms": percentile(trips, 50),
        "p99_ms": percentile(trips, 99),
        "mean_ms": round(statistics.fmean(trips) * 1000, 3),
        "door_p50_ms_online": percentile(door_online, 50),
        "door_p99_ms_online": percentile(door_online, 99),
        "swipes": len(down),
        "timeout_s": timeout_s,
        "door_budget_ms": round(timeout_s * 1000 + 10, 3),
        "door_p99_ms_sip2_down": percentile(down, 99),
        "door_max_ms_sip2_down": round(max(down) * 1000, 3),
        "door_first_swipe_ms_sip2_down": round(down[0] * 1000, 3),
        "door_p50_ms_sip2_down": percentile(down, 50),
    }


def main() -> None:
    """Measure and print the JSON figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--round-trips", type=int, default=2000)
    parser.add_argument("--swipes", type=int, default=200)
    parser.add_argument("--timeout", type=float, default=1.5, help="the door's SIP2 timeout, s")
    parser.add_argument("--decisions", type=int, default=1000, help="swipes for wrong_decisions")
    args = parser.parse_args()
    # Each CR LF costs a logged reconnect; expected here, and not what is measured.
    logging.getLogger("services.sip2").setLevel(logging.ERROR)
    proc, port = start_acs()
    try:
        client = Sip2Client(TcpTransport("127.0.0.1", port), Terminal("DK-761500"))
        timed(lambda: client.patron_status(CARD, PIN), 100)  # warm up: connect, caches
        trips = timed(lambda: client.patron_status(CARD, PIN), args.round_trips)
        with tempfile.TemporaryDirectory() as tmp:
            online = directory(port, args.timeout, cache_engine(Path(tmp), "door.sqlite"))
            card = Credential.from_text(CARD)
            timed(lambda: online.authenticate(card, PIN), 20)
            door_online = timed(lambda: online.authenticate(card, PIN), args.swipes)
            down = door_down(args.timeout, args.swipes, Path(tmp))
            wrong = wrong_decisions(args.decisions, Path(tmp), error_detection=True)
            wrong_plain = wrong_decisions(args.decisions, Path(tmp), error_detection=False)
    finally:
        proc.kill()
        proc.wait()
    out: dict[str, float] = figures(trips, door_online, down, args.timeout)
    out |= {
        "decisions": args.decisions,
        "cr_share": 0.1,
        "wrong_decisions": wrong,
        "wrong_decisions_without_error_detection": wrong_plain,
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
