"""The lists between the server and the door controllers, over MQTT.

The server publishes each site's whole snapshot, retained, on ``<prefix>/<site>/lists``
whenever that site's version has moved (:class:`ListPublisher`): its own site's and, on a
municipality's server, every branch's it knows; a change at one branch moves only that
branch's version, a municipality ban every site's. The broker ACL lets only the server write
there. A controller applies a snapshot that is newer than its copy in one transaction
(:class:`ListReceiver`), on a thread of its own so a large snapshot never holds up the bus. A
controller that was offline gets the retained snapshot when it subscribes again, and decides
from its last copy meanwhile. The door's lookups read the copy in memory
(:class:`~services.patrons.local_lookup.LocalLists`): the receiver swaps it in once the snapshot
is stored, so the next lookup decides from it; a snapshot that fails leaves the old one in force.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from services.patrons import list_snapshot
from services.patrons.access_lists import current_version, expire_bans
from services.patrons.list_index import build_index
from services.patrons.local_lookup import LocalLists
from services.store.access_lists import MUNICIPALITY, ListsVersion

log = logging.getLogger(__name__)

Publish = Callable[[str, bytes], object]
# The sites besides the own one whose lists are published (a municipality's branches).
Sites = Callable[[Session], Iterable[str]]

# How often the server looks for bans that are over (the doors ignore them from their end on).
EXPIRE_EVERY_S = 60.0


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _no_others(_session: Session) -> Iterable[str]:
    return ()


class ListPublisher:
    """Publishes each site's lists when its version has changed since its last publish, and
    ends the bans that are over (every ``expire_every_s``), so no expired row lingers.

    ``site`` is the server's own; ``others`` names the rest it publishes for (a municipality's
    branches), read anew on every round, and ``topic_of`` gives a site's lists topic."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        publish: Publish,
        topic_of: Callable[[str], str],
        site: str,
        *,
        others: Sites = _no_others,
        clock: Callable[[], datetime] = _utc_now,
        expire_every_s: float = EXPIRE_EVERY_S,
    ) -> None:
        self.sessions, self._publish, self.topic_of, self.site = sessions, publish, topic_of, site
        self.others = others
        self.clock, self.expire_every_s = clock, expire_every_s
        self._expired_at: datetime | None = None
        self.published: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def sites(self, session: Session) -> list[str]:
        """The sites published for: the own one first, then the others by id."""
        others = set(self.others(session))
        others.discard(self.site)
        others.discard(MUNICIPALITY)
        return [self.site, *sorted(others)]

    def publish_if_changed(self) -> dict[str, int]:
        """Publish the snapshot of each site whose version is not the one last published for
        it; the versions published now, by site (empty: nothing had changed)."""
        snapshots = []
        with self.sessions() as session:
            counters = {
                str(s): int(v)
                for s, v in session.execute(select(ListsVersion.site, ListsVersion.version))
            }
            municipality = counters.get(MUNICIPALITY, 0)
            for site in self.sites(session):
                if counters.get(site, 0) + municipality != self.published.get(site):
                    snapshots.append(list_snapshot.take(session, site))
        done = {}
        for snapshot in snapshots:
            site, version = str(snapshot["site"]), int(snapshot["version"])
            self._publish(self.topic_of(site), list_snapshot.encode(snapshot))
            self.published[site] = done[site] = version
            log.info("lists of %s: version %d published", site, version)
        return done

    def expire(self) -> int:
        """End the bans that are over now (at most every ``expire_every_s``); how many."""
        now = self.clock()
        if self._expired_at is not None and (
            (now - self._expired_at).total_seconds() < self.expire_every_s
        ):
            return 0
        self._expired_at = now
        with self.sessions.begin() as session:
            count = expire_bans(session, now)
        if count:
            log.info("lists: %d bans ended", count)
        return count

    def start(self, every_s: float = 2.0) -> None:
        """Check for changes every ``every_s`` seconds on a thread of its own."""
        self._thread = threading.Thread(
            target=self._run, args=(every_s,), name="lists", daemon=True
        )
        self._thread.start()

    def _run(self, every_s: float) -> None:
        while not self._stop.is_set():
            try:
                self.expire()
                self.publish_if_changed()
            except Exception:  # the database away: try again, keep running
                log.exception("lists: could not publish the snapshot")
            self._stop.wait(every_s)

    def stop(self) -> None:
        """End the thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2.0)


class ListReceiver:
    """Applies snapshots from the bus to this controller's own database and its lookups."""

    def __init__(self, sessions: sessionmaker[Session], lists: LocalLists | None = None) -> None:
        self.sessions, self.lists = sessions, lists
        self._worker = ThreadPoolExecutor(1, thread_name_prefix="lists")

    def on_message(self, _topic: str, payload: bytes) -> None:
        """The bus's callback: hand the payload to the worker."""
        self.submit(payload)

    def submit(self, payload: bytes) -> Future[bool]:
        """Apply ``payload`` on the worker; the future tells whether it was applied."""
        return self._worker.submit(self.apply, payload)

    def apply(self, payload: bytes) -> bool:
        """Apply one payload; False when it was not newer or not usable (the copy stays)."""
        if not payload:
            return False  # the retained snapshot was cleared: keep deciding from the copy
        try:
            snapshot = list_snapshot.decode(payload)
            try:
                index = build_index(snapshot)  # before the database: a bad one changes nothing
            except (KeyError, TypeError, ValueError) as exc:
                raise list_snapshot.SnapshotError(
                    f"lists snapshot {snapshot['version']}: {exc!r}"
                ) from None
            with self.sessions.begin() as session:
                applied = list_snapshot.apply(session, snapshot)
        except list_snapshot.SnapshotError as exc:
            log.error("lists: %s; the copy held stays", exc)
            return False
        if applied:
            if self.lists is not None:
                self.lists.use(index)
            log.info("lists version %d applied", snapshot["version"])
        return applied

    def version(self) -> int:
        """The version of the copy held here."""
        with self.sessions() as session:
            return current_version(session)

    def close(self) -> None:
        """Finish the snapshot being applied and end the worker."""
        self._worker.shutdown(wait=True)
