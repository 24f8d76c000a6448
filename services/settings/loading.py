"""The whole settings object, read from TOML plus ``AABENT__…`` environment overrides."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, ValidationError, model_validator

from services.settings.access import AccessSettings
from services.settings.alarms import AlarmSettings
from services.settings.base import ConfigError, _Model
from services.settings.dashboard import DashboardSettings
from services.settings.doors import DoorSettings, FireSettings
from services.settings.kiosk import KioskSettings
from services.settings.mqtt import MqttSettings
from services.settings.paths import ROOT
from services.settings.patrons import PatronSettings
from services.settings.recorder import RecorderSettings
from services.settings.schedule import ScheduleSettings
from services.settings.sip2 import Sip2Settings
from services.settings.site import SiteSettings
from services.settings.store import RetentionSettings, StoreSettings

ENV_PREFIX = "AABENT__"
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
    doors: dict[Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,30}$")], DoorSettings] = Field(
        default_factory=dict
    )

    @model_validator(mode="after")
    def _no_shared_pins(self) -> Settings:
        owner: dict[int, str] = {}
        if self.fire.input_pin is not None:
            owner[self.fire.input_pin] = "fire.input_pin"
        for door_id, door in self.doors.items():
            for name, value in door:
                if name.endswith("_pin") and isinstance(value, int):
                    here = f"doors.{door_id}.{name}"
                    if value in owner:
                        raise ValueError(f"{here} uses pin {value}, already {owner[value]}")
                    owner[value] = here
        return self

    @property
    def outbox_path(self) -> Path:
        """The outbox file of this controller."""
        return self.store.outbox or self.site.data_dir / "outbox.sqlite"

    @property
    def database_url(self) -> str:
        """The SQLAlchemy URL, SQLite beside the outbox unless configured."""
        return self.store.url or f"sqlite:///{self.site.data_dir / 'aabent.sqlite'}"


def _env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    """``AABENT__MQTT__PORT=1884`` -> ``{"mqtt": {"port": 1884}}``; values read as TOML."""
    tree: dict[str, Any] = {}
    for key, raw in environ.items():
        if not key.startswith(ENV_PREFIX):
            continue
        path = [p.lower() for p in key[len(ENV_PREFIX) :].split("__") if p]
        if not path:
            continue
        try:
            value: Any = tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw
        node = tree
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value
    return tree


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _describe(source: str, exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        lines.append(f"{source}: {where}: {msg}")
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
    data = _merge(data, _env_overrides(os.environ if environ is None else environ))
    try:
        return Settings.model_validate(data, context={ROOT: file.resolve().parent.parent})
    except ValidationError as exc:
        raise ConfigError(_describe(str(file), exc)) from None
