"""The durable outbox on its own: what is appended stays on disk, in order, until acknowledged."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from services.bus.outbox import Outbox, OutboxError, OutboxRow


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "var" / "outbox.sqlite"


def test_appended_messages_are_pending_in_append_order(path: Path) -> None:
    with Outbox(path) as outbox:
        seqs = [outbox.append(f"t/{i}", f"p{i}".encode()) for i in range(5)]
        assert seqs == sorted(seqs) and len(set(seqs)) == 5
        assert outbox.pending(10) == [
            OutboxRow(seq, f"t/{i}", f"p{i}".encode()) for i, seq in enumerate(seqs)
        ]
        assert outbox.count() == 5


def test_pending_survives_reopening_the_file(path: Path) -> None:
    outbox = Outbox(path)
    seq = outbox.append("aabent/x/door/main/event", b'{"id":"1"}')
    del outbox  # no close: as if the process had died

    reopened = Outbox(path)
    assert reopened.pending(10) == [OutboxRow(seq, "aabent/x/door/main/event", b'{"id":"1"}')]
    reopened.close()


def test_file_uses_write_ahead_logging_with_full_sync(path: Path) -> None:
    outbox = Outbox(path)
    outbox.append("t", b"x")
    assert outbox._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    with sqlite3.connect(path) as other:
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    outbox.close()


def test_pending_respects_limit_and_after(path: Path) -> None:
    outbox = Outbox(path)
    seqs = [outbox.append("t", bytes([i])) for i in range(10)]
    assert [r.seq for r in outbox.pending(3)] == seqs[:3]
    assert [r.seq for r in outbox.pending(3, after=seqs[3])] == seqs[4:7]
    assert outbox.pending(5, after=seqs[-1]) == []


def test_ack_forgets_only_what_was_acknowledged(path: Path) -> None:
    outbox = Outbox(path)
    a, b, c, d = (outbox.append("t", bytes([i])) for i in range(4))
    outbox.ack(b)
    outbox.ack_many([a, d])
    outbox.ack_many([])
    assert [r.seq for r in outbox.pending(10)] == [c]
    assert outbox.count() == 1
    outbox.close()
    assert [r.seq for r in Outbox(path).pending(10)] == [c]


def test_seq_keeps_growing_after_everything_was_acknowledged(path: Path) -> None:
    # A reused seq would hide new rows from a publisher that reads "after" its last seq.
    outbox = Outbox(path)
    first = outbox.append("t", b"1")
    outbox.ack(first)
    outbox.close()
    again = Outbox(path)
    assert again.append("t", b"2") > first


def test_appends_from_many_threads_are_all_kept(path: Path) -> None:
    outbox = Outbox(path)
    seqs: list[int] = []
    lock = threading.Lock()

    def writer(n: int) -> None:
        for i in range(100):
            seq = outbox.append(f"door/{n}", str(i).encode())
            with lock:
                seqs.append(seq)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outbox.count() == 400 and len(set(seqs)) == 400
    rows = outbox.pending(1000)
    for n in range(4):  # each writer's own order is kept
        mine = [int(r.payload) for r in rows if r.topic == f"door/{n}"]
        assert mine == list(range(100))


def test_append_wakes_listeners(path: Path) -> None:
    outbox = Outbox(path)
    woken = threading.Event()
    outbox.add_append_listener(woken.set)
    outbox.append("t", b"x")
    assert woken.is_set()


@pytest.mark.parametrize(
    ("topic", "qos", "problem"),
    [
        ("", 1, "empty or has a wildcard"),
        ("door/+/event", 1, "empty or has a wildcard"),
        ("door/#", 1, "empty or has a wildcard"),
        ("door/main/event", 3, "qos 3 is not 0, 1 or 2"),
    ],
)
def test_messages_the_broker_would_refuse_are_refused_at_append(
    path: Path, topic: str, qos: int, problem: str
) -> None:
    outbox = Outbox(path)
    with pytest.raises(ValueError, match=problem):
        outbox.append(topic, b"x", qos)
    assert outbox.count() == 0


def test_a_file_that_is_not_a_database_is_an_error_naming_it(tmp_path: Path) -> None:
    junk = tmp_path / "outbox.sqlite"
    junk.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(OutboxError, match=r"outbox\.sqlite: cannot open the outbox"):
        Outbox(junk)
