"""``[mqtt]``: the branch's broker."""

from __future__ import annotations

from pydantic import Field

from services.settings.base import _Model
from services.settings.paths import SecretFile


class MqttSettings(_Model):
    """The branch's broker."""

    host: str = "127.0.0.1"
    port: int = Field(1883, ge=1, le=65535)
    prefix: str = "aabent"
    username: str | None = None
    password_file: SecretFile | None = None
    keepalive: int = Field(30, ge=5)
    reconnect_max_s: int = Field(
        5, ge=1, le=300, description="longest wait between reconnect tries once the broker is gone"
    )
    stall_s: float = Field(
        10.0,
        gt=0,
        description=(
            "a manual-ack client (the recorder) reconnects when the broker has delivered nothing "
            "this long after a probe it sent itself, while it has nothing left to acknowledge"
        ),
    )
    command_max_age_s: float = Field(10.0, gt=0, description="older commands are rejected")
