"""A secret file made by whichever process starts first; the others read that same secret."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from services.settings.paths import read_or_create_secret


def test_processes_starting_together_share_the_first_secret(tmp_path: Path) -> None:
    for round_ in range(20):  # a race: many tries at once, many times
        path = tmp_path / f"round-{round_}" / "site.key"
        start = threading.Barrier(8)

        def make(path: Path = path, start: threading.Barrier = start) -> bytes:
            start.wait()
            return read_or_create_secret(path, 32)

        with ThreadPoolExecutor(8) as pool:
            secrets = list(pool.map(lambda _: make(), range(8)))
        assert len(set(secrets)) == 1 and len(secrets[0]) == 32
        assert path.read_bytes() == secrets[0]
        assert [p.name for p in path.parent.iterdir()] == ["site.key"]  # no temporary left
