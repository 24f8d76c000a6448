"""The admission core and the PIN pad's language: companions, CPR at the pad, codes. Pure."""

from __future__ import annotations

from dataclasses import replace

from hardware.core import effects as fx
from hardware.core import inputs as ci
from hardware.core.inputs import Looked
from services.core.access import Reason
from services.core.bans import Ban
from services.core.codes import PadCode
from services.core.credentials import CredentialKind
from services.core.events import EventType as E
from services.core.local_lists import LocalAnswer
from services.core.lockout import Standing
from services.core.patrons import Authentication, PinCheck
from tests.hardware.core_rig import PIN, SELF_SERVICE, CoreRig, looked, settings

CPR = "1204751234"


def rig_with(**access: object) -> CoreRig:
    s = settings()
    return CoreRig.build(s.model_copy(update={"access": s.access.model_copy(update=access)}))


def test_companions_are_kept_with_the_card_and_reach_the_decision() -> None:
    rig = rig_with(max_companions=2, capacity=10)
    rig.card()
    rig.pin("2")
    assert not [e for e in rig.effects if isinstance(e, fx.StartLookup)]  # the PIN follows
    rig.advance(8)  # stating them took a while: the PIN's time starts again
    rig.pin(PIN)
    rig.answer()
    granted = rig.last(E.ACCESS_GRANTED)
    assert granted.details["companions"] == 2


def test_too_many_companions_are_refused_at_the_decision() -> None:
    rig = rig_with(max_companions=1)
    rig.card()
    rig.pin("3")
    rig.pin(PIN)
    rig.answer()
    assert rig.last(E.ACCESS_DENIED).reason == str(Reason.TOO_MANY_COMPANIONS)


def test_a_code_without_a_card_is_looked_up_without_a_pin_or_the_directory() -> None:
    rig = CoreRig.build()
    rig.pin("482913")
    lookup = rig.lookup()
    assert lookup.credential.kind is CredentialKind.CODE and lookup.pin is None
    code = PadCode("h", "carpenter", SELF_SERVICE.replace(hour=19), SELF_SERVICE.replace(hour=21))
    nobody = Authentication(None, PinCheck.NOT_GIVEN)
    answer = Looked(nobody, Standing(), "h", "p", LocalAnswer(code_typed=True, code=code))
    rig.answer(answer)
    assert rig.last(E.ACCESS_GRANTED).reason == str(Reason.CODE)
    assert not rig.locked["main"]
    recorded = [e for e in rig.effects if isinstance(e, fx.RecordOutcome)][-1]
    assert recorded.code_used and not recorded.wrong


def test_an_unknown_code_counts_as_a_wrong_try_at_the_reader() -> None:
    rig = CoreRig.build()
    rig.pin("111111")
    nobody = Authentication(None, PinCheck.NOT_GIVEN)
    rig.answer(Looked(nobody, Standing(), "h", "p", LocalAnswer(code_typed=True)))
    assert rig.last(E.ACCESS_DENIED).reason == str(Reason.UNKNOWN_CODE)
    recorded = [e for e in rig.effects if isinstance(e, fx.RecordOutcome)][-1]
    assert recorded.wrong and not recorded.code_used


def test_a_cpr_typed_with_the_prefix_waits_for_its_pin_like_a_health_card() -> None:
    rig = rig_with(cpr_pad_prefix="0")
    rig.pin("0" + CPR)
    assert not [e for e in rig.effects if isinstance(e, fx.StartLookup)]
    rig.pin(PIN)
    lookup = rig.lookup()
    assert lookup.credential.kind is CredentialKind.CPR and lookup.pin == PIN
    assert lookup.credential.number == CPR


def test_digits_without_a_card_that_mean_nothing_are_ignored() -> None:
    rig = CoreRig.build()
    rig.clear()
    rig.pin("1234")  # a PIN without its card
    rig.pin("0" + CPR)  # this site allows no CPR at the pad
    assert not [e for e in rig.effects if isinstance(e, (fx.StartLookup, fx.Emit))]


def test_the_doors_lists_answer_reaches_the_decision_for_this_door() -> None:
    rig = CoreRig.build()
    rig.card()
    rig.pin()
    banned = replace(looked(), local=LocalAnswer(door="elsewhere", bans=(Ban("h", None),)))
    rig.feed(ci.LookupFinished(rig.lookup().ticket, banned))
    assert rig.last(E.ACCESS_DENIED).reason == str(Reason.BANNED)  # the door is set by the core
