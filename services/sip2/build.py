"""Build the SIP2 client and directory from settings: the one place that reads ``[sip2]``.

A process builds one client and keeps it (one logged-in connection per process); the door
controller, the kiosk and the server all go through :func:`build_directory` when
``patrons.directory = "sip2"``.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from services.core.credentials import SiteKey
from services.core.events import Event
from services.settings import ConfigError, Settings, Sip2Settings
from services.settings.paths import read_secret
from services.sip2 import fbs
from services.sip2.client import Sip2Client
from services.sip2.directory import Sip2Directory
from services.sip2.requests import Terminal
from services.sip2.transport import FbsHttpsTransport, TcpTransport, Transport


def read_password(path: Path | None) -> str:
    """The login password from ``path`` (systemd's credential of that name first), or ""."""
    return read_secret(path, "sip2.password_file") or ""


def tls_context(s: Sip2Settings) -> ssl.SSLContext:
    """A verifying client context; ``tls_ca_file`` replaces the system CAs (a private ACS CA)."""
    try:
        return ssl.create_default_context(cafile=str(s.tls_ca_file) if s.tls_ca_file else None)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"sip2.tls_ca_file: {s.tls_ca_file}: {exc}") from None


def institution_id(s: Sip2Settings) -> str:
    """AO: the configured institution, else the FBS agency (``DK-761500``), else empty."""
    if s.institution_id:
        return s.institution_id
    return fbs.agency_id(s.agency) if s.agency else ""


def build_transport(s: Sip2Settings, password: str) -> Transport:
    """The transport ``s.transport`` names."""
    if s.transport == "fbs-https":
        try:
            url = fbs.endpoint(s.fbs_url, s.agency)
        except ValueError as exc:
            raise ConfigError(f"sip2.agency: {exc}") from None
        return FbsHttpsTransport(url, s.login_user, password, tls=tls_context(s), charset=s.charset)
    return TcpTransport(s.host, s.port, tls=tls_context(s) if s.tls else None)


def site_clock(settings: Settings) -> Callable[[], datetime]:
    """Now, in the site's time zone (SIP2 transaction dates are local time)."""
    zone = ZoneInfo(settings.site.timezone)
    return lambda: datetime.now(zone)


def build_client(settings: Settings) -> Sip2Client:
    """The process's SIP2 client, not yet connected (it connects on first use)."""
    s = settings.sip2
    password = read_password(s.password_file)
    tcp_login = s.transport == "tcp" and bool(s.login_user)
    return Sip2Client(
        build_transport(s, password),
        Terminal(institution_id(s)),
        charset=s.charset,
        login=(s.login_user, password) if tcp_login else None,
        location_code=s.location_code,
        error_detection=s.error_detection,
        timeout_s=s.timeout_s,
        idle_limit_s=s.idle_limit_s,
        clock=site_clock(settings),
    )


def build_directory(
    settings: Settings,
    *,
    engine: Engine,
    site_key: SiteKey,
    on_event: Callable[[Event], None],
    client: Sip2Client | None = None,
    source: str = "sip2",
) -> Sip2Directory:
    """The :class:`Sip2Directory` of ``settings``; call ``start()`` to begin health checks."""
    s = settings.sip2
    try:
        return Sip2Directory(
            client or build_client(settings),
            engine=engine,
            site_key=site_key,
            on_event=on_event,
            clock=site_clock(settings),
            timeout_s=s.timeout_s,
            offline_ttl=timedelta(days=s.offline_days),
            refusal_ttl=timedelta(minutes=s.refusal_minutes),
            health_interval_s=s.health_interval_s,
            health_rise=s.health_rise,
            deny_flags=s.deny_flags,
            pin_required=settings.access.pin_required,
            source=source,
        )
    except ValueError as exc:
        raise ConfigError(f"sip2.deny_flags: {exc}") from None
