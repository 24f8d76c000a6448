"""Door latency: from the PIN's '#' written into the PIN pad's pty to the lock relay released.

The whole controller runs as in production (`DoorService`), on gpiozero's MockFactory with
real ptys, a real registry (SQLite, scrypt PIN hashes) and the durable outbox; once with a real
Mosquitto and once with the broker down. Then the fire input is switched with four doors and the
time to the last relay released is measured; and again, with the fire input and with the exit
button, while a card's lookup hangs on a library system that accepts the connection and never
answers (SIP2, timeout 5 s). And the entries once more with the door's copy of the local
lists holding 10,000 group members, 10,000 bans and 1,000 codes (``p99_ms_large_lists``),
loaded the way a controller gets them: one snapshot applied. Prints one JSON object.

The pace is a patron's, only faster: the PIN is typed once the door has taken the card in, 2 ms
before the '#' (the lookup begun at the card has that long), and the next card comes once the
controller has carried out the last entry's effects (its events are in the outbox) — at a real
door the opening and closing alone take seconds. Entries back to back measured the previous
patron's bookkeeping as much as this one's '#'.

    .venv/bin/python benchmarks/door_latency.py [--entries 1000] [--fires 300]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hardware.service import DoorService  # noqa: E402
from hardware.simulate import Simulation, encode_card  # noqa: E402
from services.core.credentials import Credential  # noqa: E402
from services.patrons import list_snapshot  # noqa: E402
from services.patrons.registry import LocalRegistry  # noqa: E402
from services.settings import Settings  # noqa: E402
from services.store.engine import make_engine, make_sessionmaker  # noqa: E402
from services.store.schema import create_schema  # noqa: E402
from tests.conftest import Broker, free_port  # noqa: E402
from tests.hardware.silent_library import SilentLibrary  # noqa: E402

PIN = "2580"
LOCK_PINS = (17, 16, 12, 7)
EXIT_PIN = 24


def site(data: Path, port: int, doors: int, **extra: Any) -> Settings:
    """A site open for self-service all day, with ``doors`` doors; the first has pty readers."""
    every_day = {d: "00:00-24:00" for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    door_cfg: dict[str, Any] = {}
    for n in range(doors):
        door_cfg[f"d{n}"] = {
            "lock_pin": LOCK_PINS[n],
            "contact_pin": 20 + n,
            "exit_button_pin": EXIT_PIN if n == 0 else None,
            "unlock_seconds": 30,
            "readers": [],
        }
    door_cfg["d0"]["readers"] = [
        {"kind": "barcode", "url": "loop://"},
        {"kind": "pinpad", "url": "loop://"},
    ]
    return Settings.model_validate(
        {
            "site": {"id": "bench", "data_dir": str(data), "key_file": str(data / "site.key")},
            "schedule": {"self_service": every_day, "public_holidays_closed": False},
            "access": {"capacity": 100000},
            # The alarm clears at once here, so the next switch finds every door locked again.
            "fire": {"input_pin": 5, "clear_after_s": 0},
            "mqtt": {"port": port},
            "doors": door_cfg,
            **extra,
        }
    )


def enrol(settings: Settings, n: int) -> list[str]:
    """``n`` patrons with distinct cards, so the reader's repeat filter never drops one."""
    engine = make_engine(settings.database_url)
    create_schema(engine)
    registry = LocalRegistry(make_sessionmaker(engine), settings.site.site_key())
    cards = [f"3{i:07d}" for i in range(n)]
    for card in cards:
        registry.add_patron("Bench Patron", [Credential.from_text(card)], pin=PIN)
    engine.dispose()
    return cards


def load_lists(settings: Settings, members: int, bans: int, codes: int) -> None:
    """Apply one snapshot of that size to the door's own database (none of them are the
    benchmark's cards, so each entry looks through full lists and finds nothing)."""
    key = settings.site.site_key()
    pin_hash = key.hash_pin("1357")  # one scrypt, shared: hashing 10,000 would take a minute
    hashes = (key.credential_hash(Credential.from_text(f"9{i:07d}")) for i in range(10**7))
    snapshot: dict[str, Any] = {
        "version": 1,
        "groups": [
            {
                "name": f"group {g}",
                "windows": "mon-sun 05:00-23:00",
                "doors": "",
                "valid_from": None,
                "valid_until": None,
                "pin_required": True,
                "when_armed": "refuse",
                "members": [[next(hashes), None, pin_hash] for _ in range(members // 10)],
            }
            for g in range(10)
        ],
        "bans": [[next(hashes), None, ""] for _ in range(bans)],
        "codes": [
            [
                next(hashes),
                f"code {c}",
                "2026-01-01T00:00:00+00:00",
                "2099-01-01T00:00:00+00:00",
                1,
                0,
                "",
            ]
            for c in range(codes)
        ],
        "signups": [],
    }
    engine = make_engine(settings.database_url)
    create_schema(engine)
    with make_sessionmaker(engine).begin() as session:
        list_snapshot.apply(session, snapshot)
    engine.dispose()


def run_entries(settings: Settings, cards: list[str]) -> list[float]:
    """Latency in ms of each entry, '#' to relay."""
    sim = Simulation(settings)
    service = DoorService(sim.wire(), pin_factory=sim.factory, simulation=sim)
    service.start()
    try:
        time.sleep(0.3)  # readers open their ptys
        card_pty, pad_pty = sim.ptys["d0.0"].master, sim.ptys["d0.1"].master
        lock = sim.factory.pin(LOCK_PINS[0])
        assert service.controller is not None
        entry = service.controller.core.doors["d0"].entry
        out: list[float] = []
        for card in cards:
            os.write(card_pty, encode_card("barcode", card))
            # The PIN follows the card, as a patron's does: the two ptys have their own reader
            # threads, and a PIN that overtook its card would be a PIN without a card; nor is
            # a digit typed before the door has taken the card in (its pad is cleared then).
            wait(lambda: entry.pending is not None, f"card {card} read")
            assert service.controller.wait_idle(2)
            os.write(pad_pty, PIN.encode())
            time.sleep(0.002)  # the digits arrive before the '#', as typed
            t0 = time.monotonic()
            os.write(pad_pty, b"#")
            wait(lambda: lock.state, f"card {card} admitted")
            out.append((lock._last_change - t0) * 1000)
            walk_through(sim, service)
            # The next patron comes to a door that has written this one's bookkeeping and
            # events (at a real door seconds pass, here only until the controller is idle).
            assert service.controller.wait_idle(2)
        return out
    finally:
        service.stop()


def walk_through(sim: Simulation, service: DoorService) -> None:
    """The patron opens and closes the door; closing relocks it once the contact settles."""
    lock = sim.factory.pin(LOCK_PINS[0])
    sim.contact("d0", True)
    time.sleep(0.05)  # beyond the contact's settle time
    sim.contact("d0", False)
    wait(lambda: not lock.state, "relock after the door closed")


def wait(check: Callable[[], object], what: str, timeout: float = 2.0) -> None:
    """Poll ``check`` until it holds; RuntimeError naming ``what`` otherwise.

    What is measured is the pin's own time of change, so the poll only has to notice it: a
    faster one would only take the GIL from the controller it measures."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out: {what}")
        time.sleep(0.001)


def run_fire(settings: Settings, fires: int) -> list[float]:
    """Latency in ms from the fire input changing to the last of four relays released."""
    sim = Simulation(settings)
    service = DoorService(sim.wire(), pin_factory=sim.factory, simulation=sim)
    service.start()
    try:
        locks = [sim.factory.pin(p) for p in LOCK_PINS]
        out: list[float] = []
        for _ in range(fires):
            t0 = time.monotonic()
            sim.fire(True)
            if not all(p.state for p in locks):
                raise RuntimeError("fire did not release every door")
            out.append((max(p._last_change for p in locks) - t0) * 1000)
            sim.fire(False)
            time.sleep(0.002)
        return out
    finally:
        service.stop()


def run_during_lookup(settings: Settings, n: int, what: str) -> list[float]:
    """Latency in ms of the fire input (``what`` = fire) or the exit button (exit) while a
    card's lookup waits on the silent library system; a new card whenever one gives up."""
    sim = Simulation(settings)
    service = DoorService(sim.wire(), pin_factory=sim.factory, simulation=sim)
    service.start()
    try:
        time.sleep(0.3)  # readers open their ptys
        assert service.controller is not None
        entry = service.controller.core.doors["d0"].entry
        card_pty, pad_pty = sim.ptys["d0.0"].master, sim.ptys["d0.1"].master
        locks = [sim.factory.pin(p) for p in LOCK_PINS[: len(settings.doors)]]
        exit_pin = sim.factory.pin(EXIT_PIN)
        out: list[float] = []
        while len(out) < n:
            if entry.lookup is None:
                before = entry.last_decision
                os.write(card_pty, encode_card("barcode", "30000000"))
                wait(lambda: entry.pending is not None, "card read")
                os.write(pad_pty, PIN.encode() + b"#")
                # Once offline, the directory may answer at once (its probe found the
                # connection busy): then try again with the next card.
                wait(
                    lambda b=before: entry.lookup is not None or entry.last_decision is not b,
                    "lookup started",
                )
                if entry.lookup is None:
                    continue
            t0 = time.monotonic()
            if what == "fire":
                sim.fire(True)
            else:
                exit_pin.drive_low()
            wait(lambda: all(p.state for p in locks), f"{what} release")
            out.append((max(p._last_change for p in locks) - t0) * 1000)
            if what == "fire":
                sim.fire(False)
                wait(lambda: not any(p.state for p in locks), "relock after the fire")
            else:
                exit_pin.drive_high()
                walk_through(sim, service)
                time.sleep(0.04)  # the button's settle time, so the next press counts
        return out
    finally:
        service.stop()


def p(values: list[float], q: float) -> float:
    """The q-quantile (0..1) of ``values``."""
    return statistics.quantiles(values, n=1000, method="inclusive")[int(q * 1000) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1000)
    parser.add_argument("--fires", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        broker = Broker(port=free_port())
        broker.start()
        try:
            up = site(data / "up", broker.port, 1)
            cards = enrol(up, args.entries)
            with_broker = run_entries(up, cards)
            large = site(data / "large", broker.port, 1)
            large_cards = enrol(large, args.entries)
            load_lists(large, members=10_000, bans=10_000, codes=1_000)
            with_large_lists = run_entries(large, large_cards)
        finally:
            broker.stop()
        down = site(data / "down", free_port(), 1)  # nothing listens there
        without_broker = run_entries(down, enrol(down, args.entries))
        fire = run_fire(site(data / "fire", free_port(), 4), args.fires)
        library = SilentLibrary()
        try:
            silent = {
                "patrons": {"directory": "sip2"},
                "sip2": {"host": "127.0.0.1", "port": library.port, "timeout_s": 5},
            }
            fire_lookup = run_during_lookup(
                site(data / "fire-lookup", free_port(), 4, **silent), args.fires, "fire"
            )
            exit_lookup = run_during_lookup(
                site(data / "exit-lookup", free_port(), 1, **silent), args.fires, "exit"
            )
        finally:
            library.close()
    print(
        json.dumps(
            {
                "n": len(with_broker),
                "p50_ms": round(statistics.median(with_broker), 3),
                "p99_ms": round(p(with_broker, 0.99), 3),
                "p50_ms_broker_down": round(statistics.median(without_broker), 3),
                "p99_ms_broker_down": round(p(without_broker, 0.99), 3),
                "p50_ms_large_lists": round(statistics.median(with_large_lists), 3),
                "p99_ms_large_lists": round(p(with_large_lists, 0.99), 3),
                "large_lists": {"members": 10_000, "bans": 10_000, "codes": 1_000},
                "fire_release_p99_ms": round(p(fire, 0.99), 3),
                "fire_n": len(fire),
                "fire_release_p99_ms_during_lookup": round(p(fire_lookup, 0.99), 3),
                "exit_release_p99_ms_during_lookup": round(p(exit_lookup, 0.99), 3),
                "during_lookup_n": len(fire_lookup),
            }
        )
    )


if __name__ == "__main__":
    main()
