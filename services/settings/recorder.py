"""``[recorder]``: the server's recorder."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from services.settings.base import _Model


class RecorderSettings(_Model):
    """The server's recorder: write batching, Home Assistant discovery and the daily purge."""

    all_sites: bool = Field(
        False,
        description="record every site under mqtt.prefix (a municipality's central server), "
        "not only site.id",
    )
    instance: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{0,32}$")] = Field(
        "",
        description="tells apart recorders sharing one database (each its own broker session)",
    )
    batch_size: int = Field(500, ge=1, le=10000, description="events per commit at most")
    linger_ms: float = Field(
        20.0,
        ge=0,
        le=1000,
        description="an idle writer waits this long after a message for more to commit with it",
    )
    self_resolved_minutes: float = Field(
        5.0, ge=0, description="an outage over within this acknowledges itself (a restart)"
    )
    max_payload_bytes: int = Field(65536, ge=1024, description="larger messages are rejected")
    homeassistant_discovery: bool = Field(True, description="publish Home Assistant discovery")
    discovery_prefix: str = Field("homeassistant", description="Home Assistant's MQTT prefix")
    health_every_s: float = Field(
        30.0,
        gt=0,
        le=3600,
        description="how often the recorder writes its counters for the dashboard (health/...)",
    )
    retention_at: Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")] = Field(
        "03:30", description="local time of the daily retention purge"
    )

    @property
    def health_stale_s(self) -> float:
        """A recorder's health row older than this is stale: it missed three reports."""
        return HEALTH_STALE_PERIODS * self.health_every_s


HEALTH_STALE_PERIODS = 3  # reports a recorder may miss before the dashboard says so
