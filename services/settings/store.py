"""``[store]`` and ``[retention]``: where records live and how long detail is kept."""

from __future__ import annotations

from pydantic import Field

from services.settings.base import _Model
from services.settings.paths import ConfigPath


class StoreSettings(_Model):
    """Where records live: SQLite on a device by default, PostgreSQL for many branches."""

    url: str = Field("", description="SQLAlchemy URL; empty = SQLite in site.data_dir")
    outbox: ConfigPath | None = Field(
        None, description="outbox file; default data_dir/outbox.sqlite"
    )


class RetentionSettings(_Model):
    """How long identifiable detail is kept; counts are kept regardless."""

    days: int = Field(30, ge=1)
