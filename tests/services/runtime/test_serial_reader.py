"""Specification of SerialReader on real ptys and loop://: framing, faults, unplug and replug."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from services.core.credentials import Credential, CredentialKind
from services.core.readers import CardRead, PinCleared, PinEntered, ReaderFault, ReaderInput
from services.runtime.serial_reader import SerialReader

WAIT_S = 5.0
GOOD_TAG_FRAME = b"\x020100BC614E92\x03"  # EM4100 tag 0012345678


def card(number: str) -> CardRead:
    return CardRead(Credential(CredentialKind.CARD, number))


@dataclass
class Seen:
    """What a reader reported, with a way to wait for it."""

    inputs: list[tuple[str, ReaderInput]] = field(default_factory=list)
    statuses: list[tuple[str, bool, str | None]] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def on_input(self, reader_id: str, result: ReaderInput) -> None:
        with self.changed:
            self.inputs.append((reader_id, result))
            self.changed.notify_all()

    def on_status(self, reader_id: str, online: bool, problem: str | None) -> None:
        with self.changed:
            self.statuses.append((reader_id, online, problem))
            self.changed.notify_all()

    def wait(self, ready: Callable[[], bool]) -> None:
        with self.changed:
            assert self.changed.wait_for(ready, WAIT_S), (self.inputs, self.statuses)

    def wait_inputs(self, count: int) -> list[ReaderInput]:
        self.wait(lambda: len(self.inputs) >= count)
        return [r for _, r in self.inputs]

    def wait_status(self, online: bool, count: int = 1) -> tuple[str, bool, str | None]:
        self.wait(lambda: sum(1 for s in self.statuses if s[1] is online) >= count)
        return [s for s in self.statuses if s[1] is online][count - 1]


@dataclass
class Pty:
    """A pseudo-terminal: the reader opens ``path``; the test plays the device on ``master``."""

    master: int
    path: str

    @classmethod
    def open(cls) -> Pty:
        master, slave = os.openpty()
        path = os.ttyname(slave)
        os.close(slave)  # the reader opens the slave by its path, as it would /dev/ttyUSB0
        return cls(master, path)

    def send(self, data: bytes) -> None:
        os.write(self.master, data)

    def unplug(self) -> None:
        os.close(self.master)


@pytest.fixture
def seen() -> Seen:
    return Seen()


@pytest.fixture
def readers() -> Iterator[list[SerialReader]]:
    started: list[SerialReader] = []
    yield started
    for reader in started:
        reader.stop()


@pytest.fixture
def pty() -> Iterator[Pty]:
    device = Pty.open()
    yield device
    with contextlib.suppress(OSError):  # the test may have unplugged it already
        device.unplug()


@pytest.fixture
def start(seen: Seen, readers: list[SerialReader]) -> Callable[..., SerialReader]:
    def _start(kind: str, url: str, **kwargs: Any) -> SerialReader:
        reader = SerialReader("r1", kind, url, 9600, seen.on_input, seen.on_status, **kwargs)
        readers.append(reader)
        reader.start()
        return reader

    return _start


def test_barcode_scanned_on_a_pty_reaches_on_input(
    start: Callable[..., SerialReader], seen: Seen, pty: Pty
) -> None:
    reader = start("barcode", pty.path)
    assert seen.wait_status(True) == ("r1", True, None)
    assert reader.online
    pty.send(b"3274000123456\r\n0101901234\r\n")
    assert seen.wait_inputs(2) == [
        card("3274000123456"),
        CardRead(Credential(CredentialKind.CPR, "0101901234")),
    ]
    assert seen.inputs[0][0] == "r1"
    assert reader.errors == 0


def test_em4100_frame_split_over_writes_is_read_once_complete(
    start: Callable[..., SerialReader], seen: Seen, pty: Pty
) -> None:
    start("em4100", pty.path)
    seen.wait_status(True)
    pty.send(GOOD_TAG_FRAME[:5])
    pty.send(GOOD_TAG_FRAME[5:])
    pty.send(GOOD_TAG_FRAME)  # the RDM6300 repeats while the tag stays in the field
    assert seen.wait_inputs(2) == [card("0012345678"), card("0012345678")]


def test_em4100_frame_cut_short_by_the_next_is_a_fault_and_the_next_is_read(
    start: Callable[..., SerialReader], seen: Seen, pty: Pty
) -> None:
    reader = start("em4100", pty.path)
    seen.wait_status(True)
    pty.send(b"\x020100B" + GOOD_TAG_FRAME)
    results = seen.wait_inputs(2)
    assert results[0] == ReaderFault("EM4100: frame cut short by the next frame")
    assert results[1] == card("0012345678")
    assert reader.errors == 1


def test_em4100_frame_without_etx_is_discarded_counted_and_reading_goes_on(
    start: Callable[..., SerialReader], seen: Seen, pty: Pty
) -> None:
    reader = start("em4100", pty.path)
    seen.wait_status(True)
    pty.send(b"\x02" + b"0" * 40 + b"\x03" + GOOD_TAG_FRAME)
    results = seen.wait_inputs(2)
    assert isinstance(results[0], ReaderFault)
    assert "more than 12 characters without ETX" in results[0].problem
    assert results[1] == card("0012345678")
    assert reader.errors == 1


def test_em4100_bad_checksum_and_noise_between_frames(
    start: Callable[..., SerialReader], seen: Seen, pty: Pty
) -> None:
    start("em4100", pty.path)
    seen.wait_status(True)
    pty.send(b"noise\x03\x020100BC614E93\x03" + GOOD_TAG_FRAME)
    assert seen.wait_inputs(2) == [ReaderFault("EM4100: checksum mismatch"), card("0012345678")]


def test_overlong_barcode_line_is_discarded_once_and_the_next_line_is_read(
    start: Callable[..., SerialReader], seen: Seen, pty: Pty
) -> None:
    reader = start("barcode", pty.path)
    seen.wait_status(True)
    pty.send(b"9" * 40)
    results = seen.wait_inputs(1)
    assert isinstance(results[0], ReaderFault)
    assert "more than 32 characters without a line end" in results[0].problem
    pty.send(b"9" * 40 + b"\r\n")  # the rest of the runaway line is not a new line
    pty.send(b"1234\r\n")
    assert seen.wait_inputs(2)[1] == card("1234")
    assert reader.errors == 1


def test_magstripe_health_card_swipe_gives_cpr(
    start: Callable[..., SerialReader], seen: Seen, pty: Pty
) -> None:
    start("magstripe", pty.path)
    seen.wait_status(True)
    track1 = "%" + "HANSEN^METTE".ljust(34) + "STATIONSPARKEN 1".ljust(34) + "1612600?"
    track2 = ";92081004" + "0101702345" + "1041173084161010824?"
    pty.send((track1 + track2 + "\r").encode())
    assert seen.wait_inputs(1) == [CardRead(Credential(CredentialKind.CPR, "0101702345"))]


def test_pin_pad_keys_on_a_pty_with_the_timeout_on_the_injected_clock(
    start: Callable[..., SerialReader], seen: Seen, pty: Pty
) -> None:
    now = [1000.0]
    start("pinpad", pty.path, pin_timeout_s=10.0, clock=lambda: now[0])
    seen.wait_status(True)
    pty.send(b"12*4711#")
    assert seen.wait_inputs(2) == [PinCleared(), PinEntered("4711")]
    # digits give nothing; the fault for the stray "A" shows the "99" before it was taken in
    pty.send(b"99A")
    assert seen.wait_inputs(3)[2] == ReaderFault("PIN pad: unexpected key 'A'")
    now[0] += 11.0  # the patron walked away
    pty.send(b"5#")
    assert seen.wait_inputs(4)[3] == PinEntered("5")


def test_loop_url_reads_what_is_written_to_the_reader(
    start: Callable[..., SerialReader], seen: Seen
) -> None:
    reader = start("pinpad", "loop://")
    seen.wait_status(True)
    reader.write(b"2580#")
    assert seen.wait_inputs(1) == [PinEntered("2580")]


def test_loop_url_barcode(start: Callable[..., SerialReader], seen: Seen) -> None:
    reader = start("barcode", "loop://")
    seen.wait_status(True)
    reader.write(b"12\x01\r\n3274000123456\r\n")
    results = seen.wait_inputs(2)
    assert isinstance(results[0], ReaderFault)
    assert results[1] == card("3274000123456")


def test_unplug_reports_offline_and_replug_reads_again(
    start: Callable[..., SerialReader], seen: Seen, tmp_path: Path
) -> None:
    first = Pty.open()
    link = tmp_path / "ttyREADER"
    link.symlink_to(first.path)
    reader = start("barcode", str(link), reopen_delay_s=0.02)
    seen.wait_status(True)
    first.send(b"1111\r")
    assert seen.wait_inputs(1) == [card("1111")]

    first.unplug()
    reader_id, online, problem = seen.wait_status(False)
    assert (reader_id, online) == ("r1", False)
    assert problem
    assert not reader.online

    second = Pty.open()
    try:
        (tmp_path / "next").symlink_to(second.path)
        os.replace(tmp_path / "next", link)
        assert seen.wait_status(True, count=2) == ("r1", True, None)
        second.send(b"2222\r")
        assert seen.wait_inputs(2)[1] == card("2222")
        assert [s[1] for s in seen.statuses] == [True, False, True]  # one report per change
    finally:
        second.unplug()


def test_a_port_missing_at_start_is_reported_and_opened_when_it_appears(
    start: Callable[..., SerialReader], seen: Seen, tmp_path: Path, pty: Pty
) -> None:
    link = tmp_path / "ttyLATE"
    reader = start("em4100", str(link), reopen_delay_s=0.02)
    _, _, problem = seen.wait_status(False)
    assert problem is not None and str(link) in problem
    assert not reader.online
    link.symlink_to(pty.path)
    seen.wait_status(True)
    pty.send(GOOD_TAG_FRAME)
    assert seen.wait_inputs(1) == [card("0012345678")]


def test_a_failing_on_input_does_not_stop_the_reader(
    readers: list[SerialReader], seen: Seen, pty: Pty
) -> None:
    calls: list[ReaderInput] = []

    def flaky(reader_id: str, result: ReaderInput) -> None:
        calls.append(result)
        if len(calls) == 1:
            raise RuntimeError("bug downstream")
        seen.on_input(reader_id, result)

    reader = SerialReader("r1", "barcode", pty.path, 9600, flaky, seen.on_status)
    readers.append(reader)
    reader.start()
    seen.wait_status(True)
    pty.send(b"1\r2\r")
    assert seen.wait_inputs(1) == [card("2")]
    assert reader.online


def test_stop_closes_the_port_without_an_offline_report(
    start: Callable[..., SerialReader], seen: Seen, pty: Pty
) -> None:
    reader = start("barcode", pty.path)
    seen.wait_status(True)
    reader.stop()
    assert not reader.online
    assert seen.statuses == [("r1", True, None)]
    with pytest.raises(ConnectionError, match="r1"):
        reader.write(b"x")


@pytest.mark.parametrize("kind", ["wiegand", "rfid", ""])
def test_kinds_that_are_not_serial_are_refused(kind: str, seen: Seen) -> None:
    with pytest.raises(ValueError, match=f"reader r1: kind {kind!r} is not a serial reader"):
        SerialReader("r1", kind, "loop://", 9600, seen.on_input, seen.on_status)


def test_nonsense_timings_are_refused(seen: Seen) -> None:
    with pytest.raises(ValueError, match="PIN timeout"):
        SerialReader(
            "r1", "pinpad", "loop://", 9600, seen.on_input, seen.on_status, pin_timeout_s=0
        )
    with pytest.raises(ValueError, match="reopen_delay_s"):
        SerialReader(
            "r1", "pinpad", "loop://", 9600, seen.on_input, seen.on_status, reopen_delay_s=0
        )
