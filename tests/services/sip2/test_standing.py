"""The door's reading of a patron reply: BL and CQ both ``Y``, flags to standing, birth date."""

from __future__ import annotations

from datetime import date

import pytest

from services.core.credentials import Credential, CredentialKind
from services.core.patrons import PatronStatus, PinCheck
from services.sip2.messages import decode
from services.sip2.replies import PatronReply
from services.sip2.standing import authentication, check_deny_flags, status_of

CARD = Credential(CredentialKind.CARD, "9000000001")


def reply(fields: str, status: str = " " * 14, command: str = "24") -> PatronReply:
    """A patron reply from the fixed part and identified fields given."""
    counts = "0000" * 6 if command == "64" else ""
    frame = f"{command}{status}00920260302    101010{counts}AODK-761500|{fields}\r"
    return PatronReply.from_message(decode(frame.encode(), charset="utf-8"))


def test_valid_patron_and_valid_password_both_y_is_a_patron_with_an_accepted_pin() -> None:
    auth = authentication(reply("AA9000000001|AESøren|BLY|CQY|PB19800301|"), CARD, "1234", "p1")
    assert auth.pin is PinCheck.OK and auth.reachable
    assert auth.patron is not None
    assert (auth.patron.patron_id, auth.patron.name, auth.patron.status) == (
        "p1",
        "Søren",
        PatronStatus.ACTIVE,
    )
    assert auth.patron.birth_date == date(1980, 3, 1)


def test_valid_password_n_is_a_wrong_pin() -> None:
    auth = authentication(reply("AA9000000001|AESøren|BLY|CQN|"), CARD, "9999", "p1")
    assert auth.patron is not None and auth.pin is PinCheck.WRONG


def test_a_missing_valid_password_field_is_a_wrong_pin_not_a_right_one() -> None:
    auth = authentication(reply("AA9000000001|AESøren|BLY|"), CARD, "1234", "p1")
    assert auth.pin is PinCheck.WRONG


@pytest.mark.parametrize("fields", ["AA9|AE|BLN|", "AA9|AE|", "AA9|AE|BLN|CQY|"])
def test_valid_patron_not_y_is_an_unknown_card_whatever_cq_says(fields: str) -> None:
    auth = authentication(reply(fields), CARD, "1234", "p1")
    assert auth.patron is None and auth.reachable


@pytest.mark.parametrize("pin", [None, "", "   "])
def test_a_blank_pin_never_passes_even_when_the_server_says_cq_y(pin: str | None) -> None:
    auth = authentication(reply("AA9000000005|AEUden Pinkode|BLY|CQY|"), CARD, pin, "p5")
    assert auth.pin is PinCheck.NOT_GIVEN


@pytest.mark.parametrize(
    ("position", "status"),
    [
        (0, PatronStatus.BLOCKED),  # charge privileges denied
        (4, PatronStatus.CARD_LOST),  # card reported lost
        (6, PatronStatus.ACTIVE),  # too many items overdue: the desk's business, by default
        (10, PatronStatus.ACTIVE),  # excessive outstanding fines
    ],
)
def test_patron_status_flags_map_to_the_doors_standing(position: int, status: PatronStatus) -> None:
    flags = "".join("Y" if i == position else " " for i in range(14))
    auth = authentication(reply("AA9|AEX|BLY|CQY|", status=flags), CARD, "1", "p")
    assert auth.patron is not None and auth.patron.status is status


def test_a_site_can_keep_the_door_shut_for_more_flags() -> None:
    flags = {"too_many_items_overdue", "excessive_outstanding_fines"}
    assert status_of(flags) is PatronStatus.ACTIVE
    assert status_of(flags, {"too_many_items_overdue"}) is PatronStatus.BLOCKED
    assert status_of({"card_reported_lost", "charge_privileges_denied"}) is PatronStatus.CARD_LOST


def test_an_unknown_deny_flag_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="too_many_cats"):
        check_deny_flags({"too_many_cats"})


def test_birth_date_comes_from_the_cpr_number_when_the_library_system_gives_none() -> None:
    cpr = Credential(CredentialKind.CPR, "0103801234")
    auth = authentication(reply("AA0103801234|AECarl|BLY|CQY|"), cpr, "0000", "p")
    assert auth.patron is not None and auth.patron.birth_date == date(1980, 3, 1)
    card = authentication(reply("AA9000000001|AECarl|BLY|CQY|"), CARD, "0000", "p")
    assert card.patron is not None and card.patron.birth_date is None


def test_fbs_patron_information_with_ln_prefix_and_every_list_in_one_reply() -> None:
    parsed = reply(
        "AALN:9000000001|AETestlåner|BZ9999|CA9999|CB9999|BLY|CQY|BHDKK|BV0.00|CC220.00|"
        "AS25502760%3844823850%kasse 58%20260310%DK-761500 - Hovedbiblioteket%Mononoke%%m|"
        "AU5120684762%20260301%Kubo%%m%th%77.74|AT5120684762%20260301%Kubo%%m%th%77.74|"
        "PB19540215|",
        status="  Y           ",
        command="64",
    )
    assert parsed.identifier_prefix == "LN"
    assert parsed.flags == {"recall_privileges_denied"}
    assert parsed.birth_date == date(1954, 2, 15)
    assert len(parsed.charged_items) == len(parsed.overdue_items) == len(parsed.hold_items) == 1
    assert ("PB", "19540215") in parsed.extensions and ("BZ", "9999") not in parsed.extensions
