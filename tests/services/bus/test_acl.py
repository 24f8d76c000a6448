"""The broker ACL generated from a site's settings, against a real Mosquitto.

A site with two controllers: ``door-entrance`` drives ``main``, ``door-cellar`` drives
``basement``. Users and the ACL are made the way a branch makes them,
``make-passwords.sh -c CONFIG`` (which calls ``aabent broker users`` and ``aabent broker acl``).
"""

from __future__ import annotations

import getpass
import grp
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from services.bus.acl import acl_text
from services.bus.client import MqttBus, read_password
from services.bus.presence import find_holder
from services.bus.topics import Topics
from services.settings import MqttSettings, load_settings
from tests.conftest import Broker, free_port
from tests.services.recorder.test_mosquitto_acl import Client

ROOT = Path(__file__).parents[3]
CONFIG = ROOT / "config" / "mosquitto"
TOPICS = Topics("aabent", "glostrup")
QUIET = 0.5
AABENT = f"{sys.executable} -m services.cli.main"


def test_the_shipped_acl_is_the_one_generated_from_the_example_site() -> None:
    settings = load_settings(ROOT / "config" / "aabent.toml", environ={})
    assert (CONFIG / "aabent.acl").read_text(encoding="utf-8") == acl_text(settings)


def _site(tmp: Path) -> Path:
    cfg = tmp / "config" / "aabent.toml"
    cfg.parent.mkdir(parents=True)
    cfg.write_text(
        """
[site]
id = "glostrup"
[doors.main]
lock_pin = 17
controller = "entrance"
[doors.basement]
lock_pin = 16
controller = "cellar"
""",
        encoding="utf-8",
    )
    return cfg


def _make_passwords(tmp: Path, config: Path, group: str | None = None) -> Path:
    env = {**os.environ, "AABENT": AABENT}
    if group is not None:
        env["SECRETS_GROUP"] = group
    subprocess.run(
        [
            "sh",
            str(CONFIG / "make-passwords.sh"),
            "-c",
            str(config),
            str(tmp / "aabent.passwd"),
            str(tmp / "secrets"),
        ],
        check=True,
        capture_output=True,
        cwd=ROOT,
        env=env,
    )
    return tmp / "secrets"


def _broker_config(tmp: Path, port: int) -> Path:
    lines = [
        f"listener {port} 127.0.0.1",
        "allow_anonymous false",
        f"password_file {tmp / 'aabent.passwd'}",
        f"acl_file {tmp / 'aabent.acl'}",
        f"user {getpass.getuser()}",
    ]
    conf = tmp / "mosquitto.conf"
    conf.write_text("\n".join(lines) + "\n")
    return conf


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Broker, Path]]:
    tmp = tmp_path_factory.mktemp("site-acl")
    secrets = _make_passwords(tmp, _site(tmp))
    # One extra user that reads everything, so "never arrives" can be told from "late".
    with (tmp / "aabent.acl").open("a") as acl:
        acl.write("\nuser observer\ntopic read #\n")
    (secrets / "mqtt-observer.password").write_text("observer-secret")
    plain = tmp / "observer.passwd"
    plain.write_text("observer:observer-secret\n")
    subprocess.run(["mosquitto_passwd", "-U", str(plain)], check=True)
    with (tmp / "aabent.passwd").open("a") as passwd:
        passwd.write(plain.read_text())
    port = free_port()
    broker = Broker(port=port, config=_broker_config(tmp, port))
    broker.start()
    yield broker, secrets
    broker.stop()


def _mqtt(site: tuple[Broker, Path], user: str) -> MqttSettings:
    broker, secrets = site
    return MqttSettings(
        port=broker.port,
        username=user,
        password_file=secrets / f"mqtt-{user}.password",
        keepalive=5,
    )


Connect = Callable[..., Client]


@pytest.fixture
def connect(site: tuple[Broker, Path]) -> Iterator[Connect]:
    """Log in as a user of the site, subscribed to the filters given."""
    made: list[Client] = []

    def make(user: str, *filters: str) -> Client:
        made.append(Client(site, user).start(*filters))
        return made[-1]

    yield make
    for c in made:
        c.bus.stop()


def test_a_controller_publishes_its_own_doors_and_the_building_topics_only(
    connect: Connect,
) -> None:
    observer = connect("observer", "aabent/#")
    observer.drain()  # the retained status messages
    entrance = connect("door-entrance")
    observer.drain()
    entrance.send(TOPICS.door_event("main"), b"main-event")
    entrance.send(TOPICS.door_state("main"), b"main-state")
    entrance.send(TOPICS.site_event, b"fire")
    entrance.send(TOPICS.opening, b"opening")
    entrance.send(TOPICS.occupancy, b"occupancy")
    # Not its door, not its availability, not its site, no commands:
    entrance.send(TOPICS.door_event("basement"), b"forged-event")
    entrance.send(TOPICS.door_state("basement"), b"forged-state")
    entrance.send(TOPICS.status("door-cellar"), b"offline")
    entrance.send(Topics("aabent", "albertslund").door_event("main"), b"other-site")
    entrance.send(TOPICS.door_command("basement"), b"command")
    assert {p for _, p in observer.drain()} == {
        b"main-event",
        b"main-state",
        b"fire",
        b"opening",
        b"occupancy",
    }


def test_a_controller_reads_only_the_commands_of_its_own_doors(connect: Connect) -> None:
    entrance = connect("door-entrance", TOPICS.all_door_commands, TOPICS.all_sim_inputs)
    server = connect("server")
    server.send(TOPICS.door_command("main"), b"for-main")
    server.send(TOPICS.door_command("basement"), b"for-basement")
    sim = connect("sim")
    sim.send(TOPICS.sim("main", "exit"), b"press-main")
    sim.send(TOPICS.sim("basement", "exit"), b"press-basement")
    assert {p for _, p in entrance.drain()} == {b"for-main", b"press-main"}


def test_kiosks_sim_and_home_assistant_cannot_write_the_building_topics(connect: Connect) -> None:
    observer = connect("observer", f"{TOPICS.base}/event", TOPICS.opening, TOPICS.occupancy)
    observer.drain()
    for user in ("kiosk", "sim", "homeassistant"):
        other = connect(user)
        other.send(TOPICS.site_event, b"fake fire")
        other.send(TOPICS.occupancy, b"fake count")
        other.send(TOPICS.opening, b"fake opening")
    assert observer.drain() == set()


def test_the_identity_probe_passes_the_acl_for_its_own_identity_only(
    site: tuple[Broker, Path], connect: Connect
) -> None:
    holder = MqttBus(
        _mqtt(site, "door-entrance"),
        "aabent-door-entrance",
        "door-entrance",
        TOPICS,
        answer_probes=True,
    )
    holder.start()
    try:
        assert holder.wait_connected(10)
        mine = _mqtt(site, "door-entrance")
        found = find_holder(mine, read_password(mine), TOPICS, "door-entrance", "clone")
        assert found is not None and found.pid == os.getpid()
        theirs = _mqtt(site, "door-cellar")
        # The cellar's user may not ask after the entrance: the probe sees nobody.
        assert find_holder(theirs, read_password(theirs), TOPICS, "door-entrance", "x") is None
    finally:
        holder.stop()


@pytest.mark.skipif(os.geteuid() != 0, reason="changing a file's group needs root")
@pytest.mark.skipif(shutil.which("setpriv") is None, reason="setpriv (util-linux) is missing")
def test_the_service_users_group_can_read_its_secret_and_nobody_else() -> None:
    # Outside pytest's own temporary folder, which only root may enter.
    tmp_path = Path(tempfile.mkdtemp(prefix="aabent-secrets-"))
    tmp_path.chmod(0o755)
    try:
        _check_secret_modes(tmp_path)
    finally:
        shutil.rmtree(tmp_path)


def _check_secret_modes(tmp_path: Path) -> None:
    group = "daemon"  # a system group every Debian has, standing in for `aabent`
    secrets = _make_passwords(tmp_path, _site(tmp_path), group=group)
    gid = grp.getgrnam(group).gr_gid
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o750 and secrets.stat().st_gid == gid
    for user in ("door-entrance", "door-cellar", "kiosk", "server", "sim"):
        info = (secrets / f"mqtt-{user}.password").stat()
        assert (stat.S_IMODE(info.st_mode), info.st_gid) == (0o640, gid), user
    ha = (secrets / "mqtt-homeassistant.password").stat()
    assert stat.S_IMODE(ha.st_mode) == 0o600

    def read_as(uid: str, gid_: str, name: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["setpriv", f"--reuid={uid}", f"--regid={gid_}", "--clear-groups", "cat", name],
            capture_output=True,
            text=True,
        )

    secret = str(secrets / "mqtt-door-entrance.password")
    assert read_as("daemon", group, secret).returncode == 0
    assert read_as("nobody", "nogroup", secret).returncode != 0
    assert read_as("daemon", group, str(secrets / "mqtt-homeassistant.password")).returncode != 0


def test_the_kiosk_writes_its_own_event_topic_only(connect: Connect) -> None:
    """The site names no kiosk, so its kiosk is the default one, `kiosk1`."""
    observer = connect("observer", f"{TOPICS.base}/kiosk/+/event", TOPICS.all_door_events)
    observer.drain()
    kiosk = connect("kiosk")
    kiosk.send(TOPICS.kiosk_event("other"), b"in another kiosk's name")
    kiosk.send(TOPICS.door_event("main"), b"a forced door")
    kiosk.send(TOPICS.kiosk_event("kiosk1"), b"its own")
    assert observer.drain() == {(TOPICS.kiosk_event("kiosk1"), b"its own")}
