"""Settings' common ground: the error every process reports, and the strict base model."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ConfigError(Exception):
    """Settings that cannot be used; the message names the file, the key and the problem."""


class _Model(BaseModel):
    # Defaults and default sections are validated too, so a default path is anchored like a
    # written one (services.settings.paths).
    model_config = ConfigDict(
        extra="forbid", frozen=True, validate_default=True, revalidate_instances="always"
    )
