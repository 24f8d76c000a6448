"""What is alive at start-up is kept out of later collections."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from services.runtime.heap import settle_heap


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


@pytest.mark.usefixtures("unfrozen")
def test_what_lives_at_start_is_frozen_and_what_comes_later_is_not() -> None:
    loaded = [[n] for n in range(5000)]  # tracked containers, as a loaded program has
    settle_heap()
    frozen = gc.get_freeze_count()
    assert frozen >= len(loaded)
    later = [[n] for n in range(5000)]
    gc.collect()
    assert gc.get_freeze_count() == frozen  # the later objects stay collectable
    assert len(later) == 5000


@pytest.mark.usefixtures("unfrozen")
def test_start_up_garbage_is_collected_not_frozen() -> None:
    for _ in range(1000):
        cycle: list[object] = []
        cycle.append(cycle)  # garbage only a collection frees
    del cycle
    settle_heap()
    assert gc.garbage == []
    assert not [o for o in gc.get_objects() if isinstance(o, list) and o and o[0] is o]
