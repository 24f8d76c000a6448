"""Staff commands: accepted only when well-formed, fresh and first seen."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from services.core.access import DoorMode
from services.core.commands import Action, Command, Rejection, SeenIds, parse_command

NOW = datetime(2025, 3, 1, 9, 0, 0, tzinfo=timezone(timedelta(hours=1)))
MAX_AGE = 10.0


def payload(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "ts": NOW.isoformat(),
        "action": "lock",
        "by": "staff:anne",
        "reason": "closing",
    }
    base.update(fields)
    return {k: v for k, v in base.items() if v is not ...}


def parse(raw: bytes | dict[str, Any], seen: SeenIds | None = None) -> Command | Rejection:
    data = raw if isinstance(raw, bytes) else json.dumps(raw).encode()
    return parse_command(
        data, door="main", now=NOW, max_age_s=MAX_AGE, seen=seen if seen is not None else SeenIds()
    )


def rejected(result: Command | Rejection) -> Rejection:
    assert isinstance(result, Rejection), result
    return result


# --- happy paths -------------------------------------------------------------------------


def test_unlock_with_seconds_is_accepted() -> None:
    p = payload(action="unlock", seconds=60, reason="delivery")
    cmd = parse(p)
    assert cmd == Command(
        id=p["id"],
        ts=NOW,
        door="main",
        action=Action.UNLOCK,
        by="staff:anne",
        reason="delivery",
        seconds=60.0,
    )


@pytest.mark.parametrize("action", ["lock", "pulse"])
def test_lock_and_pulse_need_no_extra_fields(action: str) -> None:
    cmd = parse(payload(action=action))
    assert isinstance(cmd, Command)
    assert cmd.action == Action(action)
    assert cmd.seconds is None and cmd.mode is None


@pytest.mark.parametrize("mode", list(DoorMode))
def test_mode_command_carries_the_door_mode(mode: DoorMode) -> None:
    cmd = parse(payload(action="mode", mode=mode.value))
    assert isinstance(cmd, Command)
    assert cmd.mode is mode


def test_timestamp_in_another_offset_is_compared_as_an_instant() -> None:
    ts = (NOW - timedelta(seconds=3)).astimezone(UTC).isoformat()
    assert isinstance(parse(payload(ts=ts)), Command)


def test_a_little_clock_skew_into_the_future_is_tolerated() -> None:
    assert isinstance(parse(payload(ts=(NOW + timedelta(seconds=4)).isoformat())), Command)


def test_empty_reason_is_allowed() -> None:
    assert isinstance(parse(payload(reason="")), Command)


def test_accepted_id_is_remembered() -> None:
    seen = SeenIds()
    p = payload()
    parse(p, seen)
    assert p["id"] in seen


# --- rejections --------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [b"", b"{", b"unlock please", b"\xff\xfe\x00garbage"])
def test_not_json_is_rejected(raw: bytes) -> None:
    r = rejected(parse(raw))
    assert r.reason.startswith("not JSON")
    assert r.command_id is None


@pytest.mark.parametrize("raw", [b"[]", b"42", b'"unlock"', b"null"])
def test_json_that_is_not_an_object_is_rejected(raw: bytes) -> None:
    assert rejected(parse(raw)).reason.startswith("not a JSON object")


@pytest.mark.parametrize("bad_id", [..., 7, "not-a-uuid", ""])
def test_missing_or_malformed_id_is_rejected_without_id(bad_id: Any) -> None:
    r = rejected(parse(payload(id=bad_id)))
    assert r.reason.startswith("id:")
    assert r.command_id is None


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("ts", ..., "ts: missing"),
        ("ts", 1740816000, "ts: missing or not a string"),
        ("ts", "yesterday", "ts: not an ISO-8601 time"),
        ("ts", "2025-03-01T09:00:00", "ts: no UTC offset"),
        ("action", ..., "action: missing"),
        ("action", "open_sesame", "action: 'open_sesame' is not one of"),
        ("action", ["unlock"], "action: missing or not a string"),
        ("by", ..., "by: missing"),
        ("by", "  ", "by: empty"),
        ("by", 12, "by: missing or not a string"),
        ("reason", ..., "reason: missing"),
        ("reason", None, "reason: missing or not a string"),
    ],
)
def test_missing_or_wrong_typed_field_is_rejected_naming_it(
    field: str, value: Any, problem: str
) -> None:
    p = payload(**{field: value})
    r = rejected(parse(p))
    assert r.reason.startswith(problem), r.reason
    assert r.command_id == p["id"]


@pytest.mark.parametrize(
    ("seconds", "problem"),
    [
        (..., "seconds: missing"),
        ("60", "seconds: missing or not a number"),
        (True, "seconds: missing or not a number"),
        (0, "seconds: 0 is not between 1 and 3600"),
        (0.5, "seconds: 0.5 is not between"),
        (3601, "seconds: 3601 is not between"),
        (-5, "seconds: -5 is not between"),
    ],
)
def test_unlock_with_bad_seconds_is_rejected(seconds: Any, problem: str) -> None:
    r = rejected(parse(payload(action="unlock", seconds=seconds)))
    assert r.reason.startswith(problem), r.reason


def test_unlock_with_infinite_seconds_is_rejected() -> None:
    raw = json.dumps(payload(action="unlock")).encode()[:-1] + b', "seconds": Infinity}'
    assert "seconds: inf is not between" in rejected(parse(raw)).reason


@pytest.mark.parametrize("mode", [..., "party", 1, None])
def test_mode_command_with_bad_mode_is_rejected(mode: Any) -> None:
    r = rejected(parse(payload(action="mode", mode=mode)))
    assert r.reason.startswith("mode:") and "normal, lockdown, out_of_service" in r.reason


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"action": "lock", "seconds": 60}, "seconds: only for unlock, not lock"),
        ({"action": "pulse", "mode": "normal"}, "mode: only for action mode, not pulse"),
    ],
)
def test_field_meant_for_another_action_is_rejected(fields: dict[str, Any], problem: str) -> None:
    assert rejected(parse(payload(**fields))).reason == problem


def test_command_older_than_max_age_is_rejected() -> None:
    p = payload(ts=(NOW - timedelta(seconds=MAX_AGE + 0.5)).isoformat())
    r = rejected(parse(p))
    assert r.reason == "ts: 10.5 s old, more than 10 s"
    assert r.command_id == p["id"]


def test_command_exactly_max_age_old_is_still_accepted() -> None:
    assert isinstance(parse(payload(ts=(NOW - timedelta(seconds=MAX_AGE)).isoformat())), Command)


def test_command_from_the_future_is_rejected() -> None:
    r = rejected(parse(payload(ts=(NOW + timedelta(seconds=30)).isoformat())))
    assert r.reason == "ts: 30.0 s in the future"


def test_replayed_command_is_rejected() -> None:
    seen = SeenIds()
    p = payload(action="unlock", seconds=30)
    assert isinstance(parse(p, seen), Command)
    r = rejected(parse(p, seen))
    assert r.reason == "id: seen before (replayed command)"
    assert r.command_id == p["id"]


def test_rejected_command_does_not_use_up_its_id() -> None:
    seen = SeenIds()
    p = payload(action="unlock")  # no seconds: rejected
    rejected(parse(p, seen))
    assert p["id"] not in seen
    assert isinstance(parse({**p, "seconds": 5}, seen), Command)


def test_naive_clock_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="now"):
        parse_command(b"{}", door="main", now=datetime(2025, 1, 1), max_age_s=1, seen=SeenIds())


# --- SeenIds -----------------------------------------------------------------------------


def test_seen_ids_forgets_the_oldest_when_full() -> None:
    seen = SeenIds(capacity=3)
    for cid in ("a", "b", "c", "d"):
        seen.add(cid)
    assert len(seen) == 3
    assert "a" not in seen
    assert all(cid in seen for cid in ("b", "c", "d"))


def test_seen_ids_refreshes_an_id_added_again() -> None:
    seen = SeenIds(capacity=2)
    seen.add("a")
    seen.add("b")
    seen.add("a")  # "a" is now the newest
    seen.add("c")
    assert "a" in seen and "b" not in seen


def test_seen_ids_needs_room_for_one() -> None:
    with pytest.raises(ValueError):
        SeenIds(capacity=0)


# --- ids are compared as UUIDs, fields are bounded ------------------------------------------


@pytest.mark.parametrize(
    "spelling",
    [
        lambda u: str(u).upper(),
        lambda u: u.hex,
        lambda u: u.hex.upper(),
        lambda u: u.urn,
        lambda u: "{" + str(u) + "}",
    ],
    ids=["upper", "no-dashes", "no-dashes-upper", "urn", "braces"],
)
def test_the_same_uuid_spelled_differently_is_a_replay(spelling: Any) -> None:
    seen = SeenIds()
    original = uuid.uuid4()
    first = parse(payload(id=str(original)), seen)
    assert isinstance(first, Command)
    r = rejected(parse(payload(id=spelling(original)), seen))
    assert r.reason == "id: seen before (replayed command)"
    assert r.command_id == str(original)


def test_an_accepted_id_is_kept_in_its_canonical_spelling() -> None:
    original = uuid.uuid4()
    cmd = parse(payload(id=original.urn.upper().replace("URN:UUID:", "urn:uuid:")))
    assert isinstance(cmd, Command)
    assert cmd.id == str(original)


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"by": "staff:" + "x" * 900_000}, "by: 900006 characters, more than 100"),
        ({"reason": "r" * 501}, "reason: 501 characters, more than 500"),
        ({"action": "a" * 5000}, "action: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa… is not one of"),
        ({"action": "mode", "mode": "m" * 5000}, "mode: 'mmmmmmmmmmmmmmmmmmmmmmmmmmmmmm… is not"),
        ({"ts": "t" * 5000}, "ts: not an ISO-8601 time: 'tttttttttttttttttttttttttttttt…"),
        (
            {"action": "unlock", "seconds": 10**4000},
            "seconds: 1000000000000000000000000000000… is not between",
        ),
    ],
)
def test_oversized_fields_are_rejected_and_not_copied(fields: dict[str, Any], problem: str) -> None:
    p = payload(**fields)
    raw = json.dumps(p).encode()
    r = rejected(
        parse_command(raw, door="main", now=NOW, max_age_s=MAX_AGE, seen=SeenIds(), max_bytes=10**7)
    )
    assert r.reason.startswith(problem), r.reason
    assert len(r.reason) < 200
    assert r.command_id == p["id"]


def test_a_command_larger_than_the_bound_is_rejected_before_it_is_read() -> None:
    raw = json.dumps(payload(reason="x" * 5000)).encode()
    r = rejected(parse(raw))
    assert r.reason == f"too large: {len(raw)} bytes, more than 4096"
    assert r.command_id is None


def test_a_non_uuid_id_is_shown_shortened() -> None:
    r = rejected(parse(payload(id="i" * 1000)))
    assert r.reason.startswith("id: missing or not a UUID: 'iiii")
    assert len(r.reason) < 100
