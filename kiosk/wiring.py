"""The kiosk's services, built once from settings: database, directory, account, program, MQTT.

Everything the screens need comes in through :class:`KioskServices`, so the app never reads
settings or opens a connection itself, and tests build the same object against their own
SQLite file and Mosquitto. Nothing connects until :meth:`KioskServices.start`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from kiosk.checkin import Identity, identify_with
from kiosk.floorplan import FloorPlan, load_floorplan
from kiosk.room_desk import RoomDesk
from services.bus.client import MqttBus
from services.bus.outbox import Outbox, OutboxPublisher
from services.bus.topics import Topics
from services.catalogue.search import ItemDetail, Results
from services.core.account import AccountService
from services.core.credentials import Credential, SiteKey
from services.core.events import Event
from services.core.patrons import PatronDirectory
from services.core.schedule import Schedule
from services.patrons.account import LocalAccount, Sip2Account
from services.patrons.account_guard import GuardedAccount
from services.patrons.directory import close_directory
from services.patrons.pin_guard import PinGuard
from services.patrons.registry import LocalRegistry
from services.program.desk import ProgramDesk
from services.runtime.holiday_file import site_schedule
from services.settings import DEFAULT_CONFIG, ConfigError, Settings

log = logging.getLogger(__name__)

SEARCH_LIMIT = 30


@dataclass
class KioskServices:
    """What the kiosk's screens call; each call is one short unit of work."""

    settings: Settings
    schedule: Schedule
    clock: Callable[[], datetime]
    sessions: sessionmaker[Session]
    account: AccountService
    guard: PinGuard
    directory: PatronDirectory
    desk: ProgramDesk
    key: SiteKey
    plan: FloorPlan | None
    topics: Topics
    bus: MqttBus
    publisher: OutboxPublisher
    outbox: Outbox
    engine: Engine
    _started: bool = field(default=False, repr=False)

    def search(self, query: str) -> Results:
        """Catalogue search, as the patron types: the first rows and the count of all."""
        from services.catalogue.search import find

        with self.sessions() as session:
            return find(session, query, SEARCH_LIMIT)

    def item(self, record_id: str) -> ItemDetail:
        """One title with its copies."""
        from services.catalogue.search import item

        with self.sessions() as session:
            return item(session, record_id)

    def room_desk(self) -> RoomDesk:
        """The room bookings of this kiosk's site, behind the same PIN guard as My account."""
        names = tuple(
            (r, self.settings.rooms[r.id].name or r.id) for r in self.settings.room_list()
        )
        return RoomDesk(
            self.sessions,
            self.key,
            self.settings.site.id,
            self.settings.kiosk.id,
            names,
            self.schedule,
            self.clock,
            self.account,
        )

    def tidy(self) -> None:
        """Once a day: delete the kiosk's PIN failures older than the retention period."""
        self.guard.tidy(self.clock(), self.settings.retention.days)

    def identify(self, credential: Credential) -> Identity | None:
        """Who holds the card (no PIN): for check-in; None for a card nobody holds."""
        return identify_with(self.directory, self.key)(credential)

    @property
    def receipts(self) -> bool:
        """True where receipts can go out: switched on, and an SMTP server to send them by."""
        return self.settings.kiosk.receipts and bool(self.settings.alarms.email.host)

    def send_receipt(self, to: str, subject: str, body: str) -> None:
        """E-mail a receipt to the patron through the site's SMTP server (as alarms go)."""
        from services.runtime.mail import send_text

        send_text(self.settings.alarms.email, to, subject, body)

    @property
    def pin_changeable(self) -> bool:
        """True where the kiosk may change a PIN: the local registry. SIP2 has no message for
        it, so there the patron is told it is done at the desk."""
        return isinstance(self.directory, LocalRegistry)

    def change_pin(self, credential: Credential, pin: str, new: str) -> None:
        """Check the PIN now through the guarded account (wrong ones count towards the lockout),
        then give the registry's patron the new one."""
        if not isinstance(self.directory, LocalRegistry):
            raise RuntimeError("the library system's PIN is changed at the desk")
        self.account.standing(credential, pin)
        self.directory.set_pin(credential, new)

    def house_rules(self, lang: str) -> str:
        """The site's house rules in ``lang`` from its file, or "" (the kiosk's own words)."""
        k = self.settings.kiosk
        path = k.house_rules_da if lang == "da" else k.house_rules_en
        if path is None:
            return ""
        try:
            return Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            log.warning("house rules not read (%s): %s", lang, exc.__class__.__name__)
            return ""

    def sign_up(self, credential: Credential) -> bool:
        """Record the holder's acceptance of the house rules, as the desk's ``aabent patrons
        signup`` does (audited, the lists' version moved, so the doors get it); False if the
        card had signed up before."""
        from services.patrons.access_lists import sign_up

        with self.sessions.begin() as session:
            actor = f"kiosk:{self.settings.kiosk.id}"
            site = self.settings.site.id
            return sign_up(session, self.key, actor, credential, site=site, via="kiosk")

    def start(self) -> None:
        """Connect to the broker and start delivering the outbox."""
        if self._started:
            return
        self._started = True
        self.bus.start()
        self.publisher.start()

    def close(self) -> None:
        """Stop everything started and close the files."""
        if self._started:
            self.publisher.stop()
            self.bus.stop()
        close_directory(self.directory)
        self.outbox.close()
        self.engine.dispose()


def floorplan_path(settings: Settings) -> Path:
    """The configured floor plan, or ``floorplan.toml`` beside the default settings file."""
    return settings.kiosk.floorplan or DEFAULT_CONFIG.parent / "floorplan.toml"


def _plan(settings: Settings) -> FloorPlan | None:
    try:
        return load_floorplan(floorplan_path(settings))
    except ConfigError as exc:
        log.warning("no floor plan: %s", exc)  # the kiosk works without; it says "ask staff"
        return None


def _account(
    settings: Settings,
    sessions: sessionmaker[Session],
    directory: PatronDirectory,
    clock: Callable[[], datetime],
) -> AccountService:
    if isinstance(directory, LocalRegistry):
        rules = settings.kiosk.loan_rules()
        return LocalAccount(sessions, directory, today=lambda: clock().date(), rules=rules)
    return Sip2Account(directory)  # type: ignore[arg-type]


def open_services(settings: Settings) -> KioskServices:
    """Open the database (migrated), the directory, the program desk and the MQTT parts."""
    from services.patrons.directory import open_directory  # imports SIP2 only when configured
    from services.store.engine import make_sessionmaker
    from services.store.schema import open_database

    engine = open_database(settings.database_url, settings.site.id)
    sessions = make_sessionmaker(engine)
    key = settings.site.site_key()
    tz = ZoneInfo(settings.site.timezone)

    def clock() -> datetime:
        return datetime.now(tz)

    k = settings.kiosk
    topics = Topics(settings.mqtt.prefix, settings.site.id)
    outbox = Outbox(settings.site.data_dir / f"kiosk-{k.id}-outbox.sqlite")

    def on_event(event: Event) -> None:
        outbox.append(topics.kiosk_event(k.id), event.to_json())

    directory = open_directory(settings, engine, key, on_event)
    bus = MqttBus(settings.mqtt, f"aabent-kiosk-{settings.site.id}-{k.id}", f"kiosk-{k.id}", topics)
    window = timedelta(minutes=k.checkin_window_minutes)
    desk = ProgramDesk(
        sessions, kiosk=k.id, clock=clock, window=window, outbox=outbox, topics=topics
    )
    guard = PinGuard(sessions, settings.access.lockout_policy())
    account = GuardedAccount(
        _account(settings, sessions, directory, clock),
        guard,
        key,
        kiosk=k.id,
        clock=clock,
        on_event=on_event,
    )
    return KioskServices(
        settings=settings,
        schedule=site_schedule(settings),
        clock=clock,
        sessions=sessions,
        account=account,
        guard=guard,
        directory=directory,
        desk=desk,
        key=key,
        plan=_plan(settings),
        topics=topics,
        bus=bus,
        publisher=OutboxPublisher(outbox, bus),
        outbox=outbox,
        engine=engine,
    )
