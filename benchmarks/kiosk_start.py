"""Kiosk cold start: a fresh ``aabent kiosk`` process to the first frame of Home, and its memory.

Prepares a database like a branch's (migrated, the demo catalogue, patrons and event program),
starts its own Xvfb (1280x800, as the kiosk's screen), then runs ``aabent kiosk --first-frame``
``--runs`` times, each a new process. The kiosk prints when Kivy has drawn Home for the first time
(``Window.on_flip``) with its resident memory then, and exits. No broker is running: the kiosk
must not wait for one. Prints one JSON object:
``{"cold_start_s", "rss_mb", "runs_s", "rss_runs_mb", "first_frame_in_process_s",
"bare_kivy_window_rss_mb"}`` where ``cold_start_s`` is the median wall time from spawning the
process to that line. Targets: 3 s, 200 MB. For scale, ``bare_kivy_window_rss_mb`` is a bare Kivy
window with one label in the same X server: under Xvfb that is Mesa's software rasteriser
(llvmpipe with libLLVM), which a Raspberry Pi's GPU driver does not carry.

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

AABENT = [sys.executable, "-m", "services.cli"]


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
import json, os
from kiosk.boot import prepare_environment
prepare_environment()
from kivy.config import Config
Config.set("graphics", "width", "1280")
Config.set("graphics", "height", "800")
from kivy.app import App
from kivy.core.window import Window
from kivy.uix.label import Label

def rss():
    for line in open(f"/proc/{os.getpid()}/status"):
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)

class Bare(App):
    def load_kv(self, filename=None):
        return None  # no kv file; and with -c there is no source file to look beside

    def build(self):
        Window.bind(on_flip=lambda *_: (print(json.dumps({"rss_mb": rss()}), flush=True),
                                        self.stop()))
        return Label(text="Velkommen")

Bare().run()
"""


def _bare_window_rss(env: dict[str, str]) -> float:
    """RSS of a bare Kivy window with one label: what the GL stack and Kivy cost by themselves."""
    command = [sys.executable, "-c", _BARE_WINDOW]
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"kiosk_start: the bare window failed: {done.stderr[-2000:]}")
    line = next(x for x in done.stdout.splitlines() if x.startswith("{"))
    return float(json.loads(line)["rss_mb"])


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
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
            }
        )
    )


if __name__ == "__main__":
    main()
