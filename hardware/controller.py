"""The shell around the controller core: inputs from many threads in, effects carried out.

Inputs arrive on many threads (serial readers, gpiozero callbacks, MQTT, the timer, the lookup
workers). Each is handed to the pure :class:`~hardware.core.core.ControllerCore` under a lock
that is held only while the core computes, the lock relays switch, the PIN pads forget their
digits and lookups are handed to a worker (all in memory): no disk, no network. The
rest of the effects (LED patterns, events into the outbox, retained states) are queued in the
core's order and carried out after the lock is released, so a fire input never waits for an
event of an earlier input to reach the disk. Lookups (the patron directory, SIP2, the PIN
lockout store, the scrypt check) run on worker threads and come back as inputs.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from typing import Any

from hardware.building_shell import BuildingShell
from hardware.core import effects as fx
from hardware.core import inputs as ci
from hardware.core.core import ControllerCore
from hardware.core_settings import core_config
from hardware.devices import Beam, DoorDevices
from hardware.door import DoorState
from hardware.gatekeeper import Gatekeeper
from hardware.output import Output, Sink
from hardware.saved_count import SavedCount
from services.core.events import EventType
from services.core.readers import CardRead, PinCleared, PinEntered, ReaderFault, ReaderInput
from services.core.schedule import Schedule
from services.settings import Settings

log = logging.getLogger(__name__)

# The timer ticks at least this often: that is the progress the watchdog vouches for.
TICK_EVERY_S = 1.0
# A loop that has not ticked for this long is stuck: systemd is no longer told it is well.
PROGRESS_BOUND_S = 5.0


class Controller:
    """Feeds the core and carries out its effects for every door of one controller."""

    def __init__(
        self,
        settings: Settings,
        devices: Mapping[str, DoorDevices],
        gate: Gatekeeper,
        schedule: Schedule,
        sink: Sink,
        *,
        wall: Callable[[], datetime],
        mono: Callable[[], float],
        count: SavedCount | None = None,
        building: BuildingShell | None = None,
        tick_every_s: float = TICK_EVERY_S,
        progress_bound_s: float = PROGRESS_BOUND_S,
    ) -> None:
        self.settings = settings
        self.devices = dict(devices)
        self.gate = gate
        self.out = Output(sink, wall)
        self.wall, self.mono = wall, mono
        self.count = count
        inside = count.load() if count is not None else 0
        self.building = building
        progress = building.load() if building is not None else None
        self.core = ControllerCore(
            core_config(settings), schedule, gate.key, inside=inside, progress=progress
        )
        self.tick_every_s, self.progress_bound_s = tick_every_s, progress_bound_s
        self._core_lock = threading.Lock()  # never held during I/O
        self._out_lock = threading.Lock()  # keeps the effects of successive inputs in order
        self._queue: deque[list[fx.Effect]] = deque()
        self._pads: dict[str, list[Callable[[], None]]] = {}
        self._published: dict[str, tuple[DoorState, Mapping[str, bool | None]]] = {}
        # One lookup per door at a time, and its bookkeeping after: a stuck library system at
        # one door never holds up another door's decision.
        self._workers = ThreadPoolExecutor(2 * len(self.devices) + 1, thread_name_prefix="lookup")
        self._inflight = 0
        self._idle = threading.Condition()
        self._wake = threading.Event()
        self._next_wake: float | None = None
        self._last_progress = mono()
        self._tidy_day: date | None = None
        self._stopping = False
        self._timer = threading.Thread(target=self._run_timer, name="door-timer", daemon=True)

    # --- life cycle -------------------------------------------------------------------------

    def start(self, *, timer: bool = True) -> None:
        """Announce the start, apply the opening state, publish every state, run the timer.

        Tests that drive time themselves pass ``timer=False`` and call :meth:`tick`.
        """
        opened = {door: dev.door_open for door, dev in self.devices.items()}
        panel = self.building.devices.read_panel() if self.building is not None else {}
        self._feed(ci.Started(opened, panel))
        self._last_progress = self.mono()
        if timer:
            self._timer.start()

    def add_pin_pad(self, door_id: str, clear: Callable[[], None]) -> None:
        """Register a PIN pad of ``door_id``: ``clear`` forgets its typed digits."""
        self._pads.setdefault(door_id, []).append(clear)

    def progress_age(self) -> float:
        """Seconds since the loop last completed a tick."""
        return self.mono() - self._last_progress

    def healthy(self) -> bool:
        """True while the loop makes progress: what the systemd watchdog vouches for."""
        return not self._stopping and self.progress_age() <= self.progress_bound_s

    def heartbeat(self) -> None:
        """Republish every door's state with the loop's tick age (no lock: it may be stuck)."""
        age = self.progress_age()
        for door, (state, readers) in list(self._published.items()):
            self.out.door(door, state, readers, age)

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until no input is being handled and no lookup or bookkeeping is on its way
        (every effect carried out, events in the outbox included); False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._inflight == 0, timeout)

    def stop(self) -> None:
        """Stop the timer; the service then closes the devices (locking every door)."""
        self._stopping = True
        self._wake.set()
        if self._timer.is_alive():
            self._timer.join(2)
        self._workers.shutdown(wait=False, cancel_futures=True)
        self.gate.close()
        if self.building is not None:
            self.building.close()

    # --- inputs -----------------------------------------------------------------------------

    def on_reader_input(self, reader_id: str, item: ReaderInput) -> None:
        """A card, a PIN, a clear or a fault from any reader."""
        if isinstance(item, CardRead):
            self._feed(ci.CardPresented(reader_id, item.credential))
        elif isinstance(item, PinEntered):
            self._feed(ci.PinTyped(reader_id, item.pin))
        elif isinstance(item, ReaderFault):
            self._feed(ci.ReaderFaulted(reader_id, item.problem))
        elif isinstance(item, PinCleared):
            self._feed(ci.PinCleared(reader_id))

    def on_reader_status(self, reader_id: str, online: bool, problem: str | None) -> None:
        """A reader went away (unplugged, I/O error, missing at start) or came back."""
        self._feed(ci.ReaderStatus(reader_id, online, problem))

    def on_contact(self, door_id: str, opened: bool) -> None:
        """The door contact line changed."""
        self._feed(ci.ContactChanged(door_id, opened))

    def on_exit(self, door_id: str, pressed: bool = True) -> None:
        """The exit button line changed."""
        self._feed(ci.ExitChanged(door_id, pressed))

    def on_beam(self, door_id: str, which: Beam, blocked: bool) -> None:
        """A counter beam line changed."""
        self._feed(ci.BeamChanged(door_id, which, blocked))

    def on_fire(self, active: bool) -> None:
        """The fire panel's input changed."""
        self._feed(ci.FireChanged(active))

    def on_command(self, door_id: str, raw: bytes) -> None:
        """A staff command from MQTT."""
        self._feed(ci.CommandReceived(door_id, raw))

    def on_panel(self, line: str, active: bool) -> None:
        """An input of the intruder alarm panel changed (armed, alarm, fault)."""
        if line in ("armed", "alarm", "fault"):
            self._feed(ci.PanelChanged(line, active))  # type: ignore[arg-type]

    def on_building_command(self, raw: bytes) -> None:
        """A staff command to the building's evening, from MQTT."""
        self._feed(ci.BuildingCommand(raw))

    def tick(self) -> None:
        """Deliver the time to the core; once a day tidy the PIN failures away (on a worker)."""
        self._feed(ci.Tick())
        self._last_progress = self.mono()
        wall = self.wall()
        if wall.date() != self._tidy_day:
            self._tidy_day = wall.date()
            self._submit(self.gate.guard.tidy, wall, self.settings.retention.days)

    # --- the core and its effects -----------------------------------------------------------

    def _feed(self, item: ci.Input) -> None:
        if self._stopping:
            return  # a late lookup or callback: the service is locking every door now
        self._job_started()
        try:
            self._handle(item)
            self._drain()
        finally:
            self._job_done()

    def _handle(self, item: ci.Input) -> None:
        with self._core_lock:
            effects = self.core.handle(item, ci.Now(self.mono(), self.wall()))
            rest: list[fx.Effect] = []
            for effect in effects:
                if isinstance(effect, fx.SetRelay):
                    self.devices[effect.door].set_locked(effect.locked)
                elif isinstance(effect, fx.StartLookup):
                    self._submit(self._lookup, effect)  # no waiting for earlier events' writes
                elif isinstance(effect, fx.PrepareLookup):
                    self.gate.prepare(effect.credential, effect.reader, self.wall())  # runs beside
                elif isinstance(effect, fx.RecordOutcome):
                    # Its alarms come back as an input, so they queue after this batch anyway.
                    self._submit(self._record, effect)
                elif isinstance(effect, fx.ClearPinPads):
                    # In memory, and before the next input: a digit typed right after the card
                    # must not be wiped by a clear that runs late.
                    for clear in self._pads.get(effect.door, ()):
                        clear()
                else:
                    rest.append(effect)
            self._queue.append(rest)

    def _drain(self) -> None:
        with self._out_lock:
            while self._queue:
                for effect in self._queue.popleft():
                    try:
                        self._execute(effect)
                    except Exception:
                        log.exception("effect %s failed", type(effect).__name__)

    def _execute(self, effect: fx.Effect) -> None:
        match effect:
            case fx.Signal(door, pattern):
                self.devices[door].signal(pattern)
            case fx.ClearPinPads():
                pass  # carried out with the relays, under the core's lock
            case fx.Emit(etype, door, reason, credential, details):
                self.out.event(etype, door, reason=reason, credential=credential, details=details)
            case fx.PublishDoor(door, state, readers):
                self._published[door] = (state, readers)
                self.out.door(door, state, readers, self.progress_age())
            case fx.PublishOccupancy(inside, capacity):
                self.out.occupancy(inside, capacity)
            case fx.SaveOccupancy(inside):
                if self.count is not None:
                    self.count.save(inside, self.wall())
            case fx.PublishOpening(opening):
                payload = self.out.opening(opening)
                reason = str(opening.state)
                self.out.event(EventType.OPENING_CHANGED, None, reason=reason, details=payload)
            case fx.StartLookup() | fx.PrepareLookup() | fx.RecordOutcome():
                pass  # handed to a worker under the core's lock
            case (
                fx.SetOutput()
                | fx.SetPanel()
                | fx.Announce()
                | fx.PublishBuilding()
                | fx.SaveProgress()
            ):
                if self.building is not None:
                    self.building.execute(effect)
            case fx.WakeAt(when):
                self._next_wake = when
                self._wake.set()

    # --- workers ----------------------------------------------------------------------------

    def _submit(self, job: Callable[..., Any], *args: Any) -> None:
        self._job_started()
        try:
            self._workers.submit(self._run_job, job, *args)
        except RuntimeError:  # shut down: the controller is stopping
            self._job_done()

    def _run_job(self, job: Callable[..., Any], *args: Any) -> None:
        try:
            job(*args)
        except Exception:
            log.exception("worker job %s failed", getattr(job, "__name__", job))
        finally:
            self._job_done()

    def _job_started(self) -> None:
        with self._idle:
            self._inflight += 1

    def _job_done(self) -> None:
        with self._idle:
            self._inflight -= 1
            self._idle.notify_all()

    def _lookup(self, request: fx.StartLookup) -> None:
        looked: ci.Looked | None
        try:
            looked = self.gate.lookup(
                request.credential, request.pin, request.reader, self.wall(), request.door
            )
        except Exception:
            log.exception("door %s: lookup failed", request.door)
            looked = None
        self._feed(ci.LookupFinished(request.ticket, looked))

    def _record(self, request: fx.RecordOutcome) -> None:
        alarms = self.gate.record(
            request.credential_hash,
            request.reader,
            request.wrong,
            self.wall(),
            request.code_used,
            request.booking_used,
        )
        self._feed(
            ci.OutcomeRecorded(
                request.door,
                request.reader,
                request.pseudonym,
                tuple((etype, details) for etype, details in alarms),
            )
        )

    # --- time -------------------------------------------------------------------------------

    def _run_timer(self) -> None:
        while not self._stopping:
            timeout = self.tick_every_s
            if self._next_wake is not None:
                timeout = max(0.0, min(self._next_wake - self.mono(), timeout))
            self._wake.wait(timeout)
            self._wake.clear()
            if not self._stopping:
                self.tick()
