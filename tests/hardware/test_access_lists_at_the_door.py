"""Groups, bans, codes, companions, CPR at the pad and sign-up at a door: the controller on
MockFactory pins, deciding from its own SQLite copy of the lists and its local registry."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from services.core.credentials import Credential, SiteKey
from services.core.events import EventType
from services.core.groups import parse_windows
from services.core.readers import PinEntered
from services.patrons import access_lists as lists
from services.patrons import list_snapshot
from services.patrons.list_distribution import ListReceiver
from tests.hardware.test_controller import (
    CARD,
    CPH,
    PAD,
    PIN,
    SELF_SERVICE,
    Rig,
    build_rig,
    make_settings,
    walk_in,
)

DAWN = datetime(2026, 11, 25, 6, 0, tzinfo=CPH)  # a Wednesday, before the 07:00 opening
CLEANER = "20000001"
KAREN_CPR = "1204751234"
SITE = "glostrup"
KEY = SiteKey(b"k" * 32)  # the rig's


def edit(rig: Rig, change) -> None:  # type: ignore[no-untyped-def]
    """Staff edit the lists in the rig's database; the door reads its stored copy again (as a
    restart does: a door's lookups decide from memory, never from a query)."""
    with rig.sessions.begin() as session:
        change(session)
    assert rig.ctl.gate.lists is not None
    rig.ctl.gate.lists.load()


def pad(rig: Rig, digits: str) -> None:
    rig.ctl.on_reader_input(PAD, PinEntered(digits))
    assert rig.ctl.wait_idle()


def granted(rig: Rig) -> str:
    return rig.sink.last(EventType.ACCESS_GRANTED).reason or ""


def denied(rig: Rig) -> str:
    return rig.sink.last(EventType.ACCESS_DENIED).reason or ""


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    yield build_rig(tmp_path, make_settings(), SELF_SERVICE)


@pytest.fixture
def dawn(tmp_path: Path) -> Iterator[Rig]:
    rig = build_rig(tmp_path, make_settings(), DAWN)
    key = KEY
    edit(
        rig,
        lambda s: lists.define_group(
            s, "anne", lists.GroupSpec("cleaners", parse_windows("mon-fri 05:30-07:30")), site=SITE
        ),
    )
    edit(
        rig,
        lambda s: lists.add_member(
            s,
            key,
            "anne",
            "cleaners",
            Credential.from_text(CLEANER),
            name="Rengøring",
            pin="2468",
            site=SITE,
        ),
    )
    yield rig


def test_a_cleaner_opens_the_closed_library_inside_the_window(dawn: Rig) -> None:
    dawn.swipe(CLEANER, "2468")
    assert dawn.lock_released and granted(dawn) == "member"


def test_a_cleaner_with_a_wrong_pin_stays_out_and_the_pin_is_counted(dawn: Rig) -> None:
    dawn.swipe(CLEANER, "1111")
    assert not dawn.lock_released and denied(dawn) == "wrong_pin"


def test_a_patron_at_dawn_finds_the_library_closed(dawn: Rig) -> None:
    dawn.swipe()
    assert denied(dawn) == "closed"


def test_a_ban_keeps_out_a_patron_the_registry_admits(rig: Rig) -> None:
    key = KEY
    edit(
        rig,
        lambda s: lists.ban(
            s,
            key,
            "anne",
            Credential.from_text(CARD),
            until=None,
            reason="threatened staff",
            site=SITE,
        ),
    )
    rig.swipe()
    assert not rig.lock_released and denied(rig) == "banned"
    event = rig.sink.last(EventType.ACCESS_DENIED)
    assert "threatened" not in event.to_json().decode()  # the reason is for staff


def issue(
    rig: Rig, label: str = "carpenter", uses: int = 1, doors: frozenset[str] = frozenset()
) -> str:
    key = KEY
    start = SELF_SERVICE - timedelta(hours=1)
    codes: list[str] = []
    edit(
        rig,
        lambda s: codes.append(
            lists.issue_code(
                s,
                key,
                "anne",
                label,
                valid_from=start.astimezone(UTC),
                valid_until=(start + timedelta(hours=4)).astimezone(UTC),
                max_uses=uses,
                doors=doors,
                site=SITE,
            )
        ),
    )
    return codes[0]


def test_a_code_opens_without_a_card_for_its_uses_only(rig: Rig) -> None:
    code = issue(rig, uses=1)
    pad(rig, code)
    assert rig.lock_released and granted(rig) == "code"
    rig.hold(6)
    pad(rig, code)
    assert not rig.lock_released and denied(rig) == "code_used_up"


def test_a_code_for_another_door_does_not_open_this_one(rig: Rig) -> None:
    pad(rig, issue(rig, doors=frozenset({"cellar"})))
    assert denied(rig) == "not_this_door"


def test_guessed_codes_are_throttled_like_pins(rig: Rig) -> None:
    code = issue(rig)
    for guess in ("111111", "222222", "333333", "444444", "555555"):
        pad(rig, guess)
        assert denied(rig) == "unknown_code"
    pad(rig, code)  # even the right code waits while the reader is under attack
    assert not rig.lock_released and denied(rig) == "reader_throttled"
    assert EventType.READER_ATTACK in rig.sink.types()


def test_companions_stated_at_the_pad_pass_without_a_tailgating_event(tmp_path: Path) -> None:
    rig = build_rig(tmp_path, make_settings(max_companions=2, capacity=10), SELF_SERVICE)
    rig.swipe(CARD, None)
    pad(rig, "2")
    pad(rig, PIN)
    assert rig.lock_released
    assert rig.sink.last(EventType.ACCESS_GRANTED).details["companions"] == 2
    rig.factory.pin(27).drive_high()
    rig.hold()
    for _ in range(3):
        walk_in(rig)
    assert EventType.DOOR_TAILGATING not in rig.sink.types()
    walk_in(rig)  # a fourth person is one too many
    assert rig.sink.last(EventType.DOOR_TAILGATING).details == {"granted": 3, "entered": 4}


def test_more_companions_than_the_site_allows_are_refused(tmp_path: Path) -> None:
    rig = build_rig(tmp_path, make_settings(max_companions=1), SELF_SERVICE)
    rig.swipe(CARD, None)
    pad(rig, "3")
    pad(rig, PIN)
    assert not rig.lock_released and denied(rig) == "too_many_companions"


def test_a_forgotten_card_cpr_typed_at_the_pad_then_the_pin(tmp_path: Path) -> None:
    rig = build_rig(tmp_path, make_settings(cpr_pad_prefix="0"), SELF_SERVICE)
    rig.registry.add_patron("Karen Cpr", [Credential.from_text(KAREN_CPR)], pin="9753")
    pad(rig, "0" + KAREN_CPR)
    assert not rig.lock_released  # waits for the PIN
    pad(rig, "9753")
    assert rig.lock_released and granted(rig) == "granted"
    assert rig.sink.last(EventType.ACCESS_GRANTED).details["kind"] == "cpr"


def test_cpr_at_the_pad_is_ignored_where_the_site_does_not_allow_it(rig: Rig) -> None:
    rig.registry.add_patron("Karen Cpr", [Credential.from_text(KAREN_CPR)], pin="9753")
    pad(rig, "0" + KAREN_CPR)
    pad(rig, "9753")
    assert not rig.lock_released and EventType.ACCESS_GRANTED not in rig.sink.types()


def test_a_site_that_requires_signup_sends_the_patron_to_the_kiosk(tmp_path: Path) -> None:
    rig = build_rig(tmp_path, make_settings(signup_required=True), SELF_SERVICE)
    rig.swipe()
    assert denied(rig) == "signup_required"
    key = KEY
    edit(rig, lambda s: lists.sign_up(s, key, "anne", Credential.from_text(CARD), site=SITE))
    rig.hold(2)
    rig.swipe()
    assert rig.lock_released and granted(rig) == "granted"


def test_a_ban_ends_at_its_until_instant_by_the_controllers_clock(rig: Rig) -> None:
    """The door's copy still holds the ban (the server has not sent the next snapshot): the
    decision ignores it from its end on, by the controller's own clock."""
    card = KEY.credential_hash(Credential.from_text(CARD))
    ends = rig.clock.wall + timedelta(minutes=30)
    snapshot = {
        "version": 99,
        "groups": [],
        "bans": [[card, ends.astimezone(UTC).isoformat(), ""]],
        "codes": [],
        "signups": [],
    }
    assert rig.ctl.gate.lists is not None
    receiver = ListReceiver(rig.sessions, rig.ctl.gate.lists)
    assert receiver.apply(list_snapshot.encode(snapshot))
    receiver.close()
    rig.swipe()
    assert not rig.lock_released and denied(rig) == "banned"
    rig.clock.advance(30 * 60)
    rig.ctl.tick()
    rig.swipe()
    assert rig.lock_released and granted(rig) == "granted"
