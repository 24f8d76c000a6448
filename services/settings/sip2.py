"""``[sip2]``: the library system over SIP2."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from services.settings.base import _Model
from services.settings.paths import ConfigPath, SecretFile

# Also the SIP2 adapter's own defaults (services.sip2.client, .health, .directory).
TIMEOUT_S = 1.5
HEALTH_INTERVAL_S = 5.0
HEALTH_RISE = 3
IDLE_LIMIT_S = 30.0  # below SIPServer's 60 s


class Sip2Settings(_Model):
    """The library system over SIP2 (used when ``patrons.directory = "sip2"`` and by the kiosk)."""

    transport: Literal["tcp", "fbs-https"] = Field(
        "tcp", description="raw SIP2 on TCP (Koha, Evergreen, FOLIO) or FBS's SIP2 over HTTPS"
    )
    host: str = Field("127.0.0.1", description="tcp: the SIP2 server")
    port: int = Field(6001, ge=1, le=65535, description="tcp: the SIP2 port")
    tls: bool = Field(False, description="tcp: wrap the stream in TLS (e.g. an stunnel front)")
    tls_ca_file: ConfigPath | None = Field(
        None, description="CA to trust for TLS; default: system CAs"
    )
    fbs_url: str = Field("", description="fbs-https: base URL, e.g. https://cicero-fbs.com")
    agency: str = Field("", description="fbs-https: agency number, 761500 or DK-761500")
    institution_id: str = Field("", description="AO; default: the agency (DK-…) or empty")
    login_user: str = Field("", description="tcp: 93 login user (CN); fbs-https: login")
    password_file: SecretFile | None = Field(None, description="file holding the login password")
    location_code: str = Field("", description="tcp: 93 location code (CP)")
    charset: Literal["utf-8", "latin-1", "cp850"] = "utf-8"
    error_detection: bool = Field(True, description="tcp: AY sequence + AZ checksum")
    timeout_s: float = Field(TIMEOUT_S, gt=0, le=30, description="per request; the door's wait")
    offline_days: int = Field(14, ge=0, le=90, description="how long a validation is kept")
    refusal_minutes: int = Field(5, ge=0, le=60, description="how long a refusal is kept")
    health_interval_s: float = Field(HEALTH_INTERVAL_S, gt=0, description="99 SC Status every …")
    health_rise: int = Field(
        HEALTH_RISE, ge=1, description="good answers in a row before online again"
    )
    idle_limit_s: float = Field(
        IDLE_LIMIT_S,
        gt=0,
        description="a connection unused this long is replaced (SIPServer drops idle ones at 60 s)",
    )
    deny_flags: tuple[str, ...] = Field(
        ("charge_privileges_denied",), description="patron status flags that keep the door shut"
    )

    @model_validator(mode="after")
    def _complete(self) -> Sip2Settings:
        fbs_ready = self.fbs_url.startswith("https://") and bool(self.agency)
        if self.transport == "fbs-https" and not fbs_ready:
            raise ValueError("transport fbs-https needs fbs_url (https://…) and agency")
        return self
