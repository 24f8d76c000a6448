"""Bans, PIN-pad codes and the pad's language, each on its own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.core.bans import Ban, active_ban
from services.core.codes import CodeRefusal, PadCode, looks_like_code, new_code
from services.core.pad_entry import (
    CodeTyped,
    CompanionsStated,
    CprTyped,
    PinForCard,
    read_pad,
)

NOW = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)


def test_a_ban_covers_until_its_end_and_then_ends_by_itself() -> None:
    ban = Ban("h", until=NOW + timedelta(days=1))
    assert ban.covers(NOW, "main")
    assert not ban.covers(NOW + timedelta(days=1), "main")
    assert Ban("h", until=None).covers(NOW + timedelta(days=3650), "main")


def test_a_ban_may_cover_only_some_doors() -> None:
    ban = Ban("h", until=None, doors=frozenset({"cellar"}))
    assert active_ban([ban], NOW, "cellar") is ban
    assert active_ban([ban], NOW, "main") is None


def test_the_ban_hash_and_reason_stay_out_of_repr() -> None:
    assert "secret-hash" not in repr(Ban("secret-hash", None, reason="x"))


def code(**kw: object) -> PadCode:
    fields: dict[str, object] = {
        "code_hash": "c",
        "label": "carpenter",
        "valid_from": NOW,
        "valid_until": NOW + timedelta(hours=4),
    }
    fields.update(kw)
    return PadCode(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("moment", "door", "kw", "refusal"),
    [
        (NOW, "main", {}, None),
        (NOW - timedelta(seconds=1), "main", {}, CodeRefusal.NOT_YET),
        (NOW + timedelta(hours=4), "main", {}, CodeRefusal.EXPIRED),
        (NOW, "main", {"uses": 1}, CodeRefusal.USED_UP),
        (NOW, "main", {"uses": 2, "max_uses": 3}, None),
        (NOW, "main", {"doors": frozenset({"cellar"})}, CodeRefusal.OTHER_DOOR),
        (NOW, "cellar", {"doors": frozenset({"cellar"})}, None),
    ],
)
def test_a_code_opens_inside_its_window_uses_and_doors(
    moment: datetime, door: str, kw: dict[str, object], refusal: CodeRefusal | None
) -> None:
    assert code(**kw).refusal(moment, door) is refusal


def test_a_code_must_have_a_window_and_a_use() -> None:
    with pytest.raises(ValueError, match="end after"):
        code(valid_until=NOW)
    with pytest.raises(ValueError, match="max uses"):
        code(max_uses=0)


def test_new_codes_have_a_codes_shape() -> None:
    assert all(looks_like_code(new_code(n)) for n in (6, 7, 8))
    with pytest.raises(ValueError):
        new_code(4)


@pytest.mark.parametrize(
    ("digits", "card_waiting", "prefix", "entry"),
    [
        ("1234", True, "", PinForCard("1234")),
        ("2", True, "", CompanionsStated(2)),
        ("0", True, "", PinForCard("0")),  # not a companion count: a (wrong) PIN
        ("123456", False, "", CodeTyped("123456")),
        ("12345678", False, "", CodeTyped("12345678")),
        ("1234", False, "", None),  # a PIN without a card
        ("01512901234", False, "0", CprTyped("1512901234")),
        ("01512901234", False, "", None),  # the site does not allow CPR at the pad
        ("03213901234", False, "0", None),  # no such date
        ("0151290123", False, "0", None),
    ],
)
def test_the_pads_language(digits: str, card_waiting: bool, prefix: str, entry: object) -> None:
    assert read_pad(digits, card_waiting=card_waiting, cpr_prefix=prefix) == entry
