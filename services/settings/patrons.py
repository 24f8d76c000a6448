"""``[patrons]``: which directory answers who a card belongs to."""

from __future__ import annotations

from typing import Literal

from services.settings.base import _Model


class PatronSettings(_Model):
    """Which directory answers who a card belongs to."""

    directory: Literal["local", "sip2"] = "local"
