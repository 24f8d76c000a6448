"""The recorder with what runs beside it: the alarm notifier, discovery and the daily purge.

``aabent recorder`` runs this alone; ``aabent server`` runs it next to the dashboard, each on a
bus of its own. The service owns its bus (:func:`recorder_bus`) and the order around it: the
connection starts after the threads that take its messages, and ends after the recorder has
acknowledged its last batch.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from services.bus.client import MqttBus
from services.bus.topics import Topics
from services.patrons.list_distribution import ListPublisher
from services.patrons.room_keeper import RoomKeeper
from services.recorder.discovery import publish_discovery
from services.recorder.health import HealthReporter, health_key
from services.recorder.notify import Delivery, Notifier
from services.recorder.recorder import COMPONENT, Recorder
from services.recorder.retention import run_daily
from services.settings import Settings
from services.store.recorder import AlarmNotification, SiteRecord


def recorder_bus(settings: Settings) -> MqttBus:
    """The recorder's connection: a stable client id, a persistent session and manual
    acknowledgement, so the broker keeps every QoS 1 message until the recorder committed it.

    Recorders sharing one database (``recorder.instance``) have a session each: every one gets
    every message, and the database stores an event id once (services/store/recorder.py
    ``insert_events``), so any of them may die without a loss.
    """
    topics = Topics(settings.mqtt.prefix, settings.site.id)
    instance = settings.recorder.instance
    client_id = f"aabent-recorder-{settings.site.id}" + (f"-{instance}" if instance else "")
    return MqttBus(
        settings.mqtt, client_id, COMPONENT, topics, persistent_session=True, manual_ack=True
    )


def utc_now() -> datetime:
    """The wall clock, in UTC."""
    return datetime.now(UTC)


def _no_branches(_session: Session) -> Iterable[str]:
    return ()


def branches_of(settings: Settings) -> Callable[[Session], Iterable[str]]:
    """The branches a municipality's server publishes lists for: each that announced itself
    (the ``sites`` table) and each ``[branches.<site>]`` names."""
    configured = tuple(settings.branches)

    def sites(session: Session) -> Iterable[str]:
        return {*session.scalars(select(SiteRecord.site)), *configured}

    return sites


class RecorderService:
    """Recorder, notifier, Home Assistant discovery, the daily retention run and the health row
    (``health/<component>[/<instance>]``: the recorder's counters for the dashboard), together."""

    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        *,
        clock: Callable[[], datetime] = utc_now,
        component: str = COMPONENT,
    ) -> None:
        self.settings = settings
        self._sessions = sessions
        self.bus = bus = recorder_bus(settings)
        self.notifier = Notifier.from_settings(
            settings.alarms,
            record=self._record_delivery,
            branches={site: settings.alarms_for(site) for site in settings.branches},
        )
        self.recorder = Recorder(
            settings, sessions, bus, clock=clock, notifier=self.notifier, component=component
        )
        self.health = HealthReporter(
            sessions,
            settings.site.id,
            health_key(component, settings.recorder.instance),
            self.recorder.counters,
            every_s=settings.recorder.health_every_s,
            clock=clock,
            instance=settings.recorder.instance,
        )
        prefix = settings.mqtt.prefix
        self.lists = ListPublisher(
            sessions,
            bus.publish_state,
            lambda site: Topics(prefix, site).lists,
            settings.site.id,
            others=branches_of(settings) if settings.recorder.all_sites else _no_branches,
            clock=clock,
        )
        self.rooms = RoomKeeper(sessions, settings.site.id, settings.room_list(), clock)
        self._stop = threading.Event()
        self._purge = threading.Thread(
            target=run_daily,
            args=(sessions, settings.retention.days),
            kwargs={
                "at": time.fromisoformat(settings.recorder.retention_at),
                "tz": ZoneInfo(settings.site.timezone),
                "clock": clock,
                "stop": self._stop,
                "per_site": {
                    site: settings.retention_days_for(site)
                    for site, branch in settings.branches.items()
                    if branch.retention_days is not None
                },
            },
            name="retention",
            daemon=True,
        )

    def _record_delivery(self, delivery: Delivery) -> None:
        """Keep one delivery attempt on the alarm's record (the notifier's thread)."""
        with self._sessions() as session, session.begin():
            session.add(
                AlarmNotification(
                    alarm_id=delivery.alarm_id,
                    channel=delivery.channel,
                    outcome=delivery.outcome,
                    attempt=delivery.attempt,
                    error=delivery.error,
                    ts=delivery.at,
                )
            )

    def start(self) -> None:
        """Start sending notices, subscribe, publish discovery, schedule the purge, report
        the counters, connect."""
        self.notifier.start()
        self.recorder.start()
        self.health.start()
        if self.settings.recorder.homeassistant_discovery:
            publish_discovery(self.bus, self.settings)
        self._purge.start()
        self.lists.start()
        self.rooms.start()
        self.bus.start()

    def stop(self) -> None:
        """Write and acknowledge what was taken, leave the broker, send what is queued."""
        self._stop.set()
        self.lists.stop()
        self.rooms.stop()
        self.recorder.stop()
        self.health.stop()  # the last row: the final counters, marked stopped
        self.bus.stop()
        self.notifier.stop()
        self._purge.join(2.0)
