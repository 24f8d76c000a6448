"""Three real ``nats-server`` nodes on loopback: cluster routes, JetStream, the MQTT gateway.

Each node has its own store folder and free ports (client, route, MQTT, monitoring). A node can
be killed (SIGKILL, as a machine that loses power) and started again on the same ports and
store. A secure cluster (:class:`Secure`) runs the shipped configuration, written by
``services.bus.nats`` as ``aabent broker nats-node`` and ``nats-users`` write it: TLS on routes
and MQTT, one user per party. :meth:`Cluster.mqtt_clients` asks the nodes' monitoring endpoint
which MQTT clients are subscribed, so a test knows a session exists before it publishes.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from services.bus import nats
from tests.conftest import free_port, wait_for_port


@dataclass(frozen=True)
class Secure:
    """A secure cluster's files: every node's TLS files and the users' ``authorization``."""

    tls: nats.NodeTls
    users_file: Path


@dataclass
class Node:
    """One nats-server process."""

    name: str
    folder: Path
    port: int = field(default_factory=free_port)
    route_port: int = field(default_factory=free_port)
    mqtt_port: int = field(default_factory=free_port)
    http_port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def shipped(self) -> nats.Node:
        """This node as the shipped generator names it."""
        return nats.Node(self.name, "127.0.0.1", self.mqtt_port, self.route_port, self.port,
                         self.http_port)  # fmt: skip

    def configure_secure(self, cluster: list[Node], secure: Secure) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        text = nats.node_text(self.shipped, [n.shipped for n in cluster], secure.tls,
                              self.folder / "js")  # fmt: skip
        (self.folder / "nats.conf").write_text(text)
        shutil.copyfile(secure.users_file, self.folder / nats.USERS_FILE)

    def configure(self, routes: list[int]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        listed = ", ".join(f"nats-route://127.0.0.1:{p}" for p in routes)
        (self.folder / "nats.conf").write_text(
            f"server_name: {self.name}\n"
            f"listen: 127.0.0.1:{self.port}\n"
            f"http: 127.0.0.1:{self.http_port}\n"
            f'jetstream {{ store_dir: "{self.folder / "js"}" }}\n'
            f"cluster {{ name: aabent, listen: 127.0.0.1:{self.route_port}, routes: [{listed}] }}\n"
            # The MQTT streams and sessions are replicated on all three nodes (R3): any one
            # node may fail with nothing lost and the cluster still has a quorum.
            f"mqtt {{ listen: 127.0.0.1:{self.mqtt_port}, stream_replicas: 3 }}\n"
        )

    def start(self) -> None:
        log = (self.folder / "log").open("ab")
        self.proc = subprocess.Popen(
            ["nats-server", "-c", str(self.folder / "nats.conf")], stdout=log, stderr=log
        )
        try:
            wait_for_port(self.mqtt_port, 20)
        except TimeoutError:
            if self.proc.poll() is None:
                raise
            raise RuntimeError(f"nats-server {self.name} ended: {self.tail()}") from None

    def tail(self) -> str:
        """The last lines of the node's log."""
        return "\n".join((self.folder / "log").read_text().splitlines()[-5:])

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


class Cluster:
    """Three nodes routed to each other."""

    def __init__(self, folder: Path, size: int = 3, secure: Secure | None = None) -> None:
        if shutil.which("nats-server") is None:
            raise RuntimeError("nats-server is not installed: run `make venv`, which installs it")
        self.nodes = [Node(f"n{i}", folder / f"n{i}") for i in range(size)]
        routes = [n.route_port for n in self.nodes]
        for node in self.nodes:
            if secure is None:
                node.configure(routes)
            else:
                node.configure_secure(self.nodes, secure)

    def start(self) -> Cluster:
        for node in self.nodes:
            node.start()
        return self

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def mqtt_clients(self) -> set[str]:
        """The MQTT client ids with at least one subscription, on every node up."""
        found: set[str] = set()
        for node in self.nodes:
            if node.proc is None:
                continue
            url = f"http://127.0.0.1:{node.http_port}/connz?subs=1&limit=1000"
            try:
                with urllib.request.urlopen(url, timeout=2) as answer:
                    connz = json.load(answer)
            except OSError:
                continue
            for conn in connz.get("connections") or []:
                if conn.get("mqtt_client") and conn.get("subscriptions_list"):
                    found.add(conn["mqtt_client"])
        return found

    def wait_subscribed(self, *client_ids: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not set(client_ids) <= self.mqtt_clients():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{client_ids} not subscribed on the cluster")
            time.sleep(0.2)
