"""One typed settings object for every aabent process, loaded from TOML plus environment.

The file is validated whole before anything starts, so a typo in a pin number stops the door
controller with a message that names the file, the key and the problem (convention 5), instead of
driving the wrong relay.
"""

from __future__ import annotations

import itertools
import os
import re
import tomllib
from collections.abc import Mapping
from datetime import time
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

ENV_PREFIX = "AABENT__"
DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "config" / "aabent.toml"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_INTERVAL = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
BCM_PINS = range(0, 28)


class ConfigError(Exception):
    """Settings that cannot be used; the message names the file, the key and the problem."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Interval = tuple[time, time]


def parse_intervals(text: str) -> tuple[Interval, ...]:
    """Parse ``"07:00-22:00"`` or ``"10:00-12:00, 13:00-18:00"``; an empty string is closed."""
    out: list[Interval] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        m = _INTERVAL.match(part)
        if not m:
            raise ValueError(f"{part!r} is not HH:MM-HH:MM")
        h1, m1, h2, m2 = (int(g) for g in m.groups())
        if h2 == 24 and m2 == 0:
            h2, m2 = 23, 59
        try:
            start, end = time(h1, m1), time(h2, m2)
        except ValueError as exc:
            raise ValueError(f"{part!r}: {exc}") from None
        if end <= start:
            raise ValueError(f"{part!r} ends before it starts")
        out.append((start, end))
    out.sort()
    for (_, end), (start, _) in itertools.pairwise(out):
        if start < end:
            raise ValueError(f"{text!r} has overlapping intervals")
    return tuple(out)


class WeeklyHours(_Model):
    """Opening intervals per weekday, written ``mon = "07:00-22:00"``; a missing day is closed."""

    mon: str = ""
    tue: str = ""
    wed: str = ""
    thu: str = ""
    fri: str = ""
    sat: str = ""
    sun: str = ""

    @field_validator(*WEEKDAYS)
    @classmethod
    def _valid(cls, value: str) -> str:
        parse_intervals(value)
        return value

    def intervals(self, weekday: int) -> tuple[Interval, ...]:
        """The intervals of ``weekday`` (0 = Monday, as ``date.weekday()``)."""
        return parse_intervals(getattr(self, WEEKDAYS[weekday]))


class ExceptionDay(_Model):
    """A date whose hours differ from the week: closed, or its own hours (a holiday opened)."""

    date: Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$")]
    closed: bool = False
    self_service: str | None = Field(None, description="hours that replace the weekly ones")
    staffed: str | None = Field(None, description="staffed hours that day; empty = none")
    note: str = ""

    @field_validator("self_service", "staffed")
    @classmethod
    def _valid(cls, value: str | None) -> str | None:
        if value is not None:
            parse_intervals(value)
        return value


_EVERY_DAY_7_22 = {d: "07:00-22:00" for d in WEEKDAYS}


class ScheduleSettings(_Model):
    """When the building is open: self-service hours, staffed hours inside them, exceptions."""

    self_service: WeeklyHours = WeeklyHours(**_EVERY_DAY_7_22)
    staffed: WeeklyHours = WeeklyHours()
    public_holidays_closed: bool = Field(True, description="Danish public holidays are closed")
    exceptions: tuple[ExceptionDay, ...] = ()


class SiteSettings(_Model):
    """Who this branch is and where it keeps its files."""

    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,40}$")] = "demo"
    name: str = "Demo Bibliotek"
    timezone: str = "Europe/Copenhagen"
    data_dir: Path = Path("var")
    key_file: Path = Field(
        Path("var/site.key"), description="secret for keyed hashes; outside the database"
    )

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value


class AccessSettings(_Model):
    """The rules of the access decision for unstaffed hours."""

    pin_required: bool = Field(True, description="card + PIN (most libraries) or card alone")
    min_age_unstaffed: int = Field(15, ge=0, le=120)
    capacity: int = Field(150, ge=1, description="people allowed inside in self-service")
    pin_lockout_failures: int = Field(5, ge=1, description="consecutive failures that lock")
    pin_lockout_minutes: int = Field(15, ge=1)
    pin_block_failures_24h: int = Field(10, ge=1, description="failures in 24 h that block")
    reader_attack_cards: int = Field(
        5, ge=2, description="distinct cards failing PIN at one reader that raise an alarm"
    )
    reader_attack_window_minutes: int = Field(10, ge=1)
    reader_throttle_seconds: float = Field(30.0, ge=0)


class ReaderSettings(_Model):
    """One credential reader or PIN pad on a door."""

    kind: Literal["barcode", "magstripe", "em4100", "pinpad", "wiegand"]
    url: str | None = Field(None, description="serial URL or device; loop:// and ptys work too")
    baudrate: int = 9600
    d0_pin: int | None = Field(None, description="Wiegand DATA0 (BCM)")
    d1_pin: int | None = Field(None, description="Wiegand DATA1 (BCM)")
    pin_timeout_s: float = Field(10.0, gt=0)

    @model_validator(mode="after")
    def _needs(self) -> ReaderSettings:
        if self.kind == "wiegand":
            if self.d0_pin is None or self.d1_pin is None:
                raise ValueError("a wiegand reader needs d0_pin and d1_pin")
        elif not self.url:
            raise ValueError(f"a {self.kind} reader needs url")
        return self


Pin = Annotated[int, Field(ge=min(BCM_PINS), le=max(BCM_PINS), description="BCM GPIO number")]


class DoorSettings(_Model):
    """One door: its GPIO wiring, timings and readers."""

    name: str = ""
    lock_pin: Pin
    lock_active_high: bool = True
    fail_safe: bool = Field(
        False, description="True: unlocked without power (fail-safe); False: fail-secure"
    )
    contact_pin: Pin | None = None
    exit_button_pin: Pin | None = None
    green_led_pin: Pin | None = None
    red_led_pin: Pin | None = None
    buzzer_pin: Pin | None = None
    beam_a_pin: Pin | None = Field(None, description="outer beam of the people counter")
    beam_b_pin: Pin | None = Field(None, description="inner beam of the people counter")
    unlock_seconds: float = Field(5.0, gt=0, le=300)
    held_open_seconds: float = Field(30.0, gt=0)
    settle_s: float = Field(
        0.03,
        ge=0,
        le=1,
        description="a contact, exit button or beam change counts once it held this long",
    )
    entrance: bool = Field(True, description="counts people and admits patrons")
    readers: tuple[ReaderSettings, ...] = ()

    @model_validator(mode="after")
    def _distinct_pins(self) -> DoorSettings:
        used: dict[int, str] = {}
        for name in (
            "lock_pin",
            "contact_pin",
            "exit_button_pin",
            "green_led_pin",
            "red_led_pin",
            "buzzer_pin",
            "beam_a_pin",
            "beam_b_pin",
        ):
            pin = getattr(self, name)
            if pin is None:
                continue
            if pin in used:
                raise ValueError(f"{name} uses pin {pin}, already {used[pin]}")
            used[pin] = name
        if (self.beam_a_pin is None) != (self.beam_b_pin is None):
            raise ValueError("the people counter needs both beam_a_pin and beam_b_pin")
        return self


class FireSettings(_Model):
    """The fire panel's dry contact: alarm when the input is active."""

    input_pin: Pin | None = None
    active_low: bool = Field(True, description="panel contact pulls the line to ground")
    clear_after_s: float = Field(
        1.0,
        ge=0,
        le=60,
        description="the alarm clears once the input was quiet this long (it raises at once)",
    )


class MqttSettings(_Model):
    """The branch's broker."""

    host: str = "127.0.0.1"
    port: int = Field(1883, ge=1, le=65535)
    prefix: str = "aabent"
    username: str | None = None
    password_file: Path | None = None
    keepalive: int = Field(30, ge=5)
    command_max_age_s: float = Field(10.0, gt=0, description="older commands are rejected")


class StoreSettings(_Model):
    """Where records live: SQLite on a device by default, PostgreSQL for many branches."""

    url: str = Field("", description="SQLAlchemy URL; empty = SQLite in site.data_dir")
    outbox: Path | None = Field(None, description="outbox file; default data_dir/outbox.sqlite")


class RetentionSettings(_Model):
    """How long identifiable detail is kept; counts are kept regardless."""

    days: int = Field(30, ge=1)


class PatronSettings(_Model):
    """Which directory answers who a card belongs to."""

    directory: Literal["local", "sip2"] = "local"


class Sip2Settings(_Model):
    """The library system over SIP2 (used when ``patrons.directory = "sip2"`` and by the kiosk)."""

    transport: Literal["tcp", "fbs-https"] = Field(
        "tcp", description="raw SIP2 on TCP (Koha, Evergreen, FOLIO) or FBS's SIP2 over HTTPS"
    )
    host: str = Field("127.0.0.1", description="tcp: the SIP2 server")
    port: int = Field(6001, ge=1, le=65535, description="tcp: the SIP2 port")
    tls: bool = Field(False, description="tcp: wrap the stream in TLS (e.g. an stunnel front)")
    tls_ca_file: Path | None = Field(None, description="CA to trust for TLS; default: system CAs")
    fbs_url: str = Field("", description="fbs-https: base URL, e.g. https://cicero-fbs.com")
    agency: str = Field("", description="fbs-https: agency number, 761500 or DK-761500")
    institution_id: str = Field("", description="AO; default: the agency (DK-…) or empty")
    login_user: str = Field("", description="tcp: 93 login user (CN); fbs-https: login")
    password_file: Path | None = Field(None, description="file holding the login password")
    location_code: str = Field("", description="tcp: 93 location code (CP)")
    charset: Literal["utf-8", "latin-1", "cp850"] = "utf-8"
    error_detection: bool = Field(True, description="tcp: AY sequence + AZ checksum")
    timeout_s: float = Field(1.5, gt=0, le=30, description="per request; the door's wait")
    offline_days: int = Field(14, ge=0, le=90, description="how long a validation is kept")
    refusal_minutes: int = Field(5, ge=0, le=60, description="how long a refusal is kept")
    health_interval_s: float = Field(5.0, gt=0, description="99 SC Status every …")
    health_rise: int = Field(3, ge=1, description="good answers in a row before online again")
    deny_flags: tuple[str, ...] = Field(
        ("charge_privileges_denied",), description="patron status flags that keep the door shut"
    )

    @model_validator(mode="after")
    def _complete(self) -> Sip2Settings:
        fbs_ready = self.fbs_url.startswith("https://") and bool(self.agency)
        if self.transport == "fbs-https" and not fbs_ready:
            raise ValueError("transport fbs-https needs fbs_url (https://…) and agency")
        return self


class EmailSettings(_Model):
    """Critical alarms by e-mail over SMTP; an empty ``host`` sends none."""

    host: str = Field("", description="SMTP server; empty = no e-mail")
    port: int = Field(25, ge=1, le=65535)
    sender: str = Field(
        "", validation_alias=AliasChoices("from", "sender"), description="the From: address"
    )
    to: tuple[str, ...] = Field((), description="recipients")
    starttls: bool = Field(True, description="upgrade the connection with STARTTLS")
    username: str | None = Field(None, description="SMTP AUTH user; None = no login")
    password_file: Path | None = Field(None, description="file holding the SMTP password")
    timeout_s: float = Field(10.0, gt=0)


class WebhookSettings(_Model):
    """Critical alarms POSTed as JSON; an empty ``url`` sends none."""

    url: str = Field("", description="http(s) URL to POST to; empty = no webhook")
    token_file: Path | None = Field(None, description="sent as Authorization: Bearer <token>")
    timeout_s: float = Field(5.0, gt=0)


class AlarmSettings(_Model):
    """Where critical alarms go besides the dashboard, and how hard sending is tried."""

    email: EmailSettings = EmailSettings()
    webhook: WebhookSettings = WebhookSettings()
    attempts: int = Field(4, ge=1, le=20, description="tries per channel before giving up")
    retry_seconds: float = Field(5.0, gt=0, description="wait before the first retry; doubles")


class RecorderSettings(_Model):
    """The server's recorder: write batching, Home Assistant discovery and the daily purge."""

    batch_size: int = Field(500, ge=1, le=10000, description="events per commit at most")
    max_payload_bytes: int = Field(65536, ge=1024, description="larger messages are rejected")
    homeassistant_discovery: bool = Field(True, description="publish Home Assistant discovery")
    discovery_prefix: str = Field("homeassistant", description="Home Assistant's MQTT prefix")
    retention_at: Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")] = Field(
        "03:30", description="local time of the daily retention purge"
    )


class DashboardSettings(_Model):
    """The staff dashboard of ``aabent server``: where it listens, sessions and login throttling."""

    host: str = Field("127.0.0.1", description="listen address; put a TLS proxy in front")
    port: int = Field(8080, ge=1, le=65535)
    secret_file: Path | None = Field(
        None, description="keys session-token hashes; default data_dir/dashboard.secret"
    )
    session_hours: float = Field(10.0, gt=0, le=168, description="a login lasts at most this")
    idle_minutes: float = Field(60.0, gt=0, description="a session unused this long ends")
    login_max_failures: int = Field(5, ge=1, description="failed logins per user or address ...")
    login_window_minutes: float = Field(15.0, gt=0, description="... within this window: refused")
    forwarded_allow_ips: str = Field(
        "127.0.0.1", description="proxies whose X-Forwarded-Proto is believed (Secure cookies)"
    )
    tls_cert_file: Path | None = Field(None, description="serve HTTPS directly with this cert")
    tls_key_file: Path | None = None
    feed_size: int = Field(50, ge=1, le=1000, description="events kept in the live feed")


class KioskSettings(_Model):
    """The patron kiosk: its id, privacy timeout, language, check-in rules and local loan rules."""

    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,30}$")] = "kiosk1"
    idle_timeout_s: float = Field(60.0, ge=5, description="without a touch, the warning shows")
    warning_s: float = Field(10.0, ge=1, description="the warning's countdown before the reset")
    language: Literal["da", "en"] = "da"
    large_text: bool = Field(False, description="start in large-text, high-contrast mode")
    checkin_window_minutes: int = Field(30, ge=0, le=240, description="check-in opens before start")
    program_days: int = Field(14, ge=1, le=60, description="days of events the kiosk lists")
    search_debounce_s: float = Field(0.3, ge=0, le=2, description="pause in typing before search")
    floorplan: Path | None = Field(
        None, description="floor plan TOML; default config/floorplan.toml"
    )
    scanner_url: str | None = Field(None, description="serial scanner; keyboard wedges need none")
    scanner_baudrate: int = 9600
    fullscreen: bool = True
    width: int = Field(1280, ge=320)
    height: int = Field(800, ge=240)
    max_renewals: int = Field(3, ge=0, description="local directory: renewals allowed per loan")
    renewal_days: int = Field(30, ge=1, description="local directory: loan period of a renewal")


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
    doors: dict[Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,30}$")], DoorSettings] = {}

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
    """Read ``path`` (default ``config/aabent.toml``), apply ``AABENT__…`` overrides, validate.

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
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(str(file), exc)) from None
    return _anchor_paths(settings, file.resolve().parent.parent)


def _anchor_paths(settings: Settings, root: Path) -> Settings:
    def anchor(p: Path | None) -> Path | None:
        return p if p is None or p.is_absolute() else root / p

    site = settings.site.model_copy(
        update={
            "data_dir": anchor(settings.site.data_dir),
            "key_file": anchor(settings.site.key_file),
        }
    )
    store = settings.store.model_copy(update={"outbox": anchor(settings.store.outbox)})
    return settings.model_copy(update={"site": site, "store": store})
