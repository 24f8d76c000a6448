"""``[site]``: who this branch is and where it keeps its files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator

from services.core.credentials import KEY_BYTES, SiteKey
from services.settings.base import _Model
from services.settings.paths import ConfigPath, read_or_create_secret

# A door controller is `door-<id>` on the bus (status/door-<id>, its broker user, its client id).
ControllerId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,30}$")]


class SiteSettings(_Model):
    """Who this branch is and where it keeps its files."""

    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,40}$")] = "demo"
    name: str = "Demo Bibliotek"
    controller: ControllerId = Field(
        "1", description="this door controller's id: it is door-<id> on the bus"
    )
    timezone: str = "Europe/Copenhagen"
    data_dir: ConfigPath = Path("var")
    key_file: ConfigPath = Field(
        Path("var/site.key"), description="secret for keyed hashes; outside the database"
    )

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    def site_key(self) -> SiteKey:
        """The site key from ``key_file``, made (mode 0600) on first start."""
        return SiteKey(read_or_create_secret(self.key_file, KEY_BYTES))


def door_component(controller: str) -> str:
    """The bus component of door controller ``controller`` (its status topic, its user)."""
    return f"door-{controller}"
