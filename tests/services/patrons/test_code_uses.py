"""A code's uses summed over the site's controllers: merged as grow-only counts per controller,
robust to messages heard twice, late or broken; the offline bound as documented."""

from __future__ import annotations

import json

from services.patrons.code_uses import SiteCodeUses


def published(controller: str, **uses: int) -> bytes:
    return json.dumps({"controller": controller, "uses": uses}).encode()


def test_the_uses_of_a_code_are_the_sum_over_the_controllers() -> None:
    entrance = SiteCodeUses("door-entrance")
    entrance.count("c1")
    assert entrance.heard("door-basement", published("door-basement", c1=2, c2=1))
    assert entrance.total("c1") == 3 and entrance.total("c2") == 1
    assert entrance.own_count("c1") == 1
    assert json.loads(entrance.own_payload()) == {"controller": "door-entrance", "uses": {"c1": 1}}


def test_a_count_heard_twice_or_late_changes_nothing() -> None:
    uses = SiteCodeUses("door-entrance")
    uses.heard("door-basement", published("door-basement", c1=2))
    uses.heard("door-basement", published("door-basement", c1=2))  # again (a reconnect)
    uses.heard("door-basement", published("door-basement", c1=1))  # an older retained one
    assert uses.total("c1") == 2


def test_broken_counts_are_ignored_and_keep_what_was_heard() -> None:
    uses = SiteCodeUses("door-entrance")
    uses.heard("door-basement", published("door-basement", c1=1))
    for bad in (b"", b"{", b'{"uses": 3}', b'{"no": 1}', published("door-basement", c1=-5)):
        uses.heard("door-basement", bad)
    assert uses.total("c1") == 1


def test_the_own_count_comes_back_from_the_brokers_copy() -> None:
    """A controller whose database was lost hears its own retained count and keeps it."""
    uses = SiteCodeUses("door-entrance")
    uses.heard("door-entrance", published("door-entrance", c1=2))
    assert uses.own_count("c1") == 2 and uses.count("c1") == 3


def test_offline_a_controller_admits_at_most_n_itself() -> None:
    """Cut off, each controller counts only what it made and heard: with max 2 uses, two
    controllers that never hear each other may admit 2 each (k x N), never more."""
    cut_off = [SiteCodeUses("door-entrance"), SiteCodeUses("door-basement")]
    admitted = 0
    for controller in cut_off:
        while controller.total("c1") < 2:
            controller.count("c1")
            admitted += 1
    assert admitted == 4
    assert all(c.total("c1") == 2 for c in cut_off)


def test_revoked_codes_leave_the_own_count_and_a_code_heard_early_is_kept() -> None:
    uses = SiteCodeUses("door-entrance")
    uses.count("gone")
    uses.heard("door-basement", published("door-basement", early=1))
    uses.keep_only({"kept"})  # an older snapshot here, without the basement's new code
    assert uses.own_count("gone") == 0 and b"gone" not in uses.own_payload()
    assert uses.total("early") == 1  # still counted when the newer snapshot brings it
