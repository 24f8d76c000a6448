"""The live view's source: the dashboard's own MQTT subscription, fanned out to browsers (SSE).

Messages of every branch (``<prefix>/+/…``) arrive on paho's network thread; the hub keeps, per
site, the latest state of every door, the occupancy, the opening state and a short feed, and
hands each change to every browser watching that site through its asyncio queue
(``call_soon_threadsafe``). The database is not on this path, so the
latency seen by staff is the broker's plus a JSON encode.

What the hub holds can be old, and the page must say so. Every second each stream carries a
``link`` beat: whether the dashboard's own broker connection is up, and each door's last word
(the age of its retained state, which a controller republishes every 30 s) and its controller's
status. A browser that hears no beat knows the server itself is gone. Each stream also asks
``still_valid`` a few times a second and ends with ``ended`` when its session is over (logout,
user removed, password or role changed, from this process or the CLI).
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from services.bus.topics import TopicKind, Topics
from services.core.events import Event, EventType, PayloadError

log = logging.getLogger(__name__)

QUEUE_SIZE = 1000  # a browser this far behind is dropped; it reconnects and gets a snapshot
BEAT_S = 1.0  # the link beat; the page calls the view stale after missing a few
SESSION_CHECK_S = 0.3  # how often a stream asks whether its session still holds
# A controller republishes each door's state every 30 s; older than this, its last word is stale.
DOOR_STALE_S = 75.0
EventListener = Callable[[Event], object]
StillValid = Callable[[], Awaitable[bool]]


def sse(kind: str, data: Mapping[str, Any]) -> str:
    """One Server-Sent Event: ``event: kind`` and one JSON data line."""
    return f"event: {kind}\ndata: {json.dumps(data, ensure_ascii=False, default=str)}\n\n"


@dataclass(eq=False)  # hashed by identity: one per browser
class _Client:
    loop: asyncio.AbstractEventLoop
    site: str
    queue: asyncio.Queue[str | None] = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))


@dataclass
class _Site:
    """What the hub holds of one branch."""

    feed: deque[dict[str, Any]]
    doors: dict[str, dict[str, Any]] = field(default_factory=dict)
    occupancy: dict[str, Any] | None = None
    opening: dict[str, Any] | None = None
    status: dict[str, str] = field(default_factory=dict)
    tailgating: dict[date, int] = field(default_factory=dict)  # door.tailgating per local day
    tailgating_seeded: set[date] = field(default_factory=set)


def _site_of(prefix: str, topic: str) -> Topics | None:
    """The topics of the site ``topic`` belongs to, whichever branch it is."""
    head = prefix + "/"
    if not topic.startswith(head):
        return None
    try:
        return Topics(prefix, topic[len(head) :].split("/", 1)[0])
    except ValueError:
        return None


class LiveHub:
    """Latest state of every branch from MQTT, and a feed of events, pushed to the browsers
    watching that branch."""

    def __init__(
        self,
        topics: Topics,
        door_names: Mapping[str, str],
        feed_size: int,
        *,
        connected: Callable[[], bool] = lambda: True,
        door_components: Mapping[str, str] | None = None,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.topics = topics  # the server's own site; the hub listens to every site's
        self.door_names = dict(door_names)
        self._feed_size = feed_size
        self._connected = connected
        self._door_components = dict(door_components or {})
        self._wall = wall
        self._lock = threading.Lock()
        self._sites: dict[str, _Site] = {}
        self._site_locked(topics.site).doors.update({d: {} for d in door_names})
        self._clients: set[_Client] = set()
        self._listeners: list[EventListener] = []

    def _site_locked(self, site: str) -> _Site:
        held = self._sites.get(site)
        if held is None:
            held = self._sites[site] = _Site(deque(maxlen=self._feed_size))
        return held

    def _names(self, site: str) -> Mapping[str, str]:
        return self.door_names if site == self.topics.site else {}

    def preload(self, events: Sequence[Mapping[str, Any]], site: str | None = None) -> None:
        """Start a site's feed with recorded events (newest first), so a restart leaves it not
        empty; the server's own site unless ``site`` is given."""
        with self._lock:
            feed = self._site_locked(site or self.topics.site).feed
            if feed:
                return
            for item in reversed(events):
                feed.appendleft(dict(item))

    def has_feed(self, site: str) -> bool:
        """True once the hub holds anything of ``site``'s feed (preloaded or heard)."""
        with self._lock:
            held = self._sites.get(site)
            return held is not None and bool(held.feed)

    def tailgating_seeded(self, site: str, day: date) -> bool:
        """True once ``day``'s tailgating count of ``site`` was read from the stored events."""
        with self._lock:
            return day in self._site_locked(site).tailgating_seeded

    def seed_tailgating(self, site: str, day: date, stored: int) -> None:
        """The day's tailgating count from the stored events, so a restart forgets none; what
        was heard live meanwhile and is not yet stored still counts."""
        with self._lock:
            held = self._site_locked(site)
            held.tailgating = {day: max(stored, held.tailgating.get(day, 0))}
            held.tailgating_seeded.add(day)

    def add_event_listener(self, listener: EventListener) -> None:
        """Call ``listener(event)`` (network thread) for every event, e.g. command outcomes."""
        self._listeners.append(listener)

    def attach(self, subscribe: Callable[[str, Callable[[str, bytes], None]], None]) -> None:
        """Subscribe to the topics the live view shows, of every site, through ``subscribe``."""
        t = self.topics
        for topic_filter in (
            t.all_door_states,
            t.all_door_events,
            t.site_event,
            t.all_kiosk_events,
            t.occupancy,
            t.opening,
            t.all_status,
        ):
            subscribe(f"{t.prefix}/+/{topic_filter.removeprefix(t.base + '/')}", self.on_message)

    def snapshot(self, site: str | None = None) -> dict[str, Any]:
        """Everything a browser needs to draw one site's page from scratch."""
        site = site or self.topics.site
        with self._lock:
            held = self._site_locked(site)
            names = self._names(site)
            doors = {
                door: {"name": names.get(door, door), **state} for door, state in held.doors.items()
            }
            return {
                "site": site,
                "doors": doors,
                "occupancy": held.occupancy,
                "opening": held.opening,
                "status": dict(held.status),
                "feed": list(held.feed),
                "link": self._link_locked(site),
                "tailgating": held.tailgating.get(self._wall().date(), 0),
            }

    def link(self, site: str | None = None) -> dict[str, Any]:
        """Whether what the page shows is current: the broker link and each door's last word."""
        with self._lock:
            return self._link_locked(site or self.topics.site)

    def _link_locked(self, site: str) -> dict[str, Any]:
        now = self._wall()
        broker = self._connected()
        held = self._site_locked(site)
        own = site == self.topics.site
        doors: dict[str, Any] = {}
        for door, state in held.doors.items():
            age = _age_s(state.get("updated"), now)
            component = self._door_components.get(door) if own else None
            status = held.status.get(component) if component else None
            stale = not broker or age is None or age > DOOR_STALE_S or status == "offline"
            doors[door] = {"age_s": age, "stale": stale, "component": component}
        return {"broker": broker, "now": now.isoformat(), "doors": doors}

    def publish(self, kind: str, data: Mapping[str, Any], site: str | None = None) -> None:
        """Send one SSE event of our own (e.g. a command's outcome) to a site's browsers."""
        self._broadcast(site or self.topics.site, sse(kind, data))

    def on_message(self, topic: str, payload: bytes) -> None:
        """Handle one MQTT message (network thread); bad payloads are logged and skipped."""
        topics = _site_of(self.topics.prefix, topic)
        route = topics.parse(topic) if topics else None
        if topics is None or route is None:
            return
        site = topics.site
        if route.kind in (TopicKind.DOOR_EVENT, TopicKind.SITE_EVENT, TopicKind.KIOSK_EVENT):
            self._on_event(site, payload)
        elif route.kind is TopicKind.STATUS and route.subject:
            status = payload.decode("utf-8", "replace")[:20]
            with self._lock:
                self._site_locked(site).status[route.subject] = status
            self._broadcast(site, sse("status", {"component": route.subject, "status": status}))
        else:
            self._on_state(site, route.kind, route.subject, payload)

    def _on_state(self, site: str, kind: TopicKind, subject: str | None, payload: bytes) -> None:
        try:
            data = json.loads(payload)
        except ValueError:
            log.warning("state that is not JSON skipped", extra={"kind": kind})
            return
        if not isinstance(data, dict):
            return
        if kind is TopicKind.DOOR_STATE and subject:
            with self._lock:
                self._site_locked(site).doors[subject] = data
            name = self._names(site).get(subject, subject)
            self._broadcast(site, sse("door", {"door": subject, "name": name, **data}))
        elif kind is TopicKind.OCCUPANCY:
            with self._lock:
                self._site_locked(site).occupancy = data
            self._broadcast(site, sse(kind.value, data))
        elif kind is TopicKind.OPENING:
            with self._lock:
                self._site_locked(site).opening = data
            self._broadcast(site, sse(kind.value, data))

    def _on_event(self, site: str, payload: bytes) -> None:
        try:
            event = Event.from_json(payload)
        except PayloadError as exc:
            log.warning("event skipped: %s", exc)
            return
        item = event.to_payload()
        with self._lock:
            held = self._site_locked(site)
            held.feed.appendleft(item)
            if event.type is EventType.DOOR_TAILGATING:
                day = event.ts.astimezone(self._wall().tzinfo).date()
                held.tailgating = {day: held.tailgating.get(day, 0) + 1}
        self._broadcast(site, sse("event", item))
        for listener in self._listeners:
            try:
                listener(event)
            except Exception:
                log.exception("event listener failed", extra={"event_id": event.id})

    def _broadcast(self, site: str, message: str) -> None:
        with self._lock:
            clients = [c for c in self._clients if c.site == site]
        for client in clients:
            try:
                client.loop.call_soon_threadsafe(self._offer, client, message)
            except RuntimeError:  # that browser's loop is closed: the server is stopping
                self._drop(client)

    def _offer(self, client: _Client, message: str) -> None:
        try:
            client.queue.put_nowait(message)
        except asyncio.QueueFull:
            self._drop(client)
            client.queue.get_nowait()
            client.queue.put_nowait(None)  # tells the stream to end; the browser reconnects

    def _drop(self, client: _Client) -> None:
        with self._lock:
            self._clients.discard(client)

    async def stream(
        self, lifetime_s: float, still_valid: StillValid | None = None, site: str | None = None
    ) -> AsyncIterator[str]:
        """SSE text for one browser watching ``site``: a snapshot, then every change, while
        the session holds.

        A ``link`` beat every second tells the page how current it is (and keeps proxies from
        closing an idle stream); ``ended`` says the session is over, ``expired`` that its
        lifetime ran out: either way the page shows that it is logged out.
        """
        site = site or self.topics.site
        loop = asyncio.get_running_loop()
        client = _Client(loop, site)
        end = loop.time() + lifetime_s
        with self._lock:
            self._clients.add(client)
        try:
            yield "retry: 1000\n\n" + sse("snapshot", self.snapshot(site))
            next_beat = next_check = loop.time()
            while (now := loop.time()) < end:
                if still_valid is not None and now >= next_check:
                    if not await still_valid():
                        yield sse("ended", {})
                        return
                    next_check = now + SESSION_CHECK_S
                if now >= next_beat:
                    yield sse("link", self.link(site))
                    next_beat = now + BEAT_S
                wait = min(next_beat, end, next_check if still_valid else next_beat) - now
                try:
                    message = await asyncio.wait_for(client.queue.get(), max(wait, 0.01))
                except TimeoutError:
                    continue
                if message is None:
                    return
                yield message
            yield sse("expired", {})
        finally:
            self._drop(client)

    @property
    def clients(self) -> int:
        """How many browsers are connected."""
        with self._lock:
            return len(self._clients)


def _age_s(updated: object, now: datetime) -> float | None:
    """Seconds since an ISO ``updated`` stamp; None when there is none (never heard)."""
    if not isinstance(updated, str):
        return None
    try:
        ts = datetime.fromisoformat(updated)
    except ValueError:
        return None
    if ts.tzinfo is None:
        return None
    return round(max(0.0, (now - ts).total_seconds()), 1)
