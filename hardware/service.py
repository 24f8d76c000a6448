"""``aabent door``: the door controller process. Builds everything from settings and runs it.

Start-up order is a safety property: the lock relays are created (locked) before anything else
runs, and the fire input is read before the first decision, so neither a crash halfway through
start-up nor a fire at boot can leave the building in the wrong state.
"""

from __future__ import annotations

import functools
import json
import logging
import signal
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from gpiozero.pins import Factory

from hardware.audio import Speaker
from hardware.building_devices import BuildingDevices
from hardware.building_shell import BuildingShell, SavedProgress
from hardware.controller import Controller
from hardware.core.config import reader_id
from hardware.devices import DoorDevices, FireInput
from hardware.gatekeeper import Gatekeeper
from hardware.identity import refuse_a_twin
from hardware.output import SITE
from hardware.saved_count import SavedCount
from hardware.simulate import Simulation, SimulationError
from hardware.wiegand import WiegandReader
from services.bus.client import MessageCallback, MqttBus
from services.bus.outbox import Outbox, OutboxPublisher
from services.bus.topics import TopicKind, Topics
from services.core.events import Event
from services.core.patrons import PatronDirectory
from services.patrons.code_uses import SiteCodeUses
from services.patrons.directory import close_directory, open_directory
from services.patrons.list_distribution import ListReceiver
from services.patrons.local_lookup import LocalLists
from services.patrons.pin_guard import PinGuard
from services.runtime.gil import favour_latency
from services.runtime.heap import settle_heap
from services.runtime.holiday_file import site_schedule
from services.runtime.serial_reader import SerialReader
from services.runtime.systemd_notify import notify, start_watchdog
from services.settings import ReaderSettings, Settings
from services.store.engine import make_sessionmaker
from services.store.schema import open_database

log = logging.getLogger(__name__)


# How often the retained door states are republished with the loop's tick age.
HEARTBEAT_S = 30.0


def site_description(settings: Settings) -> dict[str, Any]:
    """What the site announces of itself (retained ``site``), but for its opening state: the
    name, every door of the site (not only this controller's) and the capacity. Every controller
    of a site announces the same, so the last one to speak is as right as the first."""
    return {
        "name": settings.site.name,
        "doors": sorted(settings.doors),
        "capacity": settings.access.capacity,
    }


class BusSink:
    """The controller's output: events into the durable outbox, states retained on the bus.

    With ``about`` (:func:`site_description`) every opening state is also announced as part of
    the retained site description, so a municipality's server learns the branch by itself.
    """

    def __init__(
        self,
        outbox: Outbox,
        bus: MqttBus,
        topics: Topics,
        doors: set[str],
        about: Mapping[str, Any] | None = None,
    ) -> None:
        self.outbox, self.bus, self.topics, self.doors = outbox, bus, topics, doors
        self.about = dict(about) if about is not None else None

    def event(self, event: Event, door: str | None = None) -> None:
        """Append to the outbox (durable on return); the publisher delivers it.

        The topic follows ``door``, never the event's source text: a door called ``site`` is
        still a door, and building-wide events (``door`` None) go to the site's topic.
        """
        topic = (
            self.topics.door_event(door)
            if door is not None and door in self.doors
            else self.topics.site_event
        )
        self.outbox.append(topic, event.to_json())

    def door_state(self, door_id: str, payload: Mapping[str, Any]) -> None:
        """Retained ``door/<id>/state``."""
        self.bus.publish_state(self.topics.door_state(door_id), _json(payload))

    def site_state(self, kind: str, payload: Mapping[str, Any]) -> None:
        """Retained ``opening`` or ``occupancy``."""
        topic = self.topics.opening if kind == "opening" else self.topics.occupancy
        self.bus.publish_state(topic, _json(payload))
        if kind == "opening" and self.about is not None:
            description = self.about | {"opening": {k: payload.get(k) for k in ("state", "until")}}
            self.bus.publish_state(self.topics.site_description, _json(description))


def _json(payload: Mapping[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


@dataclass
class DoorService:
    """Everything one controller process owns, in the order it was built."""

    settings: Settings
    pin_factory: Factory | None = None
    simulation: Simulation | None = None
    devices: dict[str, DoorDevices] = field(default_factory=dict)
    fire: FireInput | None = None
    building_devices: BuildingDevices | None = None
    readers: list[SerialReader | WiegandReader] = field(default_factory=list)
    controller: Controller | None = None
    bus: MqttBus | None = None
    publisher: OutboxPublisher | None = None
    outbox: Outbox | None = None
    directory: PatronDirectory | None = None
    lists: ListReceiver | None = None
    stopped: threading.Event = field(default_factory=threading.Event)
    clock_offset: timedelta = timedelta()  # the demo's evening, at any hour of the day

    def build_outputs(self) -> None:
        """Lock relays first, in their locked state; then the other pins."""
        for door_id, cfg in self.settings.doors.items():
            self.devices[door_id] = DoorDevices(door_id, cfg, pin_factory=self.pin_factory)
        if self.settings.fire.input_pin is not None:
            self.fire = FireInput(self.settings.fire, pin_factory=self.pin_factory)
        if self.settings.building.enabled:
            self.building_devices = BuildingDevices(
                self.settings.building, self._publish_output, pin_factory=self.pin_factory
            )

    def _publish_output(self, topic: str, payload: bytes) -> None:
        """A light or equipment output of the building automation (retained ON/OFF)."""
        if self.bus is not None:
            self.bus.publish_state(topic, payload)

    def build(self) -> None:
        """Storage, directory, bus, controller and readers, wired together."""
        s = self.settings
        topics = Topics(s.mqtt.prefix, s.site.id)
        # One session and one status topic per controller (site.controller), never per host:
        # two controllers of a site never share them, and a clone of this one is refused here.
        client_id = f"aabent-{s.component}-{s.site.id}"
        refuse_a_twin(s, topics, client_id)
        key = s.site.site_key()
        engine = open_database(s.database_url, s.site.id)
        sessions = make_sessionmaker(engine)
        self.outbox = Outbox(s.outbox_path)
        self.bus = MqttBus(s.mqtt, client_id, s.component, topics, answer_probes=True)
        self.publisher = OutboxPublisher(self.outbox, self.bus)
        sink = BusSink(self.outbox, self.bus, topics, set(s.doors), site_description(s))
        self.directory = open_directory(s, engine, key, on_event=sink.event)
        tz = ZoneInfo(s.site.timezone)

        def wall() -> datetime:
            return datetime.now(tz) + self.clock_offset

        guard = PinGuard(sessions, s.access.lockout_policy())
        bus = self.bus
        local_lists = LocalLists(  # the stored copy, into memory
            sessions,
            key,
            SiteCodeUses(s.component),
            lambda payload: bus.publish_state(topics.code_uses(s.component), payload),
            rooms=s.room_list(),
        )
        self.lists = ListReceiver(sessions, local_lists)
        building = None
        if self.building_devices is not None:
            bus = self.bus

            def publish_building(payload: bytes) -> None:
                bus.publish_state(topics.building, payload)

            building = BuildingShell(
                self.building_devices,
                Speaker(s.building, wall=wall),
                SavedProgress(sessions, s.site.id),
                publish_building,
                wall,
            )
        self.controller = Controller(
            s,
            self.devices,
            Gatekeeper(self.directory, key, guard, local_lists),
            site_schedule(s),
            sink,
            wall=wall,
            mono=time.monotonic,
            count=SavedCount(sessions, s.site.id),
            building=building,
        )
        self.bus.subscribe(topics.all_door_commands, self._on_command)
        self.bus.subscribe(topics.lists, self.lists.on_message)
        self.bus.subscribe(topics.all_code_uses, self._on_code_uses(local_lists, topics))
        if building is not None:
            ctl = self.controller
            self.bus.subscribe(
                topics.building_command, lambda _t, raw: ctl.on_building_command(raw)
            )
        if self.simulation is not None:
            self.bus.subscribe(topics.all_sim_inputs, self._on_sim)

    def start_inputs(self) -> None:
        """Readers and GPIO inputs start delivering; the fire input is applied first."""
        ctl = self.controller
        assert ctl is not None
        if self.fire is not None:
            self.fire.bind(ctl.on_fire)
            if self.fire.active:
                ctl.on_fire(True)
        if self.building_devices is not None:
            self.building_devices.bind(ctl.on_panel)
        for door_id, dev in self.devices.items():
            dev.bind(
                functools.partial(ctl.on_contact, door_id),
                functools.partial(ctl.on_exit, door_id),
                functools.partial(ctl.on_beam, door_id),
            )
        for door_id, cfg in self.settings.doors.items():
            for i, rcfg in enumerate(cfg.readers):
                self._start_reader(door_id, reader_id(door_id, i, rcfg.kind), rcfg, ctl)

    def _start_reader(self, door_id: str, rid: str, rcfg: ReaderSettings, ctl: Controller) -> None:
        if rcfg.kind == "wiegand":
            assert rcfg.d0_pin is not None and rcfg.d1_pin is not None  # settings check this
            wiegand = WiegandReader(
                rid,
                rcfg.d0_pin,
                rcfg.d1_pin,
                ctl.on_reader_input,
                pin_factory=self.pin_factory,
                pin_timeout_s=rcfg.pin_timeout_s,
            )
            self.readers.append(wiegand)
            ctl.add_pin_pad(door_id, wiegand.clear_pin)
            ctl.on_reader_status(rid, True, None)  # GPIO lines cannot be unplugged unseen
            return
        assert rcfg.url is not None  # settings check this
        reader = SerialReader(
            rid,
            rcfg.kind,
            rcfg.url,
            rcfg.baudrate,
            ctl.on_reader_input,
            ctl.on_reader_status,
            pin_timeout_s=rcfg.pin_timeout_s,
        )
        self.readers.append(reader)
        if rcfg.kind == "pinpad":
            ctl.add_pin_pad(door_id, reader.clear_pin)
        reader.start()

    def start(self) -> None:
        """Build and start everything; the controller decides even if the broker never comes."""
        self.build_outputs()
        if self.simulation is not None:
            self.simulation.rest()  # after the pins exist: their pull-ups would undo it
        self.build()
        assert self.controller and self.bus and self.publisher
        settle_heap()
        favour_latency()
        self.controller.start()
        self.start_inputs()
        self.bus.start()
        self.publisher.start()
        notify("READY=1")
        # The watchdog vouches for progress (the loop ticked lately), not for a live thread.
        start_watchdog(self.controller.healthy, self.stopped)
        threading.Thread(target=self._heartbeat, name="heartbeat", daemon=True).start()

    def _heartbeat(self) -> None:
        while not self.stopped.wait(HEARTBEAT_S):
            if self.controller is not None:
                self.controller.heartbeat()

    def stop(self) -> None:
        """Stop inputs, lock every door, flush what the broker will take, close."""
        notify("STOPPING=1")
        self.stopped.set()
        for reader in self.readers:
            reader.stop() if isinstance(reader, SerialReader) else reader.close()
        if self.controller is not None:
            self.controller.stop()
        for dev in self.devices.values():
            dev.close()
        if self.fire is not None:
            self.fire.close()
        if self.building_devices is not None:
            self.building_devices.close()
        if self.directory is not None:
            close_directory(self.directory)
        if self.publisher is not None:
            self.publisher.wait_drained(1.0)
            self.publisher.stop()
        if self.bus is not None:
            self.bus.stop()
        if self.lists is not None:
            self.lists.close()
        if self.outbox is not None:
            self.outbox.close()
        if self.simulation is not None:
            self.simulation.close()

    @staticmethod
    def _on_code_uses(local_lists: LocalLists, topics: Topics) -> MessageCallback:
        def heard(topic: str, payload: bytes) -> None:
            route = topics.parse(topic)
            if route is not None and route.kind is TopicKind.CODE_USES and route.subject:
                local_lists.uses_heard(route.subject, payload)

        return heard

    def _on_command(self, topic: str, payload: bytes) -> None:
        assert self.bus is not None and self.controller is not None
        route = self.bus.topics.parse(topic)
        if route is not None and route.kind is TopicKind.DOOR_COMMAND and route.subject:
            self.controller.on_command(route.subject, payload)

    def _on_sim(self, topic: str, payload: bytes) -> None:
        assert self.bus is not None and self.simulation is not None
        route = self.bus.topics.parse(topic)
        if route is None or route.subject is None or route.input is None:
            return
        try:
            self.simulation.handle(route.subject, route.input, payload)
        except SimulationError as exc:
            log.warning("simulated input %s rejected: %s", topic, exc)


def run_door(settings: Settings, *, simulate: bool = False, clock_offset_min: int = 0) -> int:
    """Run the controller until SIGTERM/SIGINT; returns the exit code."""
    simulation: Simulation | None = None
    factory: Factory | None = None
    if simulate:
        simulation = Simulation(settings)
        settings = simulation.wire()
        factory = simulation.factory
        for line in simulation.describe():
            print(f"simulated {line}", flush=True)
    service = DoorService(
        settings,
        pin_factory=factory,
        simulation=simulation,
        clock_offset=timedelta(minutes=clock_offset_min),
    )
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    try:
        service.start()
        log.info(
            "door controller %s running with %d door(s)", settings.site.id, len(settings.doors)
        )
        # One write of the whole line: print() writes the text and its newline apart, and a log
        # line from another thread (stderr, often the same pipe) can land between them.
        sys.stdout.write(
            f"door controller ready: site {settings.site.id}, doors {', '.join(settings.doors)}\n"
        )
        sys.stdout.flush()
        done.wait()
    finally:
        service.stop()
    return 0


__all__ = ["SITE", "BusSink", "DoorService", "run_door", "site_description"]
