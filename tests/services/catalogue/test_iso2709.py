"""ISO 2709 records read by their directory, and the shortcut for records laid out as written."""

from __future__ import annotations

import random

import pytest

from services.catalogue import iso2709
from services.store.catalogue import RecordError
from tests.services.catalogue.records import danmarc
from tests.services.catalogue.records import iso2709 as encode

RECORD = encode(
    danmarc(
        "29000007", "Kvinden i buret", surname="Adler-Olsen", forenames="Jussi",
        isbn13="978-87-567-9039-0", year="2007", subjects=("krimi", "København"),
        copies=({"x": "3740001001", "f": "Voksen", "u": "Hjemme"},),
    )
)  # fmt: skip


def by_directory(chunk: bytes) -> tuple[list[tuple[str, bytes]], list[str]] | str:
    try:
        return iso2709._by_directory(chunk)
    except RecordError as exc:
        return str(exc)


def test_a_record_as_written_reads_the_same_by_its_shortcut_and_by_its_directory() -> None:
    assert iso2709._as_written(RECORD) is not None
    assert by_directory(RECORD) == (iso2709._as_written(RECORD), [])


@pytest.mark.parametrize("seed", range(4))
def test_the_shortcut_takes_only_records_that_its_directory_reads_alike(seed: int) -> None:
    # Damaged copies of a record: a byte changed, dropped or added anywhere before its
    # terminator. Whatever the shortcut accepts, reading by the directory gives the same
    # fields without a warning; the rest is left to the directory (and its error messages).
    rng = random.Random(seed)
    accepted = 0
    for _ in range(3000):
        chunk = bytearray(RECORD[:-1])
        at = rng.randrange(len(chunk))
        byte = rng.choice(b"0123456789\x1e\x1fa ")
        match rng.randrange(3):
            case 0:
                chunk[at] = byte
            case 1:
                del chunk[at]
            case _:
                chunk.insert(at, byte)
        damaged = bytes(chunk) + iso2709.RECORD_TERMINATOR
        fields = iso2709._as_written(damaged)
        if fields is not None:
            accepted += 1
            assert by_directory(damaged) == (fields, [])
    assert accepted > 0
