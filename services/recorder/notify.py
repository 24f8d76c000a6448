"""Alarms out of the building, off the recorder's thread: e-mail (SMTP), a JSON webhook, and
Apprise (SMS gateways, Teams, Slack, ntfy, … where the on-call person is).

A notice is queued and sent by one worker thread, each channel tried ``attempts`` times with a
doubling wait, so a slow mail server never holds up recording. Each channel takes the severities
it is configured for (e-mail and webhook: critical). Every attempt's outcome is handed to
``record`` (the recorder stores it in ``alarm_notifications``, where staff see it), and logged
with the alarm and the channel, never with a card number (a notice carries none).
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

from services.runtime.mail import deliver
from services.settings import AlarmSettings, AppriseSettings, EmailSettings, WebhookSettings
from services.settings.paths import read_secret

log = logging.getLogger(__name__)

Sender = Callable[["AlarmNotice"], None]
CRITICAL_ONLY = frozenset({"critical"})


@dataclass(frozen=True, slots=True)
class Channel:
    """A way out: how to send, and which severities go this way."""

    send: Sender
    severities: frozenset[str] = CRITICAL_ONLY


@dataclass(frozen=True, slots=True)
class Delivery:
    """One attempt to send one alarm by one channel: ``sent``, ``retrying`` or ``failed``."""

    alarm_id: int
    channel: str
    outcome: str
    attempt: int
    error: str | None
    at: datetime


Record = Callable[[Delivery], None]


@dataclass(frozen=True, slots=True)
class AlarmNotice:
    """What a notification says about one alarm."""

    alarm_id: int
    site: str
    site_name: str
    kind: str
    source: str
    severity: str
    message: str
    raised_at: datetime

    def to_json(self) -> dict[str, Any]:
        """The webhook's JSON body."""
        data = asdict(self)
        data["raised_at"] = self.raised_at.isoformat()
        return data


def render_email(notice: AlarmNotice, settings: EmailSettings) -> EmailMessage:
    """The e-mail for ``notice``: subject with site and alarm, body with the details."""
    msg = EmailMessage()
    msg["Subject"] = f"[aabent {notice.site_name}] ALARM: {notice.message}"
    msg["From"] = settings.sender
    msg["To"] = ", ".join(settings.to)
    msg.set_content(
        f"{notice.message}\n\n"
        f"Filial: {notice.site_name} ({notice.site})\n"
        f"Alarm: {notice.kind} ({notice.severity})\n"
        f"Kilde: {notice.source}\n"
        f"Tidspunkt: {notice.raised_at.isoformat()}\n"
        f"Alarm-id: {notice.alarm_id}\n\n"
        "Kvittér for alarmen i personaleoversigten.\n"
    )
    return msg


def send_email(settings: EmailSettings, notice: AlarmNotice) -> None:
    """Send the notice by SMTP (STARTTLS and login when configured); raises on failure."""
    deliver(settings, render_email(notice, settings))


def post_webhook(settings: WebhookSettings, notice: AlarmNotice) -> None:
    """POST the notice as JSON; raises on a network error or a non-2xx answer."""
    headers = {"Content-Type": "application/json", "User-Agent": "aabent-recorder"}
    token = read_secret(settings.token_file, "alarms.webhook.token_file")
    if token:
        headers["Authorization"] = f"Bearer {token}"
    body = json.dumps(notice.to_json(), ensure_ascii=False).encode()
    request = urllib.request.Request(settings.url, data=body, headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=settings.timeout_s) as response:
        # urlopen raises HTTPError for 4xx/5xx; a 1xx/3xx that ends here is not a delivery either.
        if not 200 <= response.status < 300:
            raise OSError(f"webhook answered {response.status}")


def apprise_urls(settings: AppriseSettings) -> list[str]:
    """The Apprise URLs of the secret file, one a line, comments and blanks skipped."""
    text = read_secret(settings.urls_file, "alarms.apprise.urls_file") or ""
    lines = (line.strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def send_apprise(settings: AppriseSettings, notice: AlarmNotice) -> None:
    """Send the notice to every Apprise URL; raises unless every one took it."""
    import apprise  # the server extra's; imported only when the channel is used

    sender = apprise.Apprise(asset=apprise.AppriseAsset(async_mode=False))
    for url in apprise_urls(settings):
        if not sender.add(url):
            raise ValueError("alarms.apprise.urls_file: a line is not an Apprise URL")
    title = f"[aabent {notice.site_name}] {notice.message}"
    body = (
        f"{notice.message}\n{notice.source} · {notice.raised_at.isoformat()} · #{notice.alarm_id}"
    )
    if not sender.notify(title=title, body=body):
        raise OSError("apprise: not every service took the notice")


def channels(settings: AlarmSettings) -> dict[str, Channel]:
    """The configured channels by name: "email", "webhook" and/or "apprise"."""
    out: dict[str, Channel] = {}
    if settings.email.host and settings.email.to:
        out["email"] = Channel(lambda notice: send_email(settings.email, notice))
    if settings.webhook.url:
        out["webhook"] = Channel(lambda notice: post_webhook(settings.webhook, notice))
    if settings.apprise.urls_file is not None:
        out["apprise"] = Channel(
            lambda notice: send_apprise(settings.apprise, notice),
            frozenset(settings.apprise.severities),
        )
    return out


def _channels(senders: Mapping[str, Channel | Sender]) -> dict[str, Channel]:
    return {name: c if isinstance(c, Channel) else Channel(c) for name, c in senders.items()}


class Notifier:
    """Sends notices on its own thread through every channel, retrying each a few times."""

    def __init__(
        self,
        senders: Mapping[str, Channel | Sender],
        *,
        attempts: int = 4,
        retry_seconds: float = 5.0,
        record: Record | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        per_site: Mapping[str, Mapping[str, Channel | Sender]] | None = None,
    ) -> None:
        self.senders = _channels(senders)
        # A branch with its own on-call addresses: its alarms go there instead of the defaults.
        self.per_site = {site: _channels(c) for site, c in (per_site or {}).items()}
        self._record = record
        self._clock = clock
        self.attempts = attempts
        self.retry_seconds = retry_seconds
        names = {n for c in (self.senders, *self.per_site.values()) for n in c}
        self.sent: dict[str, int] = dict.fromkeys(names, 0)
        self.failed: dict[str, int] = dict.fromkeys(names, 0)
        self._queue: queue.Queue[AlarmNotice | None] = queue.Queue()
        self._stopping = threading.Event()
        self._idle = threading.Condition()
        self._pending = 0
        self._thread = threading.Thread(target=self._run, name="alarm-notifier", daemon=True)

    @classmethod
    def from_settings(
        cls,
        settings: AlarmSettings,
        record: Record | None = None,
        branches: Mapping[str, AlarmSettings] | None = None,
    ) -> Notifier:
        """A notifier with the channels and retry policy of ``[alarms]``, and the channels of
        each branch that has its own (``Settings.alarms_for``)."""
        return cls(
            channels(settings),
            attempts=settings.attempts,
            retry_seconds=settings.retry_seconds,
            record=record,
            per_site={site: channels(a) for site, a in (branches or {}).items()},
        )

    def channels_of(self, site: str) -> Mapping[str, Channel]:
        """The channels ``site``'s alarms go out by."""
        return self.per_site.get(site, self.senders)

    def start(self) -> None:
        """Start the sending thread."""
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Send what is queued (retry waits are cut short), then end the thread."""
        self._stopping.set()
        self._queue.put(None)
        if self._thread.is_alive():
            self._thread.join(timeout)

    def notify(self, notice: AlarmNotice) -> None:
        """Queue ``notice`` for the channels that take its severity; returns at once."""
        if not any(notice.severity in c.severities for c in self.channels_of(notice.site).values()):
            return
        with self._idle:
            self._pending += 1
        self._queue.put(notice)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until every queued notice was sent or given up; False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def _run(self) -> None:
        while True:
            notice = self._queue.get()
            if notice is None:
                return
            for name, channel in self.channels_of(notice.site).items():
                if notice.severity in channel.severities:
                    self._deliver(name, channel.send, notice)
            with self._idle:
                self._pending -= 1
                self._idle.notify_all()

    def _deliver(self, name: str, sender: Sender, notice: AlarmNotice) -> None:
        delay = self.retry_seconds
        for attempt in range(1, self.attempts + 1):
            try:
                sender(notice)
            except Exception as exc:  # one failing channel must not stop the others
                log.warning(
                    "alarm %s (%s): %s attempt %d/%d failed: %s",
                    notice.alarm_id,
                    notice.kind,
                    name,
                    attempt,
                    self.attempts,
                    exc,
                )
                last = attempt == self.attempts
                self._note(notice, name, "failed" if last else "retrying", attempt, str(exc))
                if attempt < self.attempts:
                    self._stopping.wait(delay)  # a stop cuts the wait short, not the attempts
                    delay *= 2
                continue
            self.sent[name] += 1
            self._note(notice, name, "sent", attempt, None)
            log.info("alarm %s (%s) sent by %s", notice.alarm_id, notice.kind, name)
            return
        self.failed[name] += 1
        log.error(
            "alarm %s (%s): %s given up after %d attempts",
            notice.alarm_id,
            notice.kind,
            name,
            self.attempts,
        )

    def _note(
        self, notice: AlarmNotice, channel: str, outcome: str, attempt: int, error: str | None
    ) -> None:
        if self._record is None:
            return
        delivery = Delivery(
            notice.alarm_id, channel, outcome, attempt, error and error[:300], self._clock()
        )
        try:
            self._record(delivery)
        except Exception:  # the audit's database may be away: the sending goes on
            log.exception("could not record the delivery of alarm %s", notice.alarm_id)
