"""``[mqtt]`` TLS: plain on loopback unless a CA is named; a client certificate needs its key and
a CA; files that cannot be used are named with their setting when the bus is made."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.bus.client import MqttBus
from services.bus.presence import find_holder
from services.bus.topics import Topics
from services.settings import ConfigError, MqttSettings, load_settings
from tests.services.settings.test_loading import write


def test_the_default_is_plain_mqtt_on_loopback(tmp_path: Path) -> None:
    s = load_settings(write(tmp_path, ""), environ={}).mqtt
    assert (s.host, s.port, s.tls) == ("127.0.0.1", 1883, False)
    assert s.tls_ca_file is None and s.tls_cert_file is None and s.tls_key_file is None


def test_tls_files_are_anchored_like_every_path(tmp_path: Path) -> None:
    text = '[mqtt]\nport = 8883\ntls_ca_file = "tls/ca.crt"\n'
    text += 'tls_cert_file = "tls/door.crt"\ntls_key_file = "tls/door.key"\n'
    s = load_settings(write(tmp_path, text), environ={}).mqtt
    assert s.tls and s.tls_ca_file == tmp_path / "tls" / "ca.crt"
    assert s.tls_key_file == tmp_path / "tls" / "door.key"


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ('tls_ca_file = "ca.crt"\ntls_cert_file = "c.crt"\n', "tls_cert_file and tls_key_file"),
        ('tls_ca_file = "ca.crt"\ntls_key_file = "c.key"\n', "tls_cert_file and tls_key_file"),
        ('tls_cert_file = "c.crt"\ntls_key_file = "c.key"\n', "needs tls_ca_file"),
    ],
)
def test_a_client_certificate_needs_its_key_and_a_ca(tmp_path: Path, text: str, named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        load_settings(write(tmp_path, "[mqtt]\n" + text), environ={})


def test_a_missing_ca_file_is_named_when_the_bus_is_made(tmp_path: Path) -> None:
    settings = MqttSettings(tls_ca_file=tmp_path / "nowhere.crt")
    with pytest.raises(ConfigError, match=r"mqtt\.tls_ca_file: .*nowhere\.crt"):
        MqttBus(settings, "c", "door-1", Topics("aabent", "x"))
    not_pem = tmp_path / "ca.crt"
    not_pem.write_text("not a certificate\n")
    with pytest.raises(ConfigError, match=r"mqtt\.tls_ca_file: .*ca\.crt"):
        MqttBus(MqttSettings(tls_ca_file=not_pem), "c", "door-1", Topics("aabent", "x"))


def test_the_identity_probe_takes_the_same_tls_settings(tmp_path: Path) -> None:
    settings = MqttSettings(tls_ca_file=tmp_path / "nowhere.crt")
    with pytest.raises(ConfigError, match=r"mqtt\.tls_ca_file: .*nowhere\.crt"):
        find_holder(settings, None, Topics("aabent", "x"), "door-1", "c")
