"""From ``[sip2]`` settings to a client and a directory: transports, secrets, mistakes named."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from services.core.credentials import Credential
from services.core.patrons import PinCheck
from services.settings import ConfigError, Settings, Sip2Settings
from services.sip2.build import build_client, build_directory, read_password
from services.sip2.transport import FbsHttpsTransport, TcpTransport
from tests.services.sip2.conftest import SITE_KEY, Acs


def settings(**sip2: object) -> Settings:
    """Default settings with these ``[sip2]`` keys."""
    return Settings(sip2=Sip2Settings.model_validate(sip2))


def test_fbs_settings_build_an_https_client_for_the_agency_without_login(tmp_path: Path) -> None:
    secret = tmp_path / "fbs.password"
    secret.write_text("pa55\n")
    client = build_client(
        settings(
            transport="fbs-https",
            fbs_url="https://fbs.example",
            agency="761500",
            login_user="door-1",
            password_file=secret,
        )
    )
    assert isinstance(client.transport, FbsHttpsTransport)
    assert client.transport.url == "https://fbs.example/rest/sip2/DK-761500"
    assert client.terminal.institution_id == "DK-761500"


def test_fbs_without_url_or_agency_is_a_settings_error() -> None:
    with pytest.raises(ValueError, match="fbs_url"):
        Sip2Settings(transport="fbs-https", agency="761500")


def test_a_password_file_is_looked_up_in_the_systemd_credentials_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "sip2.password").write_text("from-systemd\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    assert read_password(Path("sip2.password")) == "from-systemd"


def test_a_missing_password_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"sip2\.password_file: .*nowhere: no such file"):
        read_password(tmp_path / "nowhere")


def test_an_unknown_deny_flag_is_a_config_error(cache_engine: Engine) -> None:
    with pytest.raises(ConfigError, match=r"sip2\.deny_flags: .*too_loud"):
        build_directory(
            settings(deny_flags=("too_loud",)),
            engine=cache_engine,
            site_key=SITE_KEY,
            on_event=lambda e: None,
        )


def test_tcp_settings_build_a_directory_that_answers(acs: Acs, cache_engine: Engine) -> None:
    directory = build_directory(
        settings(host="127.0.0.1", port=acs.port),
        engine=cache_engine,
        site_key=SITE_KEY,
        on_event=lambda e: None,
    )
    try:
        assert isinstance(directory.client.transport, TcpTransport)
        assert directory.authenticate(Credential.from_text("9000000001"), "1234").pin is PinCheck.OK
    finally:
        directory.close()


def test_the_idle_limit_and_the_card_only_rule_reach_the_client_and_the_directory(
    acs: Acs, cache_engine: Engine
) -> None:
    chosen = Settings.model_validate(
        {"access": {"pin_required": False}, "sip2": {"port": acs.port, "idle_limit_s": 12}}
    )
    directory = build_directory(chosen, engine=cache_engine, site_key=SITE_KEY, on_event=print)
    try:
        assert directory.client.idle_limit_s == 12
        auth = directory.authenticate(Credential.from_text("9000000001"), "0000")  # a wrong PIN
        assert auth.patron is not None and auth.pin is PinCheck.NOT_GIVEN  # the card decides
    finally:
        directory.close()
