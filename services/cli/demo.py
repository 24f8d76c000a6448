"""``make demo``: a whole branch on one machine, with simulated hardware.

Starts a Mosquitto of its own, loads the demo patrons, runs the door controller on gpiozero's
MockFactory with pty readers (its clock two minutes before closing), plays a short scenario
(patrons at the door, a tailgater, the fire panel) and then the branch's closing
(services/cli/demo_evening.py), and keeps running, printing every event as it happens, so that
the commands it prints can be tried from another terminal.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from services.bus.client import MqttBus
from services.bus.topics import Topics
from services.cli.demo_evening import clock_offset_min, play_closing
from services.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "config" / "demo.toml"
PATRONS = ROOT / "config" / "demo-patrons.csv"
CATALOGUE = ROOT / "config" / "demo-catalogue.csv"
PROGRAM = ROOT / "config" / "demo-program.ics"
STAFF_USER, STAFF_PASSWORD = "staff", "aabent-demo"
AABENT = [sys.executable, "-m", "services.cli.main", "-c", str(CONFIG)]

# (pause before, topic input, payload, what the narrator says, the event type that answers it)
# Each step waits for its answer before the next, so a slow start or a busy machine only slows
# the story down: a door opened before its grant would tell another story.
SCENARIO: tuple[tuple[float, str, str, bytes, str, str], ...] = (
    (1.0, "main", "swipe", b'{"card": "10000001", "pin": "1234"}', "Karen: card + PIN", "access."),
    (1.0, "main", "contact", b"open", "Karen opens the door", "door.opened"),
    (0.3, "main", "walk", b"in", "... and walks in", "occupancy.in"),
    (0.3, "main", "walk", b"in", "... a friend slips in behind her", "occupancy.in"),
    (0.5, "main", "contact", b"closed", "the door closes", "door.closed"),
    (
        1.0,
        "main",
        "swipe",
        b'{"card": "0101800000", "pin": "2468"}',
        "Mads: yellow health card",
        "access.",
    ),
    (
        1.0,
        "main",
        "swipe",
        b'{"card": "10000003", "pin": "1111"}',
        "Freja (12), no consent",
        "access.",
    ),
    (
        1.0,
        "main",
        "swipe",
        b'{"card": "10000001", "pin": "0000"}',
        "someone mistypes a PIN",
        "access.",
    ),
    (
        1.0,
        "main",
        "swipe",
        b'{"card": "10000005", "pin": "3333"}',
        "Søren: blocked card",
        "access.",
    ),
    (1.0, "site", "fire", b"on", "FIRE: the panel's relay closes", "fire.alarm"),
    (1.5, "site", "fire", b"off", "the fire alarm is reset", "fire.cleared"),
)
STEP_TIMEOUT_S = 15.0


class EventLog:
    """Prints every event as it comes, and lets the scenario wait for the one that answers it."""

    def __init__(self) -> None:
        self._seen: list[str] = []
        self._details: list[dict[str, Any]] = []
        self._cond = threading.Condition()

    def __call__(self, topic: str, payload: bytes) -> None:
        etype = print_event(topic, payload)
        if etype is not None:
            details = json.loads(payload).get("details")
            with self._cond:
                self._seen.append(etype)
                self._details.append(details if isinstance(details, dict) else {})
                self._cond.notify_all()

    def details(self, prefix: str, since: int) -> dict[str, Any]:
        """The details of the first event after ``since`` whose type starts with ``prefix``."""
        with self._cond:
            for etype, details in zip(self._seen[since:], self._details[since:], strict=True):
                if etype.startswith(prefix):
                    return details
        return {}

    def mark(self) -> int:
        """Where the log stands now: :meth:`wait_for` looks only at events after it."""
        with self._cond:
            return len(self._seen)

    def wait_for(self, prefix: str, since: int, timeout: float) -> bool:
        """True once an event whose type starts with ``prefix`` arrived after ``since``."""
        with self._cond:
            return self._cond.wait_for(
                lambda: any(t.startswith(prefix) for t in self._seen[since:]), timeout
            )


def print_event(topic: str, payload: bytes) -> str | None:
    """One readable line per event; its type, or None for a payload that is no event."""
    try:
        ev: dict[str, Any] = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(ev, dict):
        return None
    when = str(ev.get("ts", ""))[11:19]
    reason = f" ({ev['reason']})" if ev.get("reason") else ""
    who = f" card {ev['credential']}" if ev.get("credential") else ""
    etype = str(ev.get("type", "?"))
    print(f"  {when}  {ev.get('source', '?'):8} {etype}{reason}{who}{_said(ev)}", flush=True)
    return etype


# The details of the building's events worth a word on the line (never a card number).
SAID = ("message", "names", "inside", "minutes", "action")


def _said(ev: dict[str, Any]) -> str:
    details = ev.get("details")
    if not isinstance(details, dict):
        return ""
    parts = [f"{k}={details[k]}" for k in SAID if k in details and details[k] not in ("", [])]
    return f"  [{', '.join(parts)}]" if parts else ""


def start_broker(port: int) -> subprocess.Popen[bytes]:
    """The demo's own Mosquitto; `make demo` installs it with apt-get where it is missing."""
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not Path(binary).exists():
        sys.exit("aabent demo: mosquitto is not installed (`make demo` installs it)")
    proc = subprocess.Popen(
        [binary, "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    time.sleep(0.3)
    if proc.poll() is not None:
        sys.exit(f"aabent demo: mosquitto could not listen on port {port} (in use?)")
    return proc


def load_data() -> None:
    """Demo patrons, catalogue and event programme (re-imports change nothing), a staff login."""
    for what, file in (("patrons", PATRONS), ("catalogue", CATALOGUE), ("program", PROGRAM)):
        subprocess.run(
            [*AABENT, what, "import", str(file)], check=True, cwd=ROOT, stdout=subprocess.DEVNULL
        )
    users = subprocess.run([*AABENT, "users", "list"], capture_output=True, text=True, cwd=ROOT)
    if STAFF_USER not in users.stdout.split():
        subprocess.run(
            [*AABENT, "users", "add", STAFF_USER, "--role", "admin", "--password-stdin"],
            input=STAFF_PASSWORD + "\n",
            text=True,
            check=True,
            cwd=ROOT,
        )


def fresh_evening(settings: Settings) -> None:
    """Forget the last run's evening and count, so this run plays its closing from the start
    (the controller would otherwise, rightly, not repeat tonight's steps it has done)."""
    from sqlalchemy import delete

    from services.store.building import BuildingProgress
    from services.store.engine import make_sessionmaker
    from services.store.occupancy import OccupancyCount
    from services.store.schema import open_database

    engine = open_database(settings.database_url, settings.site.id)
    try:
        with make_sessionmaker(engine).begin() as session:
            for model in (BuildingProgress, OccupancyCount):
                session.execute(delete(model).where(model.site_id == settings.site.id))
    finally:
        engine.dispose()


def play(bus: MqttBus, topics: Topics, log: EventLog, say: Callable[[str], None]) -> None:
    """The scenario, through the same simulated inputs `aabent sim` uses."""
    for pause, door, what, payload, line, answer in SCENARIO:
        time.sleep(pause)
        say(f"> {line}")
        since = log.mark()
        bus.publish(topics.sim(door, what), payload).wait(5)
        if not log.wait_for(answer, since, STEP_TIMEOUT_S):
            say(f"  (no {answer}… within {STEP_TIMEOUT_S:.0f} s; going on)")


def wait_online(bus: MqttBus, topics: Topics, component: str, timeout: float) -> bool:
    """True once ``component`` says it is online (its retained status), within ``timeout``."""
    online = threading.Event()

    def on_status(_topic: str, payload: bytes) -> None:
        if payload == b"online":
            online.set()

    bus.subscribe(topics.status(component), on_status)
    return online.wait(timeout)


def banner(settings: Settings) -> str:
    """What to try from another terminal."""
    cmd = f".venv/bin/aabent -c {CONFIG.relative_to(ROOT)}"
    web = f"http://{settings.dashboard.host}:{settings.dashboard.port}"
    port = settings.mqtt.port
    return f"""
aabent demo — {settings.site.name}, doors: {", ".join(settings.doors)}
Staff dashboard: {web}  (user {STAFF_USER}, password {STAFF_PASSWORD})
Broker: mqtt://127.0.0.1:{port}  (watch: mosquitto_sub -p {port} -t 'aabent/#' -v)
Try, from another terminal:
  {cmd} sim swipe 10000001 --pin 1234     Karen, adult: granted
  {cmd} sim swipe 0101800000 --pin 2468   Mads, yellow health card (CPR): granted
  {cmd} sim swipe 10000004 --pin 2222     Oscar, 13, with guardian consent: granted
  {cmd} sim swipe 10000006 --pin 4444     Ida: card expired
  {cmd} sim open | close | exit | walk in | walk out
  {cmd} sim fire on | fire off
  {cmd} sim panel armed on | off       the alarm panel's feedback
  the evening's orders (extend, swept — arm now, announce): the dashboard's Tonight page
Demo patrons: config/demo-patrons.csv.  The kiosk window opens where a display is available
(try searching "blixen", or My account with card 10000001 and PIN 1234).
The door controller's clock runs two minutes before 22:00: after the scenario the branch
closes and is armed, and the door refuses (`make demo ARGS=--no-closing` for an open day).
Ctrl-C stops everything.
"""


def main(argv: list[str] | None = None) -> int:
    """Run the demo until Ctrl-C (or ``--seconds``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=0, help="stop after this long (0: never)")
    parser.add_argument("--no-scenario", action="store_true")
    parser.add_argument(
        "--no-closing",
        dest="closing",
        action="store_false",
        help="no closing: the controller's clock at noon instead of two minutes before 22:00",
    )
    parser.add_argument(
        "--no-kiosk",
        dest="kiosk",
        action="store_false",
        help="do not open the kiosk window (it opens only where DISPLAY is set)",
    )
    args = parser.parse_args(argv)
    settings = load_settings(CONFIG)
    topics = Topics(settings.mqtt.prefix, settings.site.id)
    broker = start_broker(settings.mqtt.port)
    procs: list[subprocess.Popen[bytes]] = [broker]
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    bus = MqttBus(settings.mqtt, f"aabent-demo-{os.getpid()}", "demo", topics)
    try:
        load_data()
        fresh_evening(settings)
        local_now = datetime.now(ZoneInfo(settings.site.timezone))
        offset = clock_offset_min(local_now, closing=args.closing)
        door = [*AABENT, "door", "--simulate", "--clock-offset", str(offset)]
        procs.append(subprocess.Popen(door, cwd=ROOT))
        server = [*AABENT, "server", "--clock-offset", str(offset)]  # the same evening
        procs.append(subprocess.Popen(server, cwd=ROOT))
        if args.kiosk and os.environ.get("DISPLAY"):
            procs.append(subprocess.Popen([*AABENT, "kiosk", "--windowed"], cwd=ROOT))
        log = EventLog()
        bus.subscribe(topics.all_door_events, log)
        bus.subscribe(topics.site_event, log)
        bus.start()
        bus.wait_connected(10)
        # The controller is online once its readers, bus and subscriptions are up.
        if not wait_online(bus, topics, settings.component, STEP_TIMEOUT_S):
            print("aabent demo: the door controller did not come online", file=sys.stderr)
        print(banner(settings), flush=True)

        def say(line: str) -> None:
            print(line, flush=True)

        if not args.no_scenario:
            play(bus, topics, log, say)
            if args.closing:  # the closing's story needs the scenario's patrons inside
                play_closing(bus, topics, log, say, offset)
        stop.wait(args.seconds or None)
    except KeyboardInterrupt:
        pass
    finally:
        bus.stop()
        for proc in reversed(procs):
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
