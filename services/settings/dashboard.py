"""``[dashboard]``: the staff dashboard of ``aabent server``."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from services.settings.base import _Model
from services.settings.paths import ConfigPath


class DashboardSettings(_Model):
    """The staff dashboard of ``aabent server``: where it listens, sessions and login throttling."""

    host: str = Field("127.0.0.1", description="listen address; put a TLS proxy in front")
    port: int = Field(8080, ge=1, le=65535)
    secret_file: ConfigPath | None = Field(
        None, description="keys session-token hashes; default data_dir/dashboard.secret"
    )
    session_hours: float = Field(10.0, gt=0, le=168, description="a login lasts at most this")
    idle_minutes: float = Field(60.0, gt=0, description="a session unused this long ends")
    login_max_failures: int = Field(5, ge=1, description="failed logins per user or address ...")
    login_window_minutes: float = Field(15.0, gt=0, description="... within this window: refused")
    forwarded_allow_ips: str = Field(
        "127.0.0.1", description="proxies whose X-Forwarded-Proto is believed (Secure cookies)"
    )
    tls_cert_file: ConfigPath | None = Field(
        None, description="serve HTTPS directly with this cert"
    )
    tls_key_file: ConfigPath | None = None
    feed_size: int = Field(50, ge=1, le=1000, description="events kept in the live feed")
    language: Literal["da", "en"] = Field(
        "da", description="the pages' language until a user picks"
    )
