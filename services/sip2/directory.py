"""The library system as a :class:`~services.core.patrons.PatronDirectory`, and the kiosk's account.

``authenticate`` asks 63 Patron Information (no item list: status flags, BL, CQ, name and the PB
birth date in one round trip) within ``timeout_s``. Whatever the library system answers is kept
in the offline cache (:mod:`services.sip2.cache`); when it does not answer, the cache decides, and
a card the cache cannot vouch for gets ``Authentication(patron=None, reachable=False)``.

While :class:`~services.sip2.health.Health` says offline, a swipe does not wait for the network:
the cache answers at once, and only a card it cannot answer gets a short probe (``probe_s``).
Every flip between online and offline is an event (``sip2.offline`` / ``sip2.online``). Only an
outage moves the health state (a timeout, a lost connection, the health checks themselves); a
reply that fails its checks for one card is that swipe's failure, and the next card is asked as
usual. Back online is the health checks' call alone.

On a card-only site (``pin_required=False``) the card alone decides at the door: a PIN typed
anyway is neither sent to the library system nor checked against the cache.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import sessionmaker

from services.core.account import Fines, HoldResult, Loan, RenewResult, Reservation, Standing
from services.core.credentials import Credential, SiteKey
from services.core.events import Event, EventType
from services.core.patrons import Authentication, PatronStatus, PinCheck
from services.settings.sip2 import HEALTH_INTERVAL_S, HEALTH_RISE, TIMEOUT_S
from services.sip2 import account, cache, standing
from services.sip2.account import Entry
from services.sip2.client import Sip2Client
from services.sip2.errors import OutcomeUnknown, PatronRefused, Sip2Unavailable
from services.sip2.health import Health, HealthMonitor
from services.sip2.replies import PatronReply
from services.sip2.requests import HoldMode, Summary

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
        pin_required: bool = True,
        source: str = "sip2",
    ) -> None:
        standing.check_deny_flags(deny_flags)
        self._client, self._key, self._on_event, self._clock = client, site_key, on_event, clock
        self._timeout_s, self._probe_s, self._account_s = timeout_s, probe_s, account_timeout_s
        self._offline_ttl, self._refusal_ttl = offline_ttl, refusal_ttl
        self._deny, self._source = frozenset(deny_flags), source
        self._pin_required = pin_required
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
        pin = None if standing.blank(pin) or not self._pin_required else pin
        timeout = self._timeout_s
        if not self.health.online:
            cached = self._recall(credential, pin)
            if cached is not None:
                return cached
            timeout = min(self._probe_s, self._timeout_s)
        try:
            reply = self._client.patron_information(credential.number, pin, timeout=timeout)
        except Sip2Unavailable as exc:
            if exc.outage:
                self.health.failure(str(exc))
            else:  # this card's answer, not the system: the next card is asked as usual
                log.warning("no usable answer for one card: %s", exc)
            return self._recall(credential, pin) or UNREACHABLE
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

    def _info(
        self, credential: Credential, pin: str | None, summary: Summary | None
    ) -> PatronReply:
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
        """Renew one item; a refusal carries the library system's own reason (AF).

        When the renewal went out and no believable answer came, the result says the outcome is
        unknown, with the due date read again (17 Item Information) where that works.
        """
        try:
            reply = self._client.renew(credential.number, pin, item_id, timeout=self._account_s)
        except OutcomeUnknown as exc:
            log.warning("renewal outcome unknown: %s", exc)
            return self._renewal_unknown(item_id)
        if reply.ok:
            return RenewResult(item_id, True, reply.due, None, reply.title)
        reason = _words(reply.screen_messages) or "the library system refused the renewal"
        return RenewResult(item_id, False, None, reason, reply.title)

    def _renewal_unknown(self, item_id: str) -> RenewResult:
        try:
            info = self._client.item_information(item_id, timeout=self._account_s)
        except Sip2Unavailable:
            return RenewResult(item_id, False, unknown=True)
        return RenewResult(item_id, False, info.due, None, info.title, unknown=True)

    def renew_all(self, credential: Credential, pin: str | None) -> list[RenewResult]:
        """Renew every loan; one result per item, refusals with their reasons.

        The item lists are believed only when the reply says ok (a failed 66 may carry anything:
        SIPServer sends ``ARRAY(0x…)``); each item counts once; due dates and titles come from
        the loans read again afterwards. An unknown outcome marks every loan unknown.
        """
        try:
            reply = self._client.renew_all(credential.number, pin, timeout=self._account_s)
        except OutcomeUnknown as unknown:
            log.warning("renew all outcome unknown: %s", unknown)
            try:
                loans = self.loans(credential, pin)
            except Sip2Unavailable:
                raise unknown from None  # not "unreachable": the renewals may have been done
            return [
                RenewResult(loan.item_id, False, loan.due, None, loan.title, unknown=True)
                for loan in loans
            ]
        general = _words(reply.screen_messages) or None
        if not reply.ok:
            why = general or "the library system refused to renew"
            return [
                RenewResult(loan.item_id, False, loan.due, why, loan.title)
                for loan in self.loans(credential, pin)
            ]
        try:
            now = {loan.item_id: loan for loan in self.loans(credential, pin)}
        except Sip2Unavailable:  # the renewals stand; only the fresh due dates are missing
            now = {}
        out: dict[str, RenewResult] = {}
        for text in reply.renewed:
            e = account.item_entry(text)
            loan = now.get(e.item_id)
            due, title = (loan.due, loan.title) if loan else (e.due, e.title)
            out.setdefault(e.item_id, RenewResult(e.item_id, True, due, None, title))
        for text in reply.unrenewed:
            e = account.unrenewed_entry(text)
            loan = now.get(e.item_id)
            due, title = (loan.due, loan.title) if loan else (e.due, e.title)
            why = e.reason or general or "not renewed"
            out.setdefault(e.item_id, RenewResult(e.item_id, False, due, why, title))
        out.pop("", None)
        return list(out.values())

    def fines(self, credential: Credential, pin: str | None) -> Fines:
        """What the patron owes (BV amount, BH currency) and the fine items (AV)."""
        reply = self._info(credential, pin, Summary.FINE_ITEMS)
        owed = reply.fee_amount if reply.fee_amount else None
        return Fines(owed, reply.currency, reply.fine_items)

    def reserve(self, credential: Credential, pin: str | None, record_id: str) -> HoldResult:
        """15 Hold ``+`` on the title (AJ, hold type 2: any copy); the queue position (BR) and
        the refusal in the library system's own words (AF). A lost reply raises OutcomeUnknown
        (the hold may have been placed: never resent)."""
        reply = self._client.hold(
            credential.number, pin, HoldMode.ADD, title=record_id, timeout=self._account_s
        )
        if reply.ok:
            return HoldResult(True, reply.queue_position, reply.available)
        reason = _words(reply.screen_messages) or "the library system refused the reservation"
        return HoldResult(False, reason=reason)

    def cancel_reservation(
        self, credential: Credential, pin: str | None, item_id: str
    ) -> HoldResult:
        """15 Hold ``-`` on the item the reservation was listed with (AS/CD)."""
        reply = self._client.hold(
            credential.number, pin, HoldMode.DELETE, item=item_id, timeout=self._account_s
        )
        if reply.ok:
            return HoldResult(True)
        reason = _words(reply.screen_messages) or "the library system refused the cancellation"
        return HoldResult(False, reason=reason)

    def standing(self, credential: Credential, pin: str | None) -> Standing:
        """The patron status flags as the door reads them (lost, blocked by the deny flags).
        SIP2 has no expiry field; a library system shows an expired card as blocked."""
        reply = self._info(credential, pin, None)
        return Standing(standing.status_of(reply.flags, self._deny), email=reply.email)

    def end_session(self, credential: Credential, pin: str | None) -> None:
        """Tell the library system the kiosk is done with this patron (35 End Patron Session)."""
        self._client.end_patron_session(credential.number, pin, timeout=self._account_s)


def _words(messages: tuple[str, ...]) -> str:
    """Screen messages as one line: a staff note's raw CR LF is not for the patron's screen."""
    return " ".join(" ".join(messages).split())
