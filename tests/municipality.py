"""A municipality on loopback, for the bridge tests and benchmarks/municipality.py.

Real parts only: a central Mosquitto (TLS for the bridges with a throwaway CA made by openssl,
a plain loopback listener for the server, our central ACL and per-bridge passwords), branch
Mosquittos whose bridge sections come from ``aabent broker bridge``'s generator, and between
each branch and the centre a TCP relay (:class:`Link`) that can be cut like a failed line.
"""

from __future__ import annotations

import contextlib
import getpass
import socket
import subprocess
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from services.bus.bridge import BridgeTls, bridge_text, bridge_user, central_acl_text
from services.bus.topics import Topics
from tests.conftest import Broker, free_port

PREFIX = "aabent"
CENTRAL_SITE = "kommune"  # the municipality's server's own site id
OBSERVER = "observer"  # an extra central user that reads everything (tells "refused" from "late")


def make_ca(folder: Path) -> dict[str, Path]:
    """A throwaway CA, the central broker's certificate (for 127.0.0.1) and a client certificate
    for the bridges; returns the files by name."""
    folder.mkdir(parents=True, exist_ok=True)
    f = {n: folder / n for n in ("ca.key", "ca.crt", "central.key", "central.csr", "central.crt")}
    f |= {n: folder / n for n in ("bridge.key", "bridge.csr", "bridge.crt", "san.ext")}

    def openssl(*args: str | Path) -> None:
        subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
            "/CN=aabent test CA", "-keyout", f["ca.key"], "-out", f["ca.crt"])  # fmt: skip
    f["san.ext"].write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for who in ("central", "bridge"):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={who}",
                "-keyout", f[f"{who}.key"], "-out", f[f"{who}.csr"])  # fmt: skip
        openssl("x509", "-req", "-in", f[f"{who}.csr"], "-CA", f["ca.crt"], "-CAkey", f["ca.key"],
                "-CAcreateserial", "-days", "2", "-out", f[f"{who}.crt"],
                "-extfile", f["san.ext"])  # fmt: skip
    for key in ("ca.key", "central.key", "bridge.key"):
        f[key].chmod(0o644)  # mosquitto may run as another user
    return f


def _passwords(path: Path, users: dict[str, str]) -> None:
    path.write_text("".join(f"{u}:{p}\n" for u, p in users.items()))
    subprocess.run(["mosquitto_passwd", "-U", str(path)], check=True, capture_output=True)


def _run_as_me() -> str:
    # As root Mosquitto would drop to the user "mosquitto", who cannot read the test's files.
    return f"user {getpass.getuser()}\n"


@dataclass
class Central:
    """The central broker: ``tls_port`` for bridges, ``port`` (plain, loopback) for the server."""

    folder: Path
    sites: Sequence[str]
    ca: dict[str, Path]
    port: int = field(default_factory=free_port)
    tls_port: int = field(default_factory=free_port)
    broker: Broker | None = None

    def password(self, user: str) -> str:
        return f"pw-{user}"  # a test's secret; the real ones come from make-passwords.sh

    def start(self) -> Central:
        self.folder.mkdir(parents=True, exist_ok=True)
        acl = central_acl_text(PREFIX, CENTRAL_SITE, self.sites, "homeassistant")
        (self.folder / "central.acl").write_text(acl + f"\nuser {OBSERVER}\ntopic read #\n")
        users = [bridge_user(s) for s in self.sites] + ["server", OBSERVER]
        _passwords(self.folder / "central.passwd", {u: self.password(u) for u in users})
        (self.folder / "data").mkdir(exist_ok=True)
        conf = self.folder / "central.conf"
        conf.write_text(
            f"per_listener_settings false\n"
            f"listener {self.tls_port} 127.0.0.1\n"
            f"cafile {self.ca['ca.crt']}\ncertfile {self.ca['central.crt']}\n"
            f"keyfile {self.ca['central.key']}\nrequire_certificate true\n"
            f"tls_version tlsv1.2\n"
            f"listener {self.port} 127.0.0.1\n"
            f"allow_anonymous false\npassword_file {self.folder / 'central.passwd'}\n"
            f"acl_file {self.folder / 'central.acl'}\n"
            f"persistence true\npersistence_location {self.folder / 'data'}/\n"
            f"max_queued_messages 1000000\nmax_inflight_messages 1000\n"
            f"pid_file {self.folder / 'mosquitto.pid'}\n" + _run_as_me()
        )
        self.broker = Broker(port=self.port, config=conf)
        self.broker.start()
        return self

    def stop(self) -> None:
        if self.broker is not None:
            self.broker.stop()


class Link:
    """A TCP relay from a branch to the centre; :meth:`cut` drops it like a failed line (every
    connection closed, new ones refused: nothing listens) and :meth:`restore` listens again."""

    def __init__(self, target_port: int) -> None:
        self.target = target_port
        self.port = free_port()
        self._lock = threading.Lock()
        self._socks: list[socket.socket] = []
        self._listener: socket.socket | None = None
        self.restore()

    def restore(self) -> None:
        with self._lock:
            if self._listener is not None:
                return
            self._listener = socket.create_server(("127.0.0.1", self.port))
            threading.Thread(target=self._accept, args=(self._listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut: the listener was closed
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target), timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._socks += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def cut(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
            socks, self._socks = self._socks, []
        if listener is not None:
            # shutdown wakes the thread blocked in accept(); close alone would not on Linux,
            # and the port would go on accepting.
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        for s in socks:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.cut()


@dataclass
class Branch:
    """A branch's Mosquitto, bridged to the centre through its own :class:`Link`."""

    folder: Path
    site: str
    central: Central
    port: int = field(default_factory=free_port)
    broker: Broker | None = None
    link: Link | None = None
    restart_s: tuple[int, int] = (1, 1)
    tls: bool = True  # False: the bridge speaks plain TCP to the centre's loopback listener
    via_link: bool = True  # False: straight to the centre (a line that is never cut)

    @property
    def topics(self) -> Topics:
        return Topics(PREFIX, self.site)

    def start(self) -> Branch:
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.central.tls_port if self.tls else self.central.port
        self.link = Link(target) if self.via_link else None
        port = self.link.port if self.link is not None else target
        ca = self.central.ca
        tls = BridgeTls(ca["ca.crt"], ca["bridge.crt"], ca["bridge.key"]) if self.tls else None
        password = self.central.password(bridge_user(self.site))
        bridge = bridge_text(
            self.topics, "127.0.0.1", port, password, tls, restart_s=self.restart_s
        )
        (self.folder / "data").mkdir(exist_ok=True)
        conf = self.folder / "branch.conf"
        # The branch's own users and ACL are config/mosquitto/aabent.conf's business (tested in
        # tests/services/recorder/test_mosquitto_acl.py); here the bridge is what is tested.
        conf.write_text(
            f"per_listener_settings false\nlistener {self.port} 127.0.0.1\n"
            f"allow_anonymous true\npersistence true\n"
            f"persistence_location {self.folder / 'data'}/\n"
            f"max_queued_messages 200000\nmax_inflight_messages 200\n"
            f"pid_file {self.folder / 'mosquitto.pid'}\n" + _run_as_me() + bridge
        )
        self.broker = Broker(port=self.port, config=conf)
        self.broker.start()
        return self

    def stop(self) -> None:
        if self.broker is not None:
            self.broker.stop()
        if self.link is not None:
            self.link.close()
