"""The building's evenings over a simulated month: how late each step runs, and wrong arms.

The controller core (doors and evening together, as on the controller) is driven through 31
evenings and mornings from 15 October 2026 (the night summer time ends included) with random
patrons: they swipe in (card, PIN, the directory's yes), pass the counter beams, and leave at
random times, some after closing; now and then one stays until staff say "swept". The alarm panel
confirms an arm or disarm after 0.2-3 s, and 2 % of the time never does. Time is simulated and
moves as the shell moves it: to the core's next deadline (``WakeAt``), to the next patron's
action, and at least once a minute.

``step_lateness_p99_ms``: for every step that did not have to wait for people to leave, the time
from its planned instant to the moment it ran (an arm or disarm: sent to the panel), plus the real
time the core took for that input. ``wrong_arms``: the panel told to arm with people counted
inside and not swept, plus entries granted while the panel reported armed. Prints one JSON object.

    .venv/bin/python benchmarks/building.py [--days 31] [--seed 7]
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import json
import random
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hardware.core import effects as fx  # noqa: E402
from hardware.core import inputs as ci  # noqa: E402
from hardware.core.core import ControllerCore  # noqa: E402
from hardware.core.progress import Outcome  # noqa: E402
from hardware.core_settings import core_config  # noqa: E402
from services.core.credentials import Credential  # noqa: E402
from services.core.evening import Action  # noqa: E402
from services.core.events import EventType  # noqa: E402
from tests.hardware.core_rig import KEY, looked  # noqa: E402
from tests.hardware.evening_rig import CPH, building_settings, schedule_of  # noqa: E402

START = datetime(2026, 10, 15, 19, 0, tzinfo=CPH)
FALLBACK_TICK_S = 60.0
READER, PAD = "main.0.em4100", "main.1.pinpad"


class Month:
    """The simulation: a queue of the world's inputs, the core, and what was measured."""

    def __init__(self, days: int, seed: int) -> None:
        s = building_settings()
        self.core = ControllerCore(core_config(s), schedule_of(s), KEY)
        self.rng = random.Random(seed)
        self.t0 = START
        self.now = 0.0  # seconds since START (monotonic and wall move together)
        self.end = days * 86400.0
        self.queue: list[tuple[float, int, ci.Input | str]] = []
        self.seq = itertools.count()
        self.wake: float | None = None
        self.panel_armed = False
        self.lateness_ms: list[float] = []
        self.waited_for_sweep = 0
        self.waited_for_panel = 0
        self._sent: set[str] = set()  # the panel steps whose first order was measured
        self.wrong_arms = 0
        self.wrong_admits = 0
        self.inputs = 0
        self.granted = 0

    def at(self, seconds: float, item: ci.Input | str) -> None:
        heapq.heappush(self.queue, (seconds, next(self.seq), item))

    def wall(self, seconds: float) -> datetime:
        return self.t0 + timedelta(seconds=seconds)

    # --- the world -----------------------------------------------------------------------

    def plan_patrons(self) -> None:
        """Patrons of every day: in during the evening, out at random, a few after closing."""
        for day in range(int(self.end // 86400) + 1):
            evening = day * 86400.0  # 19:00 of the day
            for _ in range(self.rng.randint(5, 25)):
                arrive = evening + self.rng.uniform(0, 3 * 3600 - 60)  # 19:00-21:59
                self.at(arrive, "swipe")
                stay = self.rng.expovariate(1 / 1800)
                self.at(arrive + 5 + stay, "leave")
            if self.rng.random() < 0.15:  # someone stays until staff sweep
                self.at(evening + 4 * 3600 + self.rng.uniform(0, 1800), "swept")
            morning = evening + 11.75 * 3600  # 06:45 next day
            for _ in range(self.rng.randint(0, 6)):
                self.at(morning + self.rng.uniform(0, 2700), "swipe")

    def run(self) -> None:
        self.feed(ci.Started({"main": False}, {"armed": False, "alarm": False, "fault": False}))
        self.plan_patrons()
        while self.now < self.end:
            nxt = self.now + FALLBACK_TICK_S
            if self.wake is not None:
                # A deadline due now, as a real clock would, moves on by a little.
                nxt = min(nxt, max(self.wake, self.now + 0.001))
            if self.queue and self.queue[0][0] <= nxt:
                when, _, item = heapq.heappop(self.queue)
                self.now = max(self.now, when)
                self.world(item)
            else:
                self.now = nxt
                self.feed(ci.Tick())

    def world(self, item: ci.Input | str) -> None:
        if item == "swipe":
            self.swipe()
        elif item == "leave":
            if self.core.occupancy.inside > 0:
                self.walk(inward=False)
        elif item == "swept":
            self.command({"action": "swept"})
        elif isinstance(item, ci.PanelChanged):
            self.panel_armed = item.active
            self.feed(item)
        elif not isinstance(item, str):
            self.feed(item)

    def swipe(self) -> None:
        number = f"{self.rng.randint(10_000_000, 99_999_999)}"
        out = self.feed(ci.CardPresented(READER, Credential.from_text(number)))
        out += self.feed(ci.PinTyped(PAD, "1234"))
        lookups = [e for e in out if isinstance(e, fx.StartLookup)]
        if not lookups:
            return
        decided = self.feed(ci.LookupFinished(lookups[-1].ticket, looked(card=number)))
        if any(isinstance(e, fx.Emit) and e.type is EventType.ACCESS_GRANTED for e in decided):
            self.granted += 1
            if self.panel_armed:
                self.wrong_admits += 1
            self.walk(inward=True)

    def walk(self, *, inward: bool) -> None:
        """Through the beams, outer first going in, each change held past its settle time."""
        order = ("a", "b") if inward else ("b", "a")
        for beam, blocked in ((order[0], True), (order[1], True), (order[0], False)):
            self.feed(ci.BeamChanged("main", beam, blocked))  # type: ignore[arg-type]
            self.now += 0.1
            self.feed(ci.Tick())
        self.feed(ci.BeamChanged("main", order[1], False))  # type: ignore[arg-type]
        self.now += 0.1
        self.feed(ci.Tick())

    def command(self, body: dict[str, Any]) -> None:
        import uuid

        raw = {"id": str(uuid.uuid4()), "ts": self.wall(self.now).isoformat(), "by": "staff:x"}
        raw["reason"] = ""
        self.feed(ci.BuildingCommand(json.dumps(raw | body).encode()))

    # --- the core and the measurements ---------------------------------------------------

    def feed(self, item: ci.Input) -> list[fx.Effect]:
        evening = self.core.evening
        assert evening is not None
        done_before = dict(evening.progress.done)
        began = time.perf_counter()
        out = self.core.handle(item, ci.Now(self.now, self.wall(self.now)))
        cpu_ms = (time.perf_counter() - began) * 1000
        self.inputs += 1
        for effect in out:
            if isinstance(effect, fx.WakeAt):
                self.wake = effect.when
            elif isinstance(effect, fx.SetPanel) and not effect.restore:
                self.panel_order(effect.armed, cpu_ms)
        self.measure(done_before, cpu_ms)
        return out

    def panel_order(self, armed: bool, cpu_ms: float) -> None:
        evening = self.core.evening
        assert evening is not None
        blocked = evening._blocked
        if armed and self.core.occupancy.inside > 0:
            swept = blocked is not None and blocked.change_at.isoformat() in evening.progress.swept
            if not swept:
                self.wrong_arms += 1
        if blocked is not None and not evening.progress.done.get(blocked.key):
            late_s = (self.wall(self.now) - evening._at(blocked)).total_seconds()
            if late_s < 60 and blocked.key not in self._sent:
                self._sent.add(blocked.key)
                self.lateness_ms.append(late_s * 1000 + cpu_ms)
        if self.rng.random() >= 0.02:
            self.at(self.now + self.rng.uniform(0.2, 3.0), ci.PanelChanged("armed", armed))

    def measure(self, done_before: dict[str, Outcome], cpu_ms: float) -> None:
        evening = self.core.evening
        assert evening is not None
        steps = {s.key: s for s in evening._plan}
        new = [k for k in evening.progress.done if k not in done_before and k in steps]
        # Steps that ran when the panel confirmed a disarm waited for it, on purpose.
        after_panel = any(steps[k].rule.action in (Action.ARM, Action.DISARM) for k in new)
        for key, outcome in evening.progress.done.items():
            if key in done_before or outcome is not Outcome.DONE or key not in steps:
                continue
            step = steps[key]
            if step.at < self.t0 or step.rule.action in (Action.ARM, Action.DISARM):
                # Before the month began (a fresh controller catches up), or measured when sent.
                continue
            late_s = (self.wall(self.now) - evening._at(step)).total_seconds()
            if step.after_sweep and late_s > 1:
                self.waited_for_sweep += 1  # waited for people to leave: on purpose
                continue
            if after_panel and late_s > 1:
                self.waited_for_panel += 1
                continue
            self.lateness_ms.append(late_s * 1000 + cpu_ms)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=31)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    month = Month(args.days, args.seed)
    began = time.perf_counter()
    month.run()
    late = sorted(month.lateness_ms)
    p99 = late[min(len(late) - 1, int(0.99 * len(late)))] if late else None
    print(
        json.dumps(
            {
                "days": args.days,
                "steps_measured": len(late),
                "steps_waited_for_sweep": month.waited_for_sweep,
                "steps_waited_for_panel": month.waited_for_panel,
                "step_lateness_p50_ms": round(statistics.median(late), 3) if late else None,
                "step_lateness_p99_ms": round(p99, 3) if p99 is not None else None,
                "step_lateness_max_ms": round(late[-1], 3) if late else None,
                "wrong_arms": month.wrong_arms + month.wrong_admits,
                "arms_over_people": month.wrong_arms,
                "admits_while_armed": month.wrong_admits,
                "entries_granted": month.granted,
                "inputs": month.inputs,
                "run_s": round(time.perf_counter() - began, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
