"""The library system as a :class:`~services.core.patrons.PatronDirectory`, and the kiosk's account.

``authenticate`` asks 63 Patron Information (no item list: status flags, BL, CQ, name and the PB
birth date in one round trip) within ``timeout_s``. Whatever the library system answers is kept
in the offline cache (:mod:`services.sip2.cache`); when it does not answer, the cache decides, and
a card the cache cannot vouch for gets ``Authentication(patron=None, reachable=False)``.

While :class:`~services.sip2.health.Health` says offline, a swipe does not wait for the network:
the cache answers at once, and only a card it cannot answer gets a short probe (``probe_s``).
Every flip between online and offline is an event (``sip2.offline`` / ``sip2.online``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import sessionmaker

from services.core.account import Loan, RenewResult, Reservation
from services.core.credentials import Credential, SiteKey
from services.core.events import Event, EventType
from services.core.patrons import Authentication, PatronStatus, PinCheck
from services.settings.sip2 import HEALTH_INTERVAL_S, HEALTH_RISE, TIMEOUT_S
from services.sip2 import account, cache, standing
from services.sip2.account import Entry
from services.sip2.client import Sip2Client
from services.sip2.errors import PatronRefused, Sip2Unavailable
from services.sip2.health import Health, HealthMonitor
from services.sip2.replies import PatronReply
from services.sip2.requests import Summary

log = logging.getLogger(__name__)

UNREACHABLE = Authentication(patron=None, pin=PinCheck.NOT_GIVEN, reachable=False)


class Sip2Directory:
    """Card + PIN checked by the library system over SIP2, with an offline fallback."""

    def __init__(
        self,
        client: Sip2Client,
        *,
        engine: Engine,
        site_key: SiteKey,
        on_event: Callable[[Event], None],
        clock: Callable[[], datetime],
        timeout_s: float = TIMEOUT_S,
        offline_ttl: timedelta = timedelta(days=14),
        refusal_ttl: timedelta = timedelta(minutes=5),
        probe_s: float = 0.25,
        account_timeout_s: float = 5.0,
        health_interval_s: float = HEALTH_INTERVAL_S,
        health_rise: int = HEALTH_RISE,
        deny_flags: Collection[str] = standing.DEFAULT_DENY_FLAGS,
        source: str = "sip2",
    ) -> None:
        standing.check_deny_flags(deny_flags)
        self._client, self._key, self._on_event, self._clock = client, site_key, on_event, clock
        self._timeout_s, self._probe_s, self._account_s = timeout_s, probe_s, account_timeout_s
        self._offline_ttl, self._refusal_ttl = offline_ttl, refusal_ttl
        self._deny, self._source = frozenset(deny_flags), source
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self.health = Health(rise=health_rise, on_change=self._health_changed)
        self.monitor = HealthMonitor(
            client, self.health, interval_s=health_interval_s, timeout_s=timeout_s
        )
        self._writes = 0

    @property
    def client(self) -> Sip2Client:
        """The SIP2 client this directory asks through."""
        return self._client

    def start(self) -> None:
        """Start the health checks (99 SC Status every ``health_interval_s``)."""
        self.monitor.start()

    def close(self) -> None:
        """Stop the health checks and drop the connection."""
        self.monitor.stop()
        self._client.close()

    # -- the door -------------------------------------------------------------------------------

    def authenticate(self, credential: Credential, pin: str | None) -> Authentication:
        """Who holds ``credential`` and whether ``pin`` is theirs; never raises for the network."""
        pin = None if standing.blank(pin) else pin
        timeout = self._timeout_s
        if not self.health.online:
            cached = self._recall(credential, pin)
            if cached is not None:
                return cached
            timeout = min(self._probe_s, self._timeout_s)
        try:
            reply = self._client.patron_information(credential.number, pin, timeout=timeout)
        except Sip2Unavailable as exc:
            self.health.failure(str(exc))
            return self._recall(credential, pin) or UNREACHABLE
        self.health.success()
        patron_id = "sip2:" + self._key.pseudonym(credential)
        auth = standing.authentication(reply, credential, pin, patron_id, self._deny)
        try:
            self._keep(credential, pin, auth)
        except SQLAlchemyError:  # the answer stands; only the offline copy is missing
            log.exception("could not keep the library system's answer for offline use")
        return auth

    def _recall(self, credential: Credential, pin: str | None) -> Authentication | None:
        try:
            with self._sessions() as session:
                return cache.recall(session, self._key, credential, pin, self._clock())
        except SQLAlchemyError:
            log.exception("the offline cache cannot be read")
            return None

    def _keep(self, credential: Credential, pin: str | None, auth: Authentication) -> None:
        now, key = self._clock(), self._key
        with self._sessions.begin() as session:
            if auth.patron is None:
                cache.remember_unknown(session, key, credential, now, self._refusal_ttl)
            elif auth.pin is PinCheck.WRONG:
                # A PIN the library system now refuses must stop working offline as well.
                cached = cache.recall(session, key, credential, pin, now)
                if cached is not None and cached.pin is PinCheck.OK:
                    cache.forget(session, key, credential)
            else:
                accepted = pin if auth.pin is PinCheck.OK else None
                active = auth.patron.status is PatronStatus.ACTIVE
                ttl = self._offline_ttl if active else self._refusal_ttl
                cache.remember(session, key, credential, accepted, auth.patron, now, ttl)
            self._writes += 1
            if self._writes % 200 == 0:
                cache.purge_expired(session, now)

    def _health_changed(self, online: bool, reason: str) -> None:
        kind = EventType.SIP2_ONLINE if online else EventType.SIP2_OFFLINE
        try:
            self._on_event(Event(type=kind, source=self._source, ts=self._clock(), reason=reason))
        except Exception:  # a failing event sink must not stop the door deciding
            log.exception("could not deliver the %s event", kind)

    # -- the kiosk ------------------------------------------------------------------------------

    def _info(self, credential: Credential, pin: str | None, summary: Summary) -> PatronReply:
        reply = self._client.patron_information(
            credential.number, pin, summary, timeout=self._account_s
        )
        if reply.valid_patron is not True or standing.blank(pin) or not reply.valid_password:
            wrong_pin = reply.valid_patron is True and not standing.blank(pin)
            message = "the library system does not accept this card and PIN"
            raise PatronRefused(message, wrong_pin=wrong_pin)
        return reply

    def _complete(self, entry: Entry) -> Entry:
        if entry.complete or not entry.item_id:
            return entry
        info = self._client.item_information(entry.item_id, timeout=self._account_s)
        return Entry(entry.item_id, entry.title or info.title, entry.due or info.due, entry.reason)

    def loans(self, credential: Credential, pin: str | None) -> list[Loan]:
        """The patron's loans with due dates, overdue ones marked; raises Sip2Unavailable."""
        charged = self._info(credential, pin, Summary.CHARGED_ITEMS).charged_items
        overdue: tuple[str, ...] = ()
        if charged:
            overdue = self._info(credential, pin, Summary.OVERDUE_ITEMS).overdue_items
        entries = [self._complete(account.item_entry(text)) for text in charged]
        late = {account.item_entry(text).item_id for text in overdue}
        return account.loans(entries, late, self._clock().date())

    def reservations(self, credential: Credential, pin: str | None) -> list[Reservation]:
        """Reservations, those ready for pickup first."""
        ready = self._info(credential, pin, Summary.HOLD_ITEMS).hold_items
        waiting = self._info(credential, pin, Summary.UNAVAILABLE_HOLDS).unavailable_holds
        out = [account.hold_entry(t, ready=True) for t in ready]
        out += [account.hold_entry(t, ready=False) for t in waiting]
        return [self._titled(r) for r in out]

    def _titled(self, reservation: Reservation) -> Reservation:
        if reservation.title:
            return reservation
        info = self._client.item_information(reservation.item_id, timeout=self._account_s)
        if not info.title:
            return reservation  # a title-level hold the ACS cannot describe as an item
        return Reservation(
            reservation.item_id,
            info.title,
            reservation.ready,
            reservation.pickup_location,
            reservation.pickup_number,
            reservation.pickup_by,
        )

    def renew(self, credential: Credential, pin: str | None, item_id: str) -> RenewResult:
        """Renew one item; a refusal carries the library system's own reason (AF)."""
        reply = self._client.renew(credential.number, pin, item_id, timeout=self._account_s)
        if reply.ok:
            return RenewResult(item_id, True, reply.due, None, reply.title)
        reason = " ".join(reply.screen_messages) or "the library system refused the renewal"
        return RenewResult(item_id, False, None, reason, reply.title)

    def renew_all(self, credential: Credential, pin: str | None) -> list[RenewResult]:
        """Renew every loan; one result per item, refusals with their reasons."""
        reply = self._client.renew_all(credential.number, pin, timeout=self._account_s)
        general = " ".join(reply.screen_messages) or None
        if not reply.renewed and not reply.unrenewed and not reply.ok:
            # Refused as a whole (a blocked patron): every loan stays, for the same reason.
            why = general or "the library system refused to renew"
            return [
                RenewResult(loan.item_id, False, loan.due, why, loan.title)
                for loan in self.loans(credential, pin)
            ]
        out = []
        for text in reply.renewed:
            e = self._complete(account.item_entry(text))
            out.append(RenewResult(e.item_id, True, e.due, None, e.title))
        for text in reply.unrenewed:
            e = account.unrenewed_entry(text)
            why = e.reason or general or "not renewed"
            out.append(RenewResult(e.item_id, False, e.due, why, e.title))
        return out

    def end_session(self, credential: Credential, pin: str | None) -> None:
        """Tell the library system the kiosk is done with this patron (35 End Patron Session)."""
        self._client.end_patron_session(credential.number, pin, timeout=self._account_s)
