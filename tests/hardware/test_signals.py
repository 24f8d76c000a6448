"""Every reason has a pattern, and the families a patron must tell apart differ."""

from __future__ import annotations

from hardware.signals import _FAMILY, NOT_NOW, SEE_STAFF, TRY_AGAIN, WELCOME, pattern_for
from services.core.access import Decision, Reason


def test_every_reason_has_a_pattern() -> None:
    assert set(_FAMILY) == set(Reason)


def test_grant_is_green_and_every_denial_red() -> None:
    assert pattern_for(Decision.grant()) is WELCOME
    for reason in Reason:
        if reason not in (
            Reason.GRANTED,
            Reason.STAFFED,
            Reason.MEMBER,
            Reason.CODE,
            Reason.BOOKING,
        ):
            assert pattern_for(Decision.denied(reason)).led == "red"


def test_a_typo_sounds_different_from_see_staff_and_from_closed() -> None:
    typo = pattern_for(Decision.denied(Reason.WRONG_PIN))
    assert typo is TRY_AGAIN
    assert pattern_for(Decision.denied(Reason.PATRON_BLOCKED)) is SEE_STAFF
    assert pattern_for(Decision.denied(Reason.CLOSED)) is NOT_NOW
    assert len({TRY_AGAIN, SEE_STAFF, NOT_NOW}) == 3


def test_a_ban_and_a_missing_signup_show_the_polite_see_staff() -> None:
    assert pattern_for(Decision.denied(Reason.BANNED)) is SEE_STAFF
    assert pattern_for(Decision.denied(Reason.SIGNUP_REQUIRED)) is SEE_STAFF
