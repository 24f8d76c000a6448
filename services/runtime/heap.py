"""The garbage collector kept out of the door's way.

CPython's full collection walks every tracked object while holding the GIL. In a door controller
with its libraries, settings and lists loaded, that walk took 170–200 ms, and every thread waited
for it: the fire input's and the exit button's too. What is loaded at start lives as long as the
process, so it is collected once and then frozen; later collections walk only what came since.
"""

from __future__ import annotations

import gc


def settle_heap() -> None:
    """Collect what start-up left behind, then keep every object alive now out of later
    collections (``gc.freeze``): call once, after start-up and before the first input."""
    gc.collect()
    gc.freeze()
