"""The access decision, rule by rule: every Reason has a case that produces it."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from services.core.access import (
    PATRON_MESSAGE,
    AccessRules,
    Decision,
    DoorContext,
    DoorMode,
    Reason,
    age_on,
    decide,
)
from services.core.patrons import Authentication, Patron, PatronStatus, PinCheck
from services.core.schedule import OpeningState

CPH = ZoneInfo("Europe/Copenhagen")
NOW = datetime(2026, 11, 25, 20, 30, tzinfo=CPH)
ADULT = Patron("P1", "Karen Blixen", birth_date=date(1985, 4, 17))
OK = Authentication(ADULT, PinCheck.OK)
SELF = DoorContext(opening=OpeningState.SELF_SERVICE)
RULES = AccessRules(pin_required=True, min_age_unstaffed=15, capacity=150)


def test_adult_with_right_pin_in_self_service_is_granted() -> None:
    assert decide(NOW, OK, SELF, RULES) == Decision.grant()


def test_staffed_hours_grant_whatever_the_card() -> None:
    unknown = Authentication(None, PinCheck.NOT_GIVEN)
    ctx = replace(SELF, opening=OpeningState.STAFFED)
    assert decide(NOW, unknown, ctx, RULES) == Decision.grant(Reason.STAFFED)


def test_closed_denies_even_a_valid_patron() -> None:
    ctx = replace(SELF, opening=OpeningState.CLOSED)
    assert decide(NOW, OK, ctx, RULES) == Decision.denied(Reason.CLOSED)


@pytest.mark.parametrize(
    ("ctx", "reason"),
    [
        (replace(SELF, fire_alarm=True), Reason.FIRE_ALARM),
        (replace(SELF, opening=OpeningState.STAFFED, fire_alarm=True), Reason.FIRE_ALARM),
        (replace(SELF, mode=DoorMode.LOCKDOWN), Reason.LOCKDOWN),
        (replace(SELF, opening=OpeningState.STAFFED, mode=DoorMode.LOCKDOWN), Reason.LOCKDOWN),
        (replace(SELF, mode=DoorMode.OUT_OF_SERVICE), Reason.OUT_OF_SERVICE),
    ],
)
def test_building_states_come_before_everything(ctx: DoorContext, reason: Reason) -> None:
    assert decide(NOW, OK, ctx, RULES) == Decision.denied(reason)


def test_fire_beats_lockdown_and_closed() -> None:
    ctx = replace(SELF, fire_alarm=True, mode=DoorMode.LOCKDOWN, opening=OpeningState.CLOSED)
    assert decide(NOW, OK, ctx, RULES).reason is Reason.FIRE_ALARM


def test_unknown_card_is_denied() -> None:
    assert decide(NOW, Authentication(None, PinCheck.NOT_GIVEN), SELF, RULES).reason is (
        Reason.UNKNOWN_CARD
    )


def test_unreachable_library_system_without_cache_names_that() -> None:
    auth = Authentication(None, PinCheck.NOT_GIVEN, reachable=False)
    assert decide(NOW, auth, SELF, RULES).reason is Reason.LIBRARY_SYSTEM_UNREACHABLE


def test_cached_patron_is_decided_while_library_system_is_unreachable() -> None:
    auth = Authentication(ADULT, PinCheck.OK, reachable=False)
    assert decide(NOW, auth, SELF, RULES).granted


def test_wrong_pin_is_denied() -> None:
    auth = Authentication(ADULT, PinCheck.WRONG)
    assert decide(NOW, auth, SELF, RULES) == Decision.denied(Reason.WRONG_PIN)


def test_missing_pin_is_denied_where_the_site_requires_one() -> None:
    auth = Authentication(ADULT, PinCheck.NOT_GIVEN)
    assert decide(NOW, auth, SELF, RULES) == Decision.denied(Reason.PIN_REQUIRED)


def test_card_alone_admits_where_the_site_needs_no_pin() -> None:
    auth = Authentication(ADULT, PinCheck.NOT_GIVEN)
    assert decide(NOW, auth, SELF, replace(RULES, pin_required=False)).granted


def test_wrong_pin_is_refused_even_where_no_pin_is_required() -> None:
    auth = Authentication(ADULT, PinCheck.WRONG)
    assert decide(NOW, auth, SELF, replace(RULES, pin_required=False)).reason is Reason.WRONG_PIN


def test_locked_out_card_is_denied_even_with_the_right_pin() -> None:
    ctx = replace(SELF, pin_locked_out=True)
    assert decide(NOW, OK, ctx, RULES) == Decision.denied(Reason.PIN_LOCKED_OUT)


def test_pin_blocked_card_is_denied_until_staff_reset() -> None:
    ctx = replace(SELF, pin_blocked=True, pin_locked_out=True)
    assert decide(NOW, OK, ctx, RULES) == Decision.denied(Reason.PIN_BLOCKED)


def test_throttled_reader_refuses_before_looking_at_the_card() -> None:
    ctx = replace(SELF, reader_throttled=True)
    assert decide(NOW, OK, ctx, RULES) == Decision.denied(Reason.READER_THROTTLED)


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (PatronStatus.BLOCKED, Reason.PATRON_BLOCKED),
        (PatronStatus.EXPIRED, Reason.PATRON_EXPIRED),
        (PatronStatus.CARD_LOST, Reason.CARD_LOST),
        (PatronStatus.PIN_BLOCKED, Reason.PIN_BLOCKED),
    ],
)
def test_patron_status_denies(status: PatronStatus, reason: Reason) -> None:
    auth = Authentication(replace(ADULT, status=status), PinCheck.OK)
    assert decide(NOW, auth, SELF, RULES) == Decision.denied(reason)


def test_expiry_date_in_the_past_denies() -> None:
    auth = Authentication(replace(ADULT, expires=date(2026, 11, 24)), PinCheck.OK)
    assert decide(NOW, auth, SELF, RULES).reason is Reason.PATRON_EXPIRED


def test_card_expiring_today_still_admits() -> None:
    auth = Authentication(replace(ADULT, expires=NOW.date()), PinCheck.OK)
    assert decide(NOW, auth, SELF, RULES).granted


def test_fourteen_year_old_without_consent_is_denied_in_self_service() -> None:
    child = replace(ADULT, birth_date=date(2012, 1, 1))
    assert decide(NOW, Authentication(child, PinCheck.OK), SELF, RULES).reason is Reason.UNDER_AGE


def test_fourteen_year_old_with_guardian_consent_is_granted() -> None:
    child = replace(ADULT, birth_date=date(2012, 1, 1), guardian_consent=True)
    assert decide(NOW, Authentication(child, PinCheck.OK), SELF, RULES).granted


def test_fifteenth_birthday_is_the_first_day_alone() -> None:
    teen = replace(ADULT, birth_date=date(2011, 11, 25))
    assert decide(NOW, Authentication(teen, PinCheck.OK), SELF, RULES).granted
    younger = replace(ADULT, birth_date=date(2011, 11, 26))
    assert not decide(NOW, Authentication(younger, PinCheck.OK), SELF, RULES).granted


def test_children_are_welcome_in_staffed_hours() -> None:
    child = replace(ADULT, birth_date=date(2019, 6, 1))
    ctx = replace(SELF, opening=OpeningState.STAFFED)
    assert decide(NOW, Authentication(child, PinCheck.NOT_GIVEN), ctx, RULES).granted


def test_full_building_denies_the_next_patron() -> None:
    assert decide(NOW, OK, replace(SELF, occupancy=149), RULES).granted
    assert decide(NOW, OK, replace(SELF, occupancy=150), RULES).reason is Reason.BUILDING_FULL


def test_leap_day_birthday_counts_on_first_march() -> None:
    assert age_on(date(2008, 2, 29), date(2023, 2, 28)) == 14
    assert age_on(date(2008, 2, 29), date(2023, 3, 1)) == 15


def test_every_reason_has_a_patron_message() -> None:
    assert set(PATRON_MESSAGE) == set(Reason)
    assert Decision.denied(Reason.WRONG_PIN).message == "Forkert pinkode"
