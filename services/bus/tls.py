"""The MQTT clients' TLS: one context from ``[mqtt]``, for the bus and the identity probe alike."""

from __future__ import annotations

import ssl

from services.settings import MqttSettings
from services.settings.base import ConfigError


def tls_context(settings: MqttSettings) -> ssl.SSLContext | None:
    """The TLS context of ``settings`` (None: plain TCP): the broker's certificate must be signed
    by ``mqtt.tls_ca_file`` and name ``mqtt.host``; the client's own certificate if set."""
    if settings.tls_ca_file is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)  # verifies, checks the name
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_verify_locations(cafile=settings.tls_ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"mqtt.tls_ca_file: {settings.tls_ca_file}: {exc}") from None
    if settings.tls_cert_file is not None:
        try:
            context.load_cert_chain(settings.tls_cert_file, settings.tls_key_file)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(
                f"mqtt.tls_cert_file/tls_key_file: {settings.tls_cert_file}: {exc}"
            ) from None
    return context
