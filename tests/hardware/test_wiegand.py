"""Specification of WiegandReader on gpiozero MockFactory pins: bits clocked in as low pulses."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from gpiozero.pins.mock import MockFactory

from hardware.wiegand import WiegandReader
from services.core.credentials import Credential, CredentialKind
from services.core.readers import CardRead, PinCleared, PinEntered, ReaderFault, ReaderInput

D0, D1 = 5, 6
GAP_S = 0.03  # wide enough that a busy test machine does not split a burst
WAIT_S = 5.0


class Seen:
    """What the reader handed on, with a way to wait for it."""

    def __init__(self) -> None:
        self.inputs: list[ReaderInput] = []
        self.changed = threading.Condition()

    def on_input(self, reader_id: str, result: ReaderInput) -> None:
        assert reader_id == "w1"
        with self.changed:
            self.inputs.append(result)
            self.changed.notify_all()

    def wait_inputs(self, count: int) -> list[ReaderInput]:
        with self.changed:
            assert self.changed.wait_for(lambda: len(self.inputs) >= count, WAIT_S), self.inputs
            return list(self.inputs)


@pytest.fixture
def factory() -> Iterator[MockFactory]:
    pins = MockFactory()
    yield pins
    pins.close()


@pytest.fixture
def seen() -> Seen:
    return Seen()


@pytest.fixture
def make_reader(factory: MockFactory, seen: Seen) -> Iterator[Callable[..., WiegandReader]]:
    made: list[WiegandReader] = []

    def _make(**kwargs: Any) -> WiegandReader:
        reader = WiegandReader(
            "w1", D0, D1, seen.on_input, pin_factory=factory, frame_gap_s=GAP_S, **kwargs
        )
        made.append(reader)
        return reader

    yield _make
    for reader in made:
        reader.close()


def clock_in(factory: MockFactory, bits: list[int]) -> None:
    """Pulse DATA0 low for each 0 and DATA1 low for each 1, as a reader does."""
    for bit in bits:
        pin = factory.pin(D1 if bit else D0)
        pin.drive_low()
        pin.drive_high()


def key_burst(factory: MockFactory, code: int) -> None:
    """One 4-bit keypad key, then a pause longer than the frame gap so frames stay apart."""
    clock_in(factory, [(code >> i) & 1 for i in (3, 2, 1, 0)])
    time.sleep(GAP_S * 2)


def bits_of(value: int, width: int) -> list[int]:
    return [(value >> (width - 1 - i)) & 1 for i in range(width)]


def with_parity(body: list[int]) -> list[int]:
    half = len(body) // 2
    return [sum(body[:half]) % 2, *body, 1 - sum(body[half:]) % 2]


def card(number: str) -> CardRead:
    return CardRead(Credential(CredentialKind.CARD, number))


def test_26_bit_card_read_from_the_pins(
    make_reader: Callable[..., WiegandReader], factory: MockFactory, seen: Seen
) -> None:
    make_reader()
    clock_in(factory, [1, *bits_of(1, 8), *bits_of(1, 16), 0])  # facility 1, card 1
    assert seen.wait_inputs(1) == [card("00065537")]


def test_34_bit_card_read_from_the_pins(
    make_reader: Callable[..., WiegandReader], factory: MockFactory, seen: Seen
) -> None:
    make_reader()
    clock_in(factory, with_parity(bits_of(0x00BC614E, 32)))
    assert seen.wait_inputs(1) == [card("0012345678")]


def test_two_cards_in_a_row_are_two_frames(
    make_reader: Callable[..., WiegandReader], factory: MockFactory, seen: Seen
) -> None:
    make_reader()
    clock_in(factory, with_parity(bits_of(7, 24)))
    time.sleep(GAP_S * 2)
    clock_in(factory, with_parity(bits_of(8, 24)))
    assert seen.wait_inputs(2) == [card("00000007"), card("00000008")]


def test_parity_error_is_a_fault_and_counted(
    make_reader: Callable[..., WiegandReader], factory: MockFactory, seen: Seen
) -> None:
    reader = make_reader()
    frame = with_parity(bits_of(0x00BC614E, 32))
    frame[3] ^= 1
    clock_in(factory, frame)
    assert seen.wait_inputs(1) == [ReaderFault("Wiegand: 34-bit frame fails its parity check")]
    assert reader.errors == 1


def test_keypad_keys_become_a_pin(
    make_reader: Callable[..., WiegandReader], factory: MockFactory, seen: Seen
) -> None:
    make_reader()
    for code in (4, 7, 1, 1, 11):  # 4 7 1 1 #
        key_burst(factory, code)
    assert seen.wait_inputs(1) == [PinEntered("4711")]


def test_keypad_8_bit_keys_and_star(
    make_reader: Callable[..., WiegandReader], factory: MockFactory, seen: Seen
) -> None:
    make_reader()
    for code in (9, 10, 2, 11):  # 9 * 2 #
        clock_in(factory, bits_of(code ^ 0xF, 4) + bits_of(code, 4))
        time.sleep(GAP_S * 2)
    assert seen.wait_inputs(2) == [PinCleared(), PinEntered("2")]


def test_keypad_pause_past_the_pin_timeout_forgets_the_digits(
    make_reader: Callable[..., WiegandReader], factory: MockFactory, seen: Seen
) -> None:
    now = [50.0]
    make_reader(pin_timeout_s=10.0, clock=lambda: now[0])
    key_burst(factory, 1)
    key_burst(factory, 2)
    now[0] += 30.0  # the patron walked away; the next one types 3 #
    key_burst(factory, 3)
    key_burst(factory, 11)
    assert seen.wait_inputs(1) == [PinEntered("3")]


def test_a_stray_burst_is_a_fault(
    make_reader: Callable[..., WiegandReader], factory: MockFactory, seen: Seen
) -> None:
    make_reader()
    clock_in(factory, [0, 1, 1])
    assert seen.wait_inputs(1) == [ReaderFault("Wiegand: 3 bits, expected 4, 8, 26 or 34")]


def test_a_noise_burst_longer_than_any_frame_is_one_fault(
    make_reader: Callable[..., WiegandReader], factory: MockFactory, seen: Seen
) -> None:
    make_reader()
    clock_in(factory, [1, 0] * 50)
    assert seen.wait_inputs(1) == [ReaderFault("Wiegand: 100 bits, expected 4, 8, 26 or 34")]


def test_close_releases_the_pins(
    make_reader: Callable[..., WiegandReader], factory: MockFactory, seen: Seen
) -> None:
    make_reader().close()
    make_reader()  # the same pins again: they were released
    clock_in(factory, with_parity(bits_of(1, 24)))
    assert seen.wait_inputs(1) == [card("00000001")]


def test_one_pin_for_both_lines_is_refused(factory: MockFactory, seen: Seen) -> None:
    with pytest.raises(ValueError, match="d0_pin and d1_pin are both 5"):
        WiegandReader("w1", 5, 5, seen.on_input, pin_factory=factory)
