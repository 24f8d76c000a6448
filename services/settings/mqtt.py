"""``[mqtt]``: the branch's broker."""

from __future__ import annotations

from pydantic import Field, model_validator

from services.settings.base import _Model
from services.settings.paths import ConfigPath, SecretFile


class MqttSettings(_Model):
    """The branch's broker."""

    host: str = "127.0.0.1"
    port: int = Field(1883, ge=1, le=65535)
    prefix: str = "aabent"
    username: str | None = None
    password_file: SecretFile | None = None
    tls_ca_file: ConfigPath | None = Field(
        None,
        description=(
            "the CA that signed the broker's certificate (PEM): set, the client speaks TLS and "
            "checks that the certificate is the broker's (mqtt.host in it); unset, plain TCP"
        ),
    )
    tls_cert_file: ConfigPath | None = Field(
        None, description="the client's own certificate (PEM), for a broker that asks for one"
    )
    tls_key_file: ConfigPath | None = Field(
        None, description="the key of tls_cert_file (PEM; readable by the service only)"
    )
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

    @model_validator(mode="after")
    def _tls_files_together(self) -> MqttSettings:
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError(
                "tls_cert_file and tls_key_file: a client certificate needs both, or neither"
            )
        if self.tls_cert_file is not None and self.tls_ca_file is None:
            raise ValueError(
                "tls_cert_file: a client certificate is sent over TLS only, which needs "
                "tls_ca_file (the CA that signed the broker's certificate)"
            )
        return self

    @property
    def tls(self) -> bool:
        """True when the client speaks TLS to the broker."""
        return self.tls_ca_file is not None
