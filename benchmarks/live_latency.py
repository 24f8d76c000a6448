"""Live view latency: an event published on the broker until it is in the staff's browser page.

Starts a Mosquitto on a free port and ``aabent server`` (recorder + dashboard) in this process,
logs a viewer in with headless Chromium, then publishes door events one at a time. In the page a
MutationObserver stamps each new feed row with ``performance.timeOrigin + performance.now()``;
the publisher stamps ``time.time()`` just before publishing. Both read the same system clock.
Then the two ways the page must stop showing what is not so:

- ``stale_shown_s``: the broker is killed (SIGKILL) with the page open; seconds until the page
  shows its "no longer current" banner (target <= 5 s).
- ``stream_closed_after_logout_ms``: the same user logs out in a second tab; milliseconds from
  the click until the server has closed the first tab's live stream (target <= 1000 ms), and
  ``logged_out_shown_ms`` until that tab says "logged out".

Prints JSON: {"p50_ms", "p95_ms", "max_ms", "n", "stale_shown_s", "stream_closed_after_logout_ms",
"logged_out_shown_ms"}.

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
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playwright.sync_api import Page, sync_playwright

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
                context = browser.new_context(
                    base_url=f"http://127.0.0.1:{settings.dashboard.port}"
                )
                page = context.new_page()
                page.goto("/login")
                page.fill("input[name=username]", "vera")
                page.fill("input[name=password]", PASSWORD)
                page.click("button[type=submit]")
                page.wait_for_selector("#branches")  # the overview of every branch first
                page.goto(f"/site/{settings.site.id}/")
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
                assert server.dashboard is not None
                hub = server.dashboard.hub
                closed_ms, shown_ms = _logout_elsewhere(page, lambda: hub.clients)
                page.goto(f"/site/{settings.site.id}/")
                page.wait_for_selector("#conn.on")
                stale_s = _kill_broker(page, broker)
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
        "stale_shown_s": round(stale_s, 2),
        "stream_closed_after_logout_ms": round(closed_ms, 1),
        "logged_out_shown_ms": round(shown_ms, 1),
    }


def _logout_elsewhere(page: Page, streams: Callable[[], int]) -> tuple[float, float]:
    """Log out in a second tab of the same browser; the first tab's stream must end."""
    before = streams()
    other = page.context.new_page()
    other.goto("/municipality/stats")
    clicked = time.monotonic()
    other.click("header form.logout button")
    while streams() >= before:
        if time.monotonic() - clicked > 10:
            raise RuntimeError("the live stream outlived its session")
        time.sleep(0.002)
    closed = time.monotonic()
    page.wait_for_selector("#logged-out", state="visible")
    shown = time.monotonic()
    other.goto("/login")
    other.fill("input[name=username]", "vera")
    other.fill("input[name=password]", PASSWORD)
    other.click("button[type=submit]")
    other.close()
    return (closed - clicked) * 1000, (shown - clicked) * 1000


def _kill_broker(page: Page, broker: Broker) -> float:
    """SIGKILL the broker with the page open; seconds until the page calls its view stale."""
    assert broker.proc is not None
    broker.proc.kill()
    killed = time.monotonic()
    page.wait_for_selector("#banners [data-banner=stale]", state="visible", timeout=30_000)
    return time.monotonic() - killed


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
