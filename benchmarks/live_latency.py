"""Live view latency: an event published on the broker until it is in the staff's browser page.

Starts a Mosquitto on a free port and ``aabent server`` (recorder + dashboard) in this process,
logs a viewer in with headless Chromium, then publishes door events one at a time. In the page a
MutationObserver stamps each new feed row with ``performance.timeOrigin + performance.now()``;
the publisher stamps ``time.time()`` just before publishing. Both read the same system clock.
Prints JSON: {"p50_ms", "p95_ms", "max_ms", "n"}.

    .venv/bin/python benchmarks/live_latency.py [-n 200] [--gap-ms 20]
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playwright.sync_api import sync_playwright

from services.bus.client import MqttBus
from services.bus.topics import Topics
from services.core.events import Event, EventType
from services.dashboard.server import Server
from services.settings import DEFAULT_CONFIG, load_settings
from services.store.dashboard import Role
from services.store.engine import make_engine, make_sessionmaker
from tests.conftest import Broker, free_port
from tests.services.dashboard.conftest import PASSWORD, add_staff, create_tables
from tests.services.dashboard.harness import launch_chromium, site_env

OBSERVE = """() => {
  window.__seen = {};
  new MutationObserver((changes) => {
    const now = performance.timeOrigin + performance.now();
    for (const c of changes) for (const n of c.addedNodes)
      if (n.dataset && n.dataset.id && !(n.dataset.id in window.__seen))
        window.__seen[n.dataset.id] = now;
  }).observe(document.getElementById("feed"), {childList: true});
}"""


def percentile(values: list[float], share: float) -> float:
    """The value below which ``share`` of ``values`` lie (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def measure(n: int, gap_s: float) -> dict[str, float | int]:
    """Publish ``n`` events and time each until it shows in the page."""
    broker = Broker(port=free_port())
    broker.start()
    with tempfile.TemporaryDirectory() as tmp:
        env = site_env(Path(tmp) / "var", broker, "bench")
        settings = load_settings(DEFAULT_CONFIG, environ=env)
        engine = make_engine(f"sqlite:///{Path(tmp) / 'server.sqlite'}")
        create_tables(engine)
        add_staff(make_sessionmaker(engine), "vera", Role.VIEWER)
        server = Server(settings, engine)
        server.start_background()
        topics = Topics(settings.mqtt.prefix, settings.site.id)
        door = MqttBus(settings.mqtt, "bench-door", "bench", topics)
        door.start()
        door.wait_connected(5)
        try:
            with sync_playwright() as p:
                browser = launch_chromium(p)
                page = browser.new_page(base_url=f"http://127.0.0.1:{settings.dashboard.port}")
                page.goto("/login")
                page.fill("input[name=username]", "vera")
                page.fill("input[name=password]", PASSWORD)
                page.click("button[type=submit]")
                page.wait_for_selector("#conn.on")
                page.evaluate(OBSERVE)
                sent: dict[str, float] = {}
                for _ in range(n):
                    event = Event(EventType.ACCESS_GRANTED, "main", datetime.now(UTC))
                    sent[event.id] = time.time() * 1000
                    door.publish(topics.door_event("main"), event.to_json())
                    time.sleep(gap_s)
                page.wait_for_function(f"Object.keys(window.__seen).length >= {n}", timeout=30_000)
                seen: dict[str, float] = page.evaluate("window.__seen")
                browser.close()
        finally:
            door.stop()
            server.stop()
            engine.dispose()
            broker.stop()
    latencies = [seen[i] - t for i, t in sent.items() if i in seen]
    return {
        "p50_ms": round(statistics.median(latencies), 1),
        "p95_ms": round(percentile(latencies, 0.95), 1),
        "max_ms": round(max(latencies), 1),
        "n": len(latencies),
    }


def main() -> int:
    """Parse arguments, measure, print the JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=200, help="events to publish")
    parser.add_argument("--gap-ms", type=float, default=20.0, help="pause between events")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    print(json.dumps(measure(args.n, args.gap_ms / 1000)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
