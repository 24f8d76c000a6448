"""Kiosk cold start: a fresh ``aabent kiosk`` process to the first frame of Home, and its memory.

Prepares a database like a branch's (migrated, the demo catalogue, patrons and event program),
starts its own Xvfb (1280x800, as the kiosk's screen), then runs ``aabent kiosk --first-frame``
``--runs`` times, each a new process. The kiosk prints when Kivy has drawn Home for the first time
(``Window.on_flip``) with its resident memory then, and exits. No broker is running: the kiosk
must not wait for one. Prints one JSON object:
``{"cold_start_s", "rss_mb", "runs_s", "rss_runs_mb", "first_frame_in_process_s",
"bare_kivy_window_rss_mb", "rss_after_tours_mb"}`` where ``cold_start_s`` is the median wall time
from spawning the process to that line and ``rss_mb`` the largest of the runs (the first start of
a new data folder included). Targets: 3 s, 200 MB. For scale, ``bare_kivy_window_rss_mb`` is a
Kivy window configured as the kiosk's (no multisampling) with one label, in the same X server:
under Xvfb that is Mesa's software rasteriser (llvmpipe with libLLVM), which a Raspberry Pi's GPU
driver does not carry. ``rss_after_tours_mb`` is the kiosk after ``--tour-rounds`` tours of every
screen, with searches, in both languages and both text sizes: what it settles at in a day's use
(llvmpipe keeps every texture and shader variant in the process's own memory).

    .venv/bin/python benchmarks/kiosk_start.py
    .venv/bin/python benchmarks/kiosk_start.py --runs 5
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import free_port, start_xvfb  # noqa: E402

AABENT = [sys.executable, "-m", "services.cli.main"]


def _environment(folder: Path, display: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DISPLAY": display,
            "KIVY_HOME": str(folder / "kivy"),
            "AABENT__SITE__DATA_DIR": json.dumps(str(folder)),
            "AABENT__SITE__KEY_FILE": json.dumps(str(folder / "site.key")),
            "AABENT__MQTT__PORT": str(free_port()),  # nobody listens: no broker on start
            "AABENT__KIOSK__FULLSCREEN": "false",
        }
    )
    return env


def _prepare(env: dict[str, str]) -> None:
    """A branch's database: migrations, demo patrons, catalogue and program."""
    for args in (
        ["patrons", "import", str(ROOT / "config" / "demo-patrons.csv")],
        ["catalogue", "import", str(ROOT / "config" / "demo-catalogue.csv")],
        ["program", "import", str(ROOT / "config" / "demo-program.ics")],
    ):
        subprocess.run([*AABENT, *args], env=env, cwd=ROOT, check=True, capture_output=True)


def _one_start(env: dict[str, str]) -> tuple[float, float, float]:
    """Spawn the kiosk; (seconds to its first-frame line, RSS MB then, in-process seconds)."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [*AABENT, "kiosk", "--first-frame"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("{"):
            elapsed = time.perf_counter() - started
            probe = json.loads(line)
            proc.wait(30)
            return elapsed, float(probe["rss_mb"]), float(probe["first_frame_s"])
    proc.wait(30)
    sys.exit(f"kiosk_start: the kiosk exited ({proc.returncode}) before its first frame")


_BARE_WINDOW = """
import json
from kiosk.boot import configure_kivy
from kiosk.cli import rss_mb
from services.settings import KioskSettings
configure_kivy(KioskSettings(fullscreen=False, width=1280, height=800))
from kivy.app import App
from kivy.core.window import Window
from kivy.uix.label import Label

class Bare(App):
    def load_kv(self, filename=None):
        return None  # no kv file; and with -c there is no source file to look beside

    def build(self):
        Window.bind(on_flip=lambda *_: (print(json.dumps({"rss_mb": rss_mb()}), flush=True),
                                        self.stop()))
        return Label(text="Velkommen")

Bare().run()
"""


_TOUR = """
import json
from pathlib import Path
from kiosk.boot import configure_kivy
from kiosk.cli import rss_mb
from services.settings import load_settings
settings = load_settings()
settings = settings.model_copy(
    update={"kiosk": settings.kiosk.model_copy(update={"fullscreen": False})}
)
configure_kivy(settings.kiosk)
from kivy.base import runTouchApp
from kiosk.app import KioskApp
from kiosk.wiring import open_services
from tests.kiosk.driver import Driver, FakeMonotonic
mono = FakeMonotonic()
app = KioskApp(open_services(settings), monotonic=mono)
app._run_prepare()
runTouchApp(embedded=True)
drive = Driver(app, mono, Path("."))
for _ in range(ROUNDS):
    for large in (False, True):
        for name in ("search", "item", "program", "hours", "account", "help", "signup",
                     "poster", "closed", "home"):
            if name == "item":
                app.open_item(app.search_vm.results[0]["record_id"])
            else:
                app.show(name)
            if name == "search":
                for query in ("strik", "9788", "adler-olsen", "kvinden"):
                    app.search_vm.query = query
                    app.search_vm.search_now()
                    drive.wait(lambda: not app.search_vm.busy)
            drive.pump(frames=3)
            app.toggle_language()
            drive.pump(frames=3)
        app.toggle_large_text()
    app.reset_all()
    drive.pump(frames=3)
print(json.dumps({"rss_mb": rss_mb()}), flush=True)
app.stop()
"""


def _tour_rss(env: dict[str, str], rounds: int) -> float:
    """RSS after ``rounds`` tours of every screen, in both languages and both text sizes."""
    command = [sys.executable, "-c", _TOUR.replace("ROUNDS", str(rounds))]
    return _probe(command, env, "the tour")


def _probe(command: list[str], env: dict[str, str], what: str) -> float:
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"kiosk_start: {what} failed: {done.stderr[-2000:]}")
    line = next(x for x in done.stdout.splitlines() if x.startswith("{"))
    return float(json.loads(line)["rss_mb"])


def _bare_window_rss(env: dict[str, str]) -> float:
    """RSS of a Kivy window with one label: what the GL stack and Kivy cost by themselves."""
    return _probe([sys.executable, "-c", _BARE_WINDOW], env, "the bare window")


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tour-rounds", type=int, default=5)
    args = parser.parse_args()
    try:
        xvfb, display = start_xvfb(first_display=200)
    except RuntimeError as exc:
        sys.exit(f"kiosk_start: {exc}")
    try:
        with tempfile.TemporaryDirectory(prefix="aabent-kiosk-bench-") as tmp:
            env = _environment(Path(tmp), display)
            _prepare(env)
            runs = [_one_start(env) for _ in range(args.runs)]
            bare = _bare_window_rss(env)
            toured = _tour_rss(env, args.tour_rounds)
    finally:
        xvfb.terminate()
        xvfb.wait(5)
    walls, rss, inside = zip(*runs, strict=True)
    print(
        json.dumps(
            {
                "cold_start_s": round(statistics.median(walls), 3),
                "rss_mb": max(rss),
                "runs_s": [round(w, 3) for w in walls],
                "rss_runs_mb": list(rss),
                "first_frame_in_process_s": round(statistics.median(inside), 3),
                "bare_kivy_window_rss_mb": bare,
                "rss_after_tours_mb": toured,
            }
        )
    )


if __name__ == "__main__":
    main()
