"""``aabent broker nats-node`` and ``nats-users``: what they write, and what they refuse. Three
real nats-server nodes run their output in tests/services/bus/test_nats_secure.py."""

from __future__ import annotations

from pathlib import Path

import bcrypt
import pytest

from services.bus import nats
from services.cli.main import main as cli

ROOT = Path(__file__).parents[3]
EXAMPLE = ROOT / "config" / "aabent.toml"  # site glostrup: here the municipality's server


def test_mqtt_filters_become_nats_subjects_with_hash_matching_its_parent_too() -> None:
    assert nats.subjects("aabent/+/#") == ["aabent.*", "aabent.*.>"]
    assert nats.subjects("aabent/a/door/+/command") == ["aabent.a.door.*.command"]
    assert nats.subjects("#") == [">"]
    assert nats.subjects("$SYS/broker/connection/+/state") == ["$SYS.broker.connection.*.state"]
    for bad in ("aabent/a.b/x", "aabent//x", "a/#/b", "a/b*", "a/b+"):
        with pytest.raises(ValueError, match=r"NATS subject|last level|whole level"):
            nats.subjects(bad)


def test_each_branch_writes_its_own_site_and_reads_its_own_commands() -> None:
    grants = {g.user: g for g in nats.grants("aabent", "kommune", ["glostrup", "ballerup"], "ha")}
    assert set(grants) == {"bridge-glostrup", "bridge-ballerup", "server"}
    glostrup = grants["bridge-glostrup"]
    assert glostrup.publish == (
        "aabent/glostrup/#",
        "$SYS/broker/connection/aabent-bridge-glostrup/state",
    )
    assert glostrup.subscribe == (
        "aabent/glostrup/door/+/command",
        "aabent/glostrup/building/command",
        "aabent/glostrup/lists",
    )
    assert "aabent/+/#" in grants["server"].subscribe
    assert "aabent/+/lists" in grants["server"].publish
    for sites in ([], ["a", "a"]):
        with pytest.raises(ValueError):
            nats.grants("aabent", "kommune", sites, "ha")


def test_the_users_file_has_hashes_only_and_the_mqtt_delivery_subject() -> None:
    grants = nats.grants("aabent", "kommune", ["glostrup"], "ha")
    hashes = {g.user: f"$2b$11${g.user}" for g in grants}
    text = nats.users_text(grants, hashes)
    assert '{user: "bridge-glostrup", password: "$2b$11$bridge-glostrup",' in text
    assert text.count('allowed_connection_types: ["MQTT"]') == 2
    assert text.count('"$MQTT.sub.>"') == 2
    assert 'publish: {allow: ["aabent.glostrup", "aabent.glostrup.>", ' in text
    with pytest.raises(ValueError, match="bcrypt"):
        nats.users_text(grants, {**hashes, "server": "plain"})


def _node_args(*extra: str) -> list[str]:
    nodes = [f"--node=n{i}=nats{i}.kommune.dk" for i in range(3)]
    files = ["--cafile", "/etc/nats/ca.crt", "--certfile", "/etc/nats/n1.crt"]
    return ["-c", str(EXAMPLE), "broker", "nats-node", "n1", *nodes, *files,
            "--keyfile", "/etc/nats/n1.key", *extra]  # fmt: skip


def test_a_node_routes_to_all_with_tls_and_keeps_three_replicas(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli(_node_args()) == 0
    lines = [line.strip() for line in capsys.readouterr().out.splitlines()]
    assert 'server_name: "n1"' in lines and "listen: 127.0.0.1:4222" in lines
    assert "listen: nats1.kommune.dk:8883" in lines and "stream_replicas: 3" in lines
    routes = next(line for line in lines if line.startswith("routes:"))
    assert routes.count("nats-route://") == 3 and "nats2.kommune.dk:6222" in routes
    tls = [line for line in lines if line.startswith("tls {")]
    assert len(tls) == 2 and all('ca_file: "/etc/nats/ca.crt"' in t for t in tls)
    assert "verify: true" in tls[0] and "verify" not in tls[1]  # routes both ways; MQTT: server
    assert lines[-1] == f'include "{nats.USERS_FILE}"'
    assert cli(_node_args("--client-certificates")) == 0
    assert capsys.readouterr().out.count("verify: true") == 2


def test_a_node_refuses_a_cluster_that_cannot_keep_three_replicas() -> None:
    args = _node_args()
    with pytest.raises(SystemExit, match="3 replicas"):
        cli([a for a in args if not a.startswith("--node=n2")])
    with pytest.raises(SystemExit, match="not one of the --node names"):
        cli([*args[:4], "n7", *args[5:]])
    with pytest.raises(SystemExit, match="NAME=HOST"):
        cli([*args, "--node", "n3"])


def test_nats_users_hashes_each_secret_from_its_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for user in ("server", "bridge-ballerup"):
        (tmp_path / f"{user}.password").write_text(f"secret-{user}\n")
    args = ["-c", str(EXAMPLE), "broker", "nats-users", "ballerup", "--secrets", str(tmp_path)]
    assert cli(args) == 0
    text = capsys.readouterr().out
    assert "secret-" not in text
    hashed = text.split('{user: "bridge-ballerup", password: "', 1)[1].split('"', 1)[0]
    assert bcrypt.checkpw(b"secret-bridge-ballerup", hashed.encode())
    (tmp_path / "server.password").unlink()
    assert cli(args) != 0
    assert "--secrets server: " in capsys.readouterr().err  # the file it did not find is named
