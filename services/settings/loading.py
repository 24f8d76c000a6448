"""The whole settings object, read from TOML plus ``AABENT__…`` environment overrides."""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Annotated

from pydantic import Field, ValidationError, model_validator

from services.core.rooms import Room
from services.settings.access import AccessSettings
from services.settings.alarms import AlarmSettings
from services.settings.base import ConfigError, _Model
from services.settings.branches import BranchSettings, SiteId
from services.settings.building import BuildingSettings
from services.settings.dashboard import DashboardSettings
from services.settings.doors import DoorSettings, FireSettings
from services.settings.environment import env_overrides, list_keys, overlay
from services.settings.kiosk import KioskSettings
from services.settings.mqtt import MqttSettings
from services.settings.paths import ROOT
from services.settings.patrons import PatronSettings
from services.settings.recorder import RecorderSettings
from services.settings.rooms import RoomId, RoomSettings
from services.settings.schedule import ScheduleSettings
from services.settings.sip2 import Sip2Settings
from services.settings.site import SiteSettings, door_component
from services.settings.store import RetentionSettings, StoreSettings

_NAMED_KEY = re.compile(r"^([a-z_][a-z0-9_]*(?:\.[a-z0-9_-]+)*): (.+)$", re.DOTALL)
# Door ids the bus and the controller use for themselves: events of the building have the
# source "site", and these name building-wide topics (services/bus/topics.py) or deadlines.
RESERVED_DOOR_IDS = {
    "site": "the source of building-wide events",
    "opening": "a building-wide topic",
    "occupancy": "a building-wide topic",
    "event": "a building-wide topic",
    "building": "a building-wide topic",
}
CHECKOUT_CONFIG = Path(__file__).resolve().parents[2] / "config" / "aabent.toml"
# Installed from a wheel there is no checkout: the file is where "Running on a Raspberry Pi" in
# the README puts it.
DEFAULT_CONFIG = CHECKOUT_CONFIG if CHECKOUT_CONFIG.is_file() else Path("/etc/aabent/aabent.toml")


class Settings(_Model):
    """Everything a process needs, validated once at start-up and passed down."""

    site: SiteSettings = SiteSettings()
    schedule: ScheduleSettings = ScheduleSettings()
    access: AccessSettings = AccessSettings()
    fire: FireSettings = FireSettings()
    mqtt: MqttSettings = MqttSettings()
    store: StoreSettings = StoreSettings()
    retention: RetentionSettings = RetentionSettings()
    patrons: PatronSettings = PatronSettings()
    sip2: Sip2Settings = Sip2Settings()
    kiosk: KioskSettings = KioskSettings()
    dashboard: DashboardSettings = DashboardSettings()
    alarms: AlarmSettings = AlarmSettings()
    recorder: RecorderSettings = RecorderSettings()
    building: BuildingSettings = BuildingSettings()
    branches: dict[SiteId, BranchSettings] = Field(
        {},
        description="what a branch of a municipality does differently from the defaults",
    )
    doors: dict[Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,30}$")], DoorSettings] = Field(
        default_factory=dict
    )

    rooms: dict[RoomId, RoomSettings] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _rooms_name_doors_once(self) -> Settings:
        owner: dict[str, str] = {}
        for room_id, room in self.rooms.items():
            for door in room.doors:
                if door not in self.doors:
                    raise ValueError(f"rooms.{room_id}.doors: {door!r} is not a door under [doors]")
                if door in owner:
                    raise ValueError(
                        f"rooms.{room_id}.doors: {door!r} already opens room {owner[door]!r}"
                    )
                owner[door] = room_id
        return self

    @model_validator(mode="after")
    def _no_reserved_door_ids(self) -> Settings:
        for door_id in self.doors:
            if door_id in RESERVED_DOOR_IDS:
                raise ValueError(
                    f"doors.{door_id}: {door_id!r} is reserved ({RESERVED_DOOR_IDS[door_id]}); "
                    "name the door otherwise"
                )
        return self

    @model_validator(mode="after")
    def _no_shared_pins(self) -> Settings:
        owner: dict[int, str] = {}
        if self.fire.input_pin is not None:
            owner[self.fire.input_pin] = "fire.input_pin"
        for here, value in self._pins():
            if value in owner:
                raise ValueError(f"{here} uses pin {value}, already {owner[value]}")
            owner[value] = here
        return self

    def _pins(self) -> Iterator[tuple[str, int]]:
        """Every GPIO pin of the doors and their Wiegand readers, with its key."""
        for door_id, door in self.doors.items():
            for name, value in door:
                if name.endswith("_pin") and isinstance(value, int):
                    yield f"doors.{door_id}.{name}", value
            for i, reader in enumerate(door.readers):
                for name in ("d0_pin", "d1_pin"):
                    value = getattr(reader, name)
                    if value is not None:
                        yield f"doors.{door_id}.readers.{i}.{name}", value
        b = self.building
        for kind, outputs in (("lights", b.lights), ("equipment", b.equipment)):
            for name, output in outputs.items():
                if output.pin is not None:
                    yield f"building.{kind}.{name}.pin", output.pin
        if b.panel is not None:
            for name, value in b.panel:
                if name.endswith("_pin") and isinstance(value, int):
                    yield f"building.panel.{name}", value

    @model_validator(mode="after")
    def _one_reader_per_serial_device(self) -> Settings:
        owner: dict[str, str] = {}
        for door_id, door in self.doors.items():
            for i, reader in enumerate(door.readers):
                # loop:// is a fresh loop back at every open, not a device two readers share.
                if reader.url is None or reader.url.startswith("loop://"):
                    continue
                here = f"doors.{door_id}.readers.{i}.url"
                if reader.url in owner:
                    raise ValueError(
                        f"{here}: {reader.url} is already {owner[reader.url]} "
                        "(one serial device, one reader)"
                    )
                owner[reader.url] = here
        return self

    def alarms_for(self, site: str) -> AlarmSettings:
        """Where ``site``'s alarms go: its own addresses over the ``[alarms]`` defaults."""
        branch = self.branches.get(site)
        return self.alarms if branch is None else branch.alarms.over(self.alarms)

    def retention_days_for(self, site: str) -> int:
        """How long ``site``'s identifiable detail is kept: its own days, else ``[retention]``."""
        branch = self.branches.get(site)
        if branch is None or branch.retention_days is None:
            return self.retention.days
        return branch.retention_days

    def controller_of(self, door_id: str) -> str:
        """The id of the controller that drives ``door_id``."""
        return self.doors[door_id].controller or self.site.controller

    @property
    def controllers(self) -> list[str]:
        """Every controller the config names, in the order of their first door."""
        found = dict.fromkeys(self.controller_of(d) for d in self.doors)
        return list(found) or [self.site.controller]

    @property
    def component(self) -> str:
        """This door controller's component id on the bus: ``door-<site.controller>``."""
        return door_component(self.site.controller)

    def for_controller(self) -> Settings:
        """The settings with only the doors ``site.controller`` drives (a site file names all)."""
        own = {
            d: cfg for d, cfg in self.doors.items() if self.controller_of(d) == self.site.controller
        }
        return self.model_copy(update={"doors": own})

    def room_list(self) -> tuple[Room, ...]:
        """The bookable rooms as the core's values."""
        return tuple(cfg.room(room_id) for room_id, cfg in self.rooms.items())

    @property
    def floorplan_path(self) -> Path:
        """The building's floor plan (kiosk map, dashboard doors): ``kiosk.floorplan``, or
        ``floorplan.toml`` beside the default settings file."""
        return self.kiosk.floorplan or DEFAULT_CONFIG.parent / "floorplan.toml"

    @property
    def outbox_path(self) -> Path:
        """The outbox file of this controller."""
        return self.store.outbox or self.site.data_dir / "outbox.sqlite"

    @property
    def database_url(self) -> str:
        """The SQLAlchemy URL, SQLite beside the outbox unless configured."""
        return self.store.url or f"sqlite:///{self.site.data_dir / 'aabent.sqlite'}"


def _describe(source: str, exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        # A check across fields says which key it is about: "staffed.mon: …" under "schedule".
        named = _NAMED_KEY.match(msg) if err["type"] == "value_error" else None
        if named:
            where = f"{where}.{named[1]}" if where else named[1]
            msg = named[2]
        lines.append(f"{source}: {where or '(top level)'}: {msg}")
    return "\n".join(lines)


def load_settings(
    path: Path | str | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Read ``path`` (default :data:`DEFAULT_CONFIG`), apply ``AABENT__…`` overrides, validate.

    Relative paths in the file are taken relative to the file's folder's parent, so the example
    config works from a checkout wherever the process was started.
    """
    file = Path(path) if path is not None else DEFAULT_CONFIG
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{file}: no such file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{file}: not valid TOML: {exc}") from None
    overrides = env_overrides(os.environ if environ is None else environ)
    data = overlay(data, overrides, list_keys(Settings))
    try:
        return Settings.model_validate(data, context={ROOT: file.resolve().parent.parent})
    except ValidationError as exc:
        raise ConfigError(_describe(str(file), exc)) from None
