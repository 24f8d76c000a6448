"""The uses of one-time codes, counted for the whole site, not per controller.

A code "for N uses" may be typed at any door of the site, and two controllers each hold a copy
of the lists. Each controller counts the entries made at its own doors and publishes that count,
retained, on ``<prefix>/<site>/code_uses/<controller>``; every controller reads the others' and
takes a code's uses as the sum over the controllers (a grow-only counter per controller: merging
takes the larger count, so a message heard twice or out of order changes nothing). The retained
messages bring a restarted or reconnected controller up to date.

Offline: a controller that cannot reach the broker decides from its own count plus the last
counts it heard. So a code can be used more than N times only while controllers cannot hear each
other: each controller still admits at most N in total, so a code of N uses admits at most N
times per controller cut off (k x N for k controllers that heard nothing), and two entries at two
controllers within the broker's round trip (milliseconds) may both pass the last use. A
controller never counts fewer uses than it heard or made, and the own count is stored, so a
restart never gives uses back.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterable, Mapping

log = logging.getLogger(__name__)

# A hostile or broken payload must not grow the counters without bound.
MAX_CODES = 100_000


class SiteCodeUses:
    """Uses per code, by controller; ``own`` is this controller's component name."""

    def __init__(self, own: str = "") -> None:
        self.own = own
        self._by: dict[str, dict[str, int]] = {own: {}}
        self._lock = threading.Lock()

    def total(self, code_hash: str) -> int:
        """Every controller's uses of the code, as far as heard."""
        with self._lock:
            return sum(counts.get(code_hash, 0) for counts in self._by.values())

    def own_count(self, code_hash: str) -> int:
        """The uses made at this controller's doors."""
        with self._lock:
            return self._by[self.own].get(code_hash, 0)

    def restore(self, own: Mapping[str, int]) -> None:
        """This controller's stored counts (at start); a larger count already heard stays."""
        with self._lock:
            mine = self._by[self.own]
            for code_hash, uses in own.items():
                mine[code_hash] = max(mine.get(code_hash, 0), uses)

    def count(self, code_hash: str) -> int:
        """One entry on the code at this controller; the own count now."""
        with self._lock:
            mine = self._by[self.own]
            mine[code_hash] = mine.get(code_hash, 0) + 1
            return mine[code_hash]

    def keep_only(self, codes: Iterable[str]) -> None:
        """Forget this controller's counts of codes no longer issued (revoked), so its payload
        does not grow for ever. The others' counts stay: a controller with an older snapshot
        may have heard of a code its next snapshot brings."""
        live = set(codes)
        with self._lock:
            mine = self._by[self.own]
            for gone in [h for h in mine if h not in live]:
                del mine[gone]

    def own_payload(self) -> bytes:
        """This controller's counts, as published (retained)."""
        with self._lock:
            uses = dict(sorted(self._by[self.own].items()))
        return json.dumps({"controller": self.own, "uses": uses}, separators=(",", ":")).encode()

    def heard(self, controller: str, payload: bytes) -> bool:
        """Merge a controller's published counts; False (and nothing changed) if unusable.

        The own topic is merged too: after a lost database, the broker's copy gives the count
        back. Counts only grow: a smaller one (an old retained message) changes nothing.
        """
        if not payload:
            return False
        try:
            message = json.loads(payload)
            uses = message["uses"]
            if not isinstance(uses, dict) or len(uses) > MAX_CODES:
                raise ValueError("uses is not a mapping of a sane size")
            counts = {str(h): int(n) for h, n in uses.items() if isinstance(n, int) and n >= 0}
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("code uses from %s not read: %s", controller, exc.__class__.__name__)
            return False
        with self._lock:
            theirs = self._by.setdefault(controller, {})
            grown = {h: n for h, n in counts.items() if n > theirs.get(h, 0)}
            theirs.update(grown)
        if grown:
            log.info("code uses: %d more heard from %s", len(grown), controller)
        return True
