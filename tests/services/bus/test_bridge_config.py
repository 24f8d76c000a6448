"""``aabent broker bridge`` and ``aabent broker central-acl``: what they write, and what they
refuse. A real Mosquitto runs their output in tests/services/bus/test_bridges.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.bus.bridge import BridgeTls, bridge_text, central_acl_text
from services.bus.topics import Topics
from services.cli.main import main as cli

ROOT = Path(__file__).parents[3]
EXAMPLE = ROOT / "config" / "aabent.toml"  # site glostrup
TOPICS = Topics("aabent", "glostrup")


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def test_the_bridge_sends_the_site_out_and_takes_back_its_commands_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = tmp_path / "bridge.password"
    secret.write_text("s3cret\n")
    ca = tmp_path / "ca.crt"
    args = ["-c", str(EXAMPLE), "broker", "bridge", "--central", "central.kommune.dk"]
    args += ["--password-file", str(secret), "--cafile", str(ca)]
    assert cli(args) == 0
    lines = _lines(capsys.readouterr().out)
    assert "address central.kommune.dk:8883" in lines
    assert "remote_username bridge-glostrup" in lines and "remote_password s3cret" in lines
    assert "cleansession false" in lines and "max_inflight_messages 0" in lines
    assert lines.index("max_inflight_messages 0") < lines.index(
        "connection aabent-bridge-glostrup"
    )  # a global option, before the bridge's own
    topics = [line for line in lines if line.startswith("topic ")]
    assert topics == [
        "topic # out 1 aabent/glostrup/ aabent/glostrup/",
        "topic door/+/command in 1 aabent/glostrup/ aabent/glostrup/",
        "topic building/command in 1 aabent/glostrup/ aabent/glostrup/",
        "topic lists in 1 aabent/glostrup/ aabent/glostrup/",
    ]
    assert f"bridge_cafile {ca}" in lines and "bridge_insecure false" in lines


def test_the_bridge_wants_tls_or_says_it_goes_without(
    capsys: pytest.CaptureFixture[str],
) -> None:
    base = ["-c", str(EXAMPLE), "broker", "bridge", "--central", "c"]
    with pytest.raises(SystemExit, match="--cafile"):
        cli(base)
    assert cli([*base, "--no-tls"]) == 0
    assert not any(line.startswith("bridge_cafile") for line in capsys.readouterr().out.split("\n"))
    with pytest.raises(ValueError, match="certfile and keyfile"):
        BridgeTls(Path("ca"), certfile=Path("c"))
    with pytest.raises(ValueError, match="spaces"):
        bridge_text(TOPICS, "central", 8883, "two words", None)
    with pytest.raises(ValueError, match="address"):
        bridge_text(TOPICS, "", 8883, None, None)


def test_the_central_acl_gives_each_bridge_its_own_site_only() -> None:
    text = central_acl_text("aabent", "kommune", ["glostrup", "ballerup"], "homeassistant")
    blocks = {b.splitlines()[0]: _lines(b)[1:] for b in text.split("\n\n") if b.startswith("user")}
    assert blocks["user bridge-glostrup"] == [
        "topic write aabent/glostrup/#",
        "topic read aabent/glostrup/door/+/command",
        "topic read aabent/glostrup/building/command",
        "topic read aabent/glostrup/lists",
        "topic write $SYS/broker/connection/aabent-bridge-glostrup/state",
    ]
    assert not any("glostrup" in line for line in blocks["user bridge-ballerup"])
    server = [line for line in text.split("user server", 1)[1].splitlines() if line]
    assert "topic read aabent/+/#" in server and "topic write aabent/+/door/+/command" in server
    with pytest.raises(ValueError):
        central_acl_text("aabent", "kommune", [], "homeassistant")
    with pytest.raises(ValueError):
        central_acl_text("aabent", "kommune", ["a/b"], "homeassistant")


def test_a_bridge_to_the_nats_cluster_names_its_nodes_and_drops_the_bridge_flag(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ["-c", str(EXAMPLE), "broker", "bridge", "--central", "nats0.k.dk,nats1.k.dk:8884"]
    assert cli([*args, "--no-tls", "--nats"]) == 0
    lines = _lines(capsys.readouterr().out)
    assert "address nats0.k.dk:8883 nats1.k.dk:8884" in lines
    assert "try_private false" in lines  # NATS refuses it: "unacceptable protocol version"
    assert cli([*args, "--no-tls"]) == 0
    assert "try_private true" in _lines(capsys.readouterr().out)  # Mosquitto at the centre
    with pytest.raises(ValueError, match="address"):
        bridge_text(TOPICS, "a,,b", 8883, None, None)
